// Videotube's own player, an ES module without dependencies, on Media Source Extensions (ManagedMediaSource on
// Safari 17.1+):
// - live from the chunked fMP4 stream (`/live/{handle}/stream.mp4`) or from LL-HLS parts (`ll.m3u8`, for when a
//   CDN is in front), starting at the newest keyframe and holding a small distance from the live edge by nudging
//   playbackRate, jumping after a stall or when the tab comes back;
// - VOD HLS (fMP4 renditions) where the browser has no native HLS (Firefox), choosing renditions by measured
//   throughput.
// Where there is no MSE it says so (`null`), and the caller uses native HLS.

const MS = window.ManagedMediaSource || window.MediaSource;

export const mseSupported = () => Boolean(MS);

function attach(video) {
  const source = new MS();
  if (MS === window.ManagedMediaSource) video.disableRemotePlayback = true;
  video.src = URL.createObjectURL(source);
  return new Promise((resolve) => source.addEventListener('sourceopen', () => resolve(source), { once: true }));
}

/** Appends buffers one at a time (a SourceBuffer takes one append at a once); frees the back buffer when full. */
class Appender {
  constructor(buffer, video, keepBehind) {
    this.buffer = buffer;
    this.video = video;
    this.keepBehind = keepBehind;
    this.queue = [];
    this.waiters = [];
    buffer.addEventListener('updateend', () => this.next());
  }

  push(bytes) {
    this.queue.push(bytes);
    this.next();
  }

  /** Resolves once everything queued so far is in the buffer. */
  drained() {
    if (!this.queue.length && !this.buffer.updating) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  next() {
    if (this.buffer.updating) return;
    const ranges = this.buffer.buffered;
    const t = this.video.currentTime;
    if (ranges.length && t - ranges.start(0) > this.keepBehind + 10) {
      this.buffer.remove(0, t - this.keepBehind);
      return;
    }
    if (!this.queue.length) {
      for (const resolve of this.waiters.splice(0)) resolve();
      return;
    }
    const parts = this.queue.splice(0);
    let data = parts[0];
    if (parts.length > 1) {
      data = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let at = 0;
      for (const p of parts) { data.set(p, at); at += p.byteLength; }
    }
    try {
      this.buffer.appendBuffer(data);
    } catch (error) {
      if (error.name !== 'QuotaExceededError' || !ranges.length) throw error;
      this.queue.unshift(data);
      this.buffer.remove(0, Math.max(ranges.start(0) + 1, t - 2));
    }
  }
}

/**
 * Plays a live channel at low latency. `options`: `stream` (chunked fMP4 URL), `llhls` (LL-HLS playlist URL),
 * `mode` ('stream' or 'llhls'), `target` (seconds behind the newest frame to hold), `onStatus({behind})`.
 * Resolves to a controller `{ goLive(), stop(), done }` once playback has started; rejects when the stream cannot
 * be played this way (no MSE, not on this node, codecs unsupported): the caller falls back to native HLS.
 */
export async function playLive(video, options) {
  if (!MS) throw new Error('no Media Source Extensions');
  const target = options.target ?? 0.3;
  const abort = new AbortController();
  let stopped = false;
  const source = await attach(video);
  const feed = options.mode === 'llhls' ? llhlsFeed(options.llhls, abort.signal) : streamFeed(options.stream, abort.signal);
  const first = await feed.next();
  if (first.done) throw new Error('the stream ended before it began');
  const { type, init } = first.value;
  if (!MS.isTypeSupported(type)) throw new Error(`this browser cannot play ${type}`);
  const buffer = source.addSourceBuffer(type);
  buffer.mode = 'segments';
  const appender = new Appender(buffer, video, 10);
  appender.push(init);
  video.dataset.player = options.mode === 'llhls' ? 'mse-llhls' : 'mse';

  const edge = () => (buffer.buffered.length ? buffer.buffered.end(buffer.buffered.length - 1) : 0);
  const goLive = () => {
    const end = edge();
    if (end > 0) video.currentTime = Math.max(buffer.buffered.start(buffer.buffered.length - 1), end - target);
  };
  // Hold `target` behind the newest frame: a little faster when behind, a little slower when too close, a jump
  // when far behind (a stall, a tab in the background).
  const steer = setInterval(() => {
    if (stopped || !buffer.buffered.length) return;
    const behind = edge() - video.currentTime;
    if (video.currentTime < buffer.buffered.start(0) || behind > target + 2) goLive();
    else if (behind > target + 0.3) video.playbackRate = 1.1;
    else if (behind > target + 0.1) video.playbackRate = 1.04;
    else if (behind < target - 0.15) video.playbackRate = 0.95;
    else video.playbackRate = 1;
    options.onStatus?.({ behind: Math.max(0, behind) });
  }, 250);
  const onVisible = () => { if (document.visibilityState === 'visible') goLive(); };
  document.addEventListener('visibilitychange', onVisible);

  let started = false;
  const done = (async () => {
    try {
      for (;;) {
        const item = await feed.next();
        if (item.done || stopped) break;
        appender.push(item.value);
        if (!started && buffer.buffered.length) {
          started = true;
          goLive();
          video.play().catch(() => {});
        }
      }
      await appender.drained();
      if (source.readyState === 'open') source.endOfStream();
    } finally {
      clearInterval(steer);
      document.removeEventListener('visibilitychange', onVisible);
    }
  })();
  await appender.drained();
  return {
    goLive,
    done,
    stop() {
      stopped = true;
      abort.abort();
      clearInterval(steer);
    },
  };
}

/** The chunked stream: first `{type, init}`, then byte chunks as they arrive. */
async function* streamFeed(url, signal) {
  const response = await fetch(url, { cache: 'no-store', signal });
  if (!response.ok || !response.body) throw new Error(`stream: ${response.status}`);
  const type = response.headers.get('Content-Type') || 'video/mp4';
  const reader = response.body.getReader();
  // The init segment is all the first boxes up to the first moof; MSE takes the rest in any chunking.
  let pending = new Uint8Array(0);
  let initSent = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    if (initSent) { yield value; continue; }
    pending = concat(pending, value);
    const moof = findBox(pending, 'moof');
    if (moof < 0) continue;
    yield { type, init: pending.subarray(0, moof) };
    initSent = true;
    if (moof < pending.length) yield pending.subarray(moof);
  }
}

