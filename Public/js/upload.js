// The studio's upload page: a small tus 1.0 client (https://tus.io/protocols/resumable-upload).
// The file goes up in 32 MB PATCH requests with a live bar, speed and time left. A dropped connection is
// retried with backoff from the offset the server reports (HEAD), and the upload URL is remembered per file,
// so picking the same file after a reload resumes instead of starting over.
const CHUNK = 32 * 1024 * 1024;
const root = document.getElementById('upload');
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
const $ = (id) => document.getElementById(id);

const ui = {
  input: $('upload-file'), zone: $('dropzone'), channel: $('upload-channel'), title: $('upload-title'),
  description: $('upload-description'), panel: $('upload-progress'), name: $('upload-name'), bar: $('upload-bar'),
  percent: $('upload-percent'), speed: $('upload-speed'), eta: $('upload-eta'), state: $('upload-state'),
  cancel: $('upload-cancel'), done: $('upload-done'), watch: $('upload-watch'), edit: $('upload-edit'),
  processingBar: $('processing-bar'), processingText: $('processing-text'),
  thumbnail: $('upload-thumbnail'), thumbState: $('upload-thumb-state'),
};

/** The visibility chosen on the form (public unless changed). */
const visibility = () => document.querySelector('#upload-form input[name=visibility]:checked')?.value ?? 'public';

let current = null;  // { file, url, offset, xhr, cancelled, samples }

function b64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function storageKey(file, channel) {
  return `vt-upload:${channel}:${file.name}:${file.size}:${file.lastModified}`;
}