/** LL-HLS: the playlist once, the init, then part after part from the newest independent one; each part request is
 * held by the server until the part exists (the preload hint's promise), so nothing polls. */
async function* llhlsFeed(url, signal) {
  const base = new URL(url, location.href);
  const text = await (await fetch(base, { cache: 'no-store', signal })).text();
  const list = parsePlaylist(text, base);
  const start = [...list.parts].reverse().find((p) => p.independent);
  if (!list.map || !start) throw new Error('the LL-HLS playlist has no part to start from');
  const response = await fetch(list.map, { signal });
  if (!response.ok) throw new Error(`init: ${response.status}`);
  const init = new Uint8Array(await response.arrayBuffer());
  yield { type: `video/mp4; codecs="${response.headers.get('X-Codecs') || 'avc1.64001f,mp4a.40.2'}"`, init };
  let { msn, part } = start;
  const partURL = (m, p) => new URL(list.partTemplate.replace('{msn}', m).replace('{part}', p), base);
  for (;;) {
    const answer = await fetch(partURL(msn, part), { signal });
    if (answer.status === 404) {
      // No such part: the segment ended before it. The next segment's first part, unless the stream is gone.
      if (part === 0) return;
      msn += 1;
      part = 0;
      continue;
    }
    if (!answer.ok) throw new Error(`part ${msn}.${part}: ${answer.status}`);
    yield new Uint8Array(await answer.arrayBuffer());
    part += 1;
  }
}

/** The parts of an LL-HLS playlist, with their msn and index, the map and the part URI pattern. */
export function parsePlaylist(text, base) {
  const lines = text.split('\n').map((l) => l.trim());
  let msn = Number((lines.find((l) => l.startsWith('#EXT-X-MEDIA-SEQUENCE:')) || ':0').split(':')[1]);
  const skipped = Number((lines.find((l) => l.startsWith('#EXT-X-SKIP:')) || '=0').split('=')[1]);
  msn += skipped;
  const attr = (line, name) => (line.match(new RegExp(`${name}="?([^",]*)"?`)) || [])[1];
  const map = lines.find((l) => l.startsWith('#EXT-X-MAP:'));
  const parts = [];
  let part = 0;
  let partTemplate = null;
  for (const line of lines) {
    if (line.startsWith('#EXT-X-PART:')) {
      const uri = attr(line, 'URI');
      parts.push({ msn, part, uri: new URL(uri, base).href, independent: /INDEPENDENT=YES/.test(line), duration: Number(attr(line, 'DURATION')) });
      partTemplate = uri.replace(/-\d+\.\d+\.m4s$/, '-{msn}.{part}.m4s');
      part += 1;
    } else if (line && !line.startsWith('#')) {
      msn += 1;
      part = 0;
    }
  }
  return { map: map ? new URL(attr(map, 'URI'), base).href : null, parts, partTemplate };
}

/**
 * VOD HLS through MSE for browsers without native HLS: the master playlist's renditions (fMP4, keyframes aligned),
 * segment after segment, the next rendition chosen by the throughput the last downloads measured (the highest whose
 * BANDWIDTH is under 80% of it). Seeking loads from the segment that holds the new position.
 */
export async function playVOD(video, masterURL, onRendition) {
  if (!MS) throw new Error('no Media Source Extensions');
  const base = new URL(masterURL, location.href);
  const master = await (await fetch(base)).text();
  const variants = [];
  const lines = master.split('\n').map((l) => l.trim());
  lines.forEach((line, i) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return;
    const bandwidth = Number((line.match(/BANDWIDTH=(\d+)/) || [])[1] || 0);
    const codecs = (line.match(/CODECS="([^"]+)"/) || [])[1] || 'avc1.64001f,mp4a.40.2';
    const name = (line.match(/NAME="([^"]+)"/) || [])[1] || '';
    variants.push({ bandwidth, codecs, name, url: new URL(lines[i + 1], base).href });
  });
  if (!variants.length) throw new Error('no renditions');
  variants.sort((a, b) => a.bandwidth - b.bandwidth);
  const type = `video/mp4; codecs="${variants[0].codecs}"`;
  if (!MS.isTypeSupported(type)) throw new Error(`this browser cannot play ${type}`);
  const playlists = new Map();
  const load = async (variant) => {
    if (!playlists.has(variant.url)) {
      const text = await (await fetch(variant.url)).text();
      const rows = text.split('\n').map((l) => l.trim());
      const map = rows.find((l) => l.startsWith('#EXT-X-MAP:'));
      const segments = [];
      let start = 0;
      rows.forEach((row, i) => {
        if (!row.startsWith('#EXTINF:')) return;
        const duration = parseFloat(row.slice(8));
        segments.push({ start, duration, url: new URL(rows[i + 1], variant.url).href });
        start += duration;
      });
      const mapURI = map && (map.match(/URI="([^"]+)"/) || [])[1];
      playlists.set(variant.url, { init: mapURI ? new URL(mapURI, variant.url).href : null, segments, duration: start });
    }
    return playlists.get(variant.url);
  };
  const source = await attach(video);
  const buffer = source.addSourceBuffer(type);
  const appender = new Appender(buffer, video, 30);
  let throughput = 0; // bits per second, smoothed
  let current = variants[Math.min(1, variants.length - 1)];
  let playlist = await load(current);
  source.duration = playlist.duration;
  let index = 0;
  let initOf = null;
  let generation = 0;
  video.dataset.player = 'mse';
  video.addEventListener('seeking', () => {
    const t = video.currentTime;
    index = Math.max(0, playlist.segments.findIndex((s) => t < s.start + s.duration));
    generation += 1;
  });
  (async () => {
    for (;;) {
      const buffered = buffer.buffered.length ? buffer.buffered.end(buffer.buffered.length - 1) : 0;
      if (index >= playlist.segments.length || buffered - video.currentTime > 30) {
        if (index >= playlist.segments.length && source.readyState === 'open' && !buffer.updating) {
          await appender.drained();
          if (index >= playlist.segments.length && source.readyState === 'open') source.endOfStream();
        }
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const affordable = variants.filter((v) => !throughput || v.bandwidth < throughput * 0.8);
      const wanted = affordable.length ? affordable[affordable.length - 1] : variants[0];
      if (wanted !== current) { current = wanted; playlist = await load(current); }
      if (initOf !== current) {
        appender.push(new Uint8Array(await (await fetch(playlist.init)).arrayBuffer()));
        initOf = current;
        onRendition?.(current.name);
      }
      const at = generation;
      const segment = playlist.segments[index];
      const began = performance.now();
      const bytes = new Uint8Array(await (await fetch(segment.url)).arrayBuffer());
      const seconds = Math.max(0.001, (performance.now() - began) / 1000);
      const measured = (bytes.byteLength * 8) / seconds;
      throughput = throughput ? 0.7 * throughput + 0.3 * measured : measured;
      if (at !== generation) continue; // a seek moved us; that segment is not wanted
      appender.push(bytes);
      index += 1;
    }
  })();
  return { variants };
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The offset of the first top-level box of `type`, or -1 (only complete headers are read). */
function findBox(bytes, type) {
  let at = 0;
  while (at + 8 <= bytes.length) {
    const size = ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
    const name = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    if (name === type) return at;
    if (size < 8) return -1;
    at += size;
  }
  return -1;
}