function formatBytes(n) {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n, u = -1;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

function formatDuration(s) {
  if (!isFinite(s)) return '–';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s left`;
  const m = Math.floor(s / 60), r = s % 60;
  if (m < 60) return `${m} min ${r} s left`;
  return `${Math.floor(m / 60)} h ${m % 60} min left`;
}

function headers(extra = {}) {
  return { 'Tus-Resumable': '1.0.0', 'X-CSRF-Token': csrf, 'Accept': 'application/json', ...extra };
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body?.error?.message ?? `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function show(loaded, total) {
  const pct = total ? Math.floor((loaded / total) * 1000) / 10 : 0;
  ui.bar.value = pct;
  ui.percent.textContent = `${pct}%`;
  root.dataset.percent = String(pct);
  const now = performance.now();
  const samples = current.samples;
  samples.push([now, loaded]);
  while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
  const [t0, b0] = samples[0];
  if (now - t0 > 300) {
    const rate = ((loaded - b0) / (now - t0)) * 1000;
    ui.speed.textContent = `${formatBytes(rate)}/s`;
    ui.eta.textContent = rate > 0 ? formatDuration((total - loaded) / rate) : '–';
  }
}

async function create(file) {
  const meta = [
    ['filename', file.name], ['channel', ui.channel.value], ['title', ui.title.value], ['description', ui.description.value],
    ['visibility', visibility()],
  ].map(([k, v]) => `${k} ${b64(v)}`).join(',');
  const response = await fetch('/api/v1/uploads', {
    method: 'POST', credentials: 'same-origin',
    headers: headers({ 'Upload-Length': String(file.size), 'Upload-Metadata': meta }),
  });
  if (response.status !== 201) throw new Error(await errorText(response));
  return response.headers.get('Location');
}

/** The server's offset, or null when the upload is gone (expired, cancelled elsewhere). */
async function serverOffset(url) {
  const response = await fetch(url, { method: 'HEAD', credentials: 'same-origin', headers: headers(), cache: 'no-store' });
  if (!response.ok) return null;
  return { offset: Number(response.headers.get('Upload-Offset')), video: response.headers.get('Videotube-Video-Id') };
}

/** One PATCH of a slice; resolves with the new offset and the video id once the last byte is in. */
function patch(url, file, offset) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    current.xhr = xhr;
    xhr.open('PATCH', url);
    xhr.withCredentials = true;
    for (const [k, v] of Object.entries(headers({ 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' }))) {
      xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => show(offset + e.loaded, file.size);
    xhr.onload = () => {
      if (xhr.status === 204) {
        resolve({ offset: Number(xhr.getResponseHeader('Upload-Offset')), video: xhr.getResponseHeader('Videotube-Video-Id') });
      } else {
        let message = `${xhr.status} ${xhr.statusText}`;
        try { message = JSON.parse(xhr.responseText).error.message; } catch { /* keep the status line */ }
        const error = new Error(message);
        error.status = xhr.status;
        reject(error);
      }
    };
    xhr.onerror = () => reject(Object.assign(new Error('The connection dropped.'), { network: true }));
    xhr.onabort = () => reject(Object.assign(new Error('Cancelled.'), { cancelled: true }));
    xhr.send(file.slice(offset, Math.min(file.size, offset + CHUNK)));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function start(file) {
  if (current && !current.finished) return;
  const max = Number(root.dataset.maxBytes);
  ui.panel.hidden = false;
  ui.panel.dataset.state = 'uploading';
  ui.cancel.hidden = false;
  ui.done.hidden = true;
  ui.name.textContent = `${file.name} (${formatBytes(file.size)})`;
  current = { file, url: null, offset: 0, xhr: null, cancelled: false, samples: [], finished: false, startedAt: performance.now(), startOffset: 0 };
  if (file.size > max) {
    ui.state.textContent = `This file is ${formatBytes(file.size)}; uploads can be at most ${formatBytes(max)}.`;
    current.finished = true;
    return;
  }
  const key = storageKey(file, ui.channel.value);
  try {
    const saved = localStorage.getItem(key);
    if (saved) {
      const state = await serverOffset(saved);
      if (state && !state.video) {
        current.url = saved;
        current.offset = state.offset;
        ui.state.textContent = `Resuming at ${Math.floor((state.offset / file.size) * 100)}%.`;
      }
    }
    if (!current.url) {
      ui.state.textContent = 'Starting…';
      current.url = await create(file);
      localStorage.setItem(key, current.url);
    }
    current.startOffset = current.offset;
    current.startedAt = performance.now();
    show(current.offset, file.size);
    if (current.offset === 0) ui.state.textContent = 'Uploading…';  // a resume keeps saying where it resumed
    let video = null;
    let failures = 0;
    while (!video && !current.cancelled) {
      try {
        const result = await patch(current.url, file, current.offset);
        current.offset = result.offset;
        video = result.video;
        failures = 0;
        ui.state.textContent = video ? 'Upload complete.' : 'Uploading…';
      } catch (error) {
        if (error.cancelled || current.cancelled) break;
        if (!error.network && error.status !== 409 && error.status !== 423 && !(error.status >= 500)) throw error;
        failures++;
        const wait = Math.min(30, 2 ** Math.min(failures, 5));
        ui.state.textContent = `${error.message} Retrying in ${wait} s…`;
        await sleep(wait * 1000);
        const state = await serverOffset(current.url).catch(() => undefined);
        if (state === null) throw new Error('The upload expired on the server; pick the file again to start over.');
        if (state) {
          current.offset = state.offset;
          video = state.video;
        }
      }
    }
    if (current.cancelled) return;
    localStorage.removeItem(key);
    current.finished = true;
    show(file.size, file.size);
    // The average over the whole upload (a fast one may finish before the moving figure settles).
    const elapsed = (performance.now() - current.startedAt) / 1000;
    ui.speed.textContent = `${formatBytes((file.size - current.startOffset) / Math.max(elapsed, 0.001))}/s average`;
    ui.eta.textContent = `done in ${elapsed < 10 ? elapsed.toFixed(1) : Math.round(elapsed)} s`;
    ui.cancel.hidden = true;
    await finish(Number(video));
  } catch (error) {
    current.finished = true;
    localStorage.removeItem(key);
    // A refusal looks like one: red, in plain words, with what to do; nothing left to cancel.
    const message = error.message.charAt(0).toUpperCase() + error.message.slice(1);
    ui.state.textContent = `Not uploaded: ${message}`;
    ui.panel.dataset.state = 'error';
    ui.cancel.hidden = true;
    root.dataset.error = error.message;
  }
}

/** Sends the custom thumbnail chosen on the form, if any, and says how it went. */
async function sendThumbnail(id) {
  const picture = ui.thumbnail?.files?.[0];
  if (!picture) return;
  ui.thumbState.hidden = false;
  ui.thumbState.dataset.state = 'busy';
  ui.thumbState.textContent = 'Saving the thumbnail…';
  try {
    const response = await fetch(`/api/v1/videos/${id}/thumbnail`, {
      method: 'PUT', credentials: 'same-origin', body: picture,
      headers: { 'Content-Type': picture.type || 'application/octet-stream', 'X-CSRF-Token': csrf, 'Accept': 'application/json' },
    });
    if (!response.ok) throw new Error(await errorText(response));
    ui.thumbState.dataset.state = 'done';
    ui.thumbState.textContent = 'Thumbnail saved.';
  } catch (error) {
    ui.thumbState.dataset.state = 'error';
    ui.thumbState.textContent = `${error.message} The video is uploaded; choose another picture on its studio page.`;
  }
}

/** Saves title, description and visibility chosen during the upload, and the thumbnail, then follows processing. */
async function finish(id) {
  root.dataset.videoId = String(id);
  ui.done.hidden = false;
  ui.watch.href = `/watch?v=${id}`;
  ui.edit.href = `/studio/videos/${id}`;
  const changes = {};
  if (ui.title.value.trim()) changes.title = ui.title.value.trim();
  changes.description = ui.description.value;
  changes.visibility = visibility();
  await fetch(`/api/v1/videos/${id}`, {
    method: 'PATCH', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, 'Accept': 'application/json' },
    body: JSON.stringify(changes),
  }).catch(() => {});
  await sendThumbnail(id);
  for (;;) {
    try {
      const response = await fetch(`/api/v1/videos/${id}/processing`, { credentials: 'same-origin', cache: 'no-store' });
      if (response.ok) {
        const p = await response.json();
        ui.processingBar.value = p.progress;
        ui.processingText.textContent = p.state === 'failed'
          ? `Failed: ${p.error ?? 'unknown error'}`
          : `${p.stage} · ${Math.floor(p.progress)}%${p.renditions.length ? ` · playable in ${p.renditions.join(', ')}` : ''}`;
        root.dataset.status = p.status;
        if (p.status === 'ready' || p.status === 'failed') return;
      }
    } catch { /* try again */ }
    await sleep(1000);
  }
}

ui.cancel.addEventListener('click', async () => {
  if (!current || current.finished) return;
  current.cancelled = true;
  current.xhr?.abort();
  if (current.url) {
    await fetch(current.url, { method: 'DELETE', credentials: 'same-origin', headers: headers() }).catch(() => {});
    localStorage.removeItem(storageKey(current.file, ui.channel.value));
  }
  ui.state.textContent = 'Upload cancelled.';
  current.finished = true;
});

ui.input.addEventListener('change', () => { if (ui.input.files[0]) start(ui.input.files[0]); });
for (const type of ['dragenter', 'dragover']) {
  ui.zone.addEventListener(type, (e) => { e.preventDefault(); ui.zone.classList.add('over'); });
}
for (const type of ['dragleave', 'drop']) {
  ui.zone.addEventListener(type, () => ui.zone.classList.remove('over'));
}
ui.zone.addEventListener('drop', (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files?.[0];
  if (file) start(file);
});
window.addEventListener('beforeunload', (e) => {
  if (current && !current.finished) e.preventDefault();
});
