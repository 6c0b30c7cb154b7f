// The live page: the chat socket (chat.js) tells it the viewer count and when the stream starts or ends; the
// player and the offline card swap in place, without a reload. The player is our own low-latency one
// (liveplayer.js: the chunked fMP4 stream, or LL-HLS parts with ?player=llhls) where the browser has Media Source
// Extensions and this server has the stream; otherwise the browser's own HLS player on index.m3u8.
import { playLive, mseSupported } from './liveplayer.js';

const root = document.getElementById('live');
const stage = document.getElementById('live-stage');
const count = document.getElementById('viewer-count');
const facts = document.getElementById('viewer-facts');
const badge = document.getElementById('live-badge');

document.addEventListener('chat:viewers', (e) => {
  if (count) count.textContent = String(e.detail);
  if (root) root.dataset.viewers = String(e.detail);
});

let waiting = null;
let controller = null;
const latency = document.getElementById('live-latency');
const behindText = document.getElementById('live-behind');
document.getElementById('go-live')?.addEventListener('click', () => controller?.goLive());

function newVideo() {
  const video = Object.assign(document.createElement('video'), { id: 'live-player', controls: true, autoplay: true, muted: true, playsInline: true });
  stage.replaceChildren(video);
  return video;
}

function playNative(video) {
  controller = null;
  if (latency) latency.hidden = true;
  video.dataset.player = 'native';
  video.src = root.dataset.playlist;
  followEdge(video);
  video.play().catch(() => {});
}

/** Starts the low-latency player, retrying while the stream is starting (no keyframe yet); falls back to native HLS
 * when this browser cannot, or when the stream is on another node (index.m3u8 plays, stream.mp4 never answers). */
async function startPlayer(video) {
  const mode = new URLSearchParams(location.search).get('player') || root.dataset.player || 'stream';
  if (mode === 'native' || !mseSupported()) return playNative(video);
  const began = Date.now();
  let playlistSince = 0;
  while (root?.dataset.live === 'true' && video.isConnected && Date.now() - began < 60000) {
    try {
      const ctl = await playLive(video, {
        stream: root.dataset.stream, llhls: root.dataset.llhls, mode,
        onStatus: ({ behind }) => { if (behindText) behindText.textContent = `${behind.toFixed(1)} s behind live`; },
      });
      controller = ctl;
      if (latency) latency.hidden = false;
      ctl.done.finally(() => {
        // The publisher reconnected (a new stream) or left: start again while the channel is live.
        if (controller === ctl && root?.dataset.live === 'true') setTimeout(() => startPlayer(newVideo()), 500);
      });
      return;
    } catch (error) {
      if (/Media Source|cannot play/.test(String(error))) return playNative(video);
      const ok = await fetch(root.dataset.playlist, { method: 'HEAD', cache: 'no-store' }).then((r) => r.ok, () => false);
      if (ok && !playlistSince) playlistSince = Date.now();
      if (ok && Date.now() - playlistSince > 3000) return playNative(video);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

function showPlayer() {
  if (!stage || stage.querySelector('video')) return;
  clearInterval(waiting);
  startPlayer(newVideo());
}

function showOffline() {
  clearInterval(waiting);
  controller?.stop();
  controller = null;
  if (latency) latency.hidden = true;
  if (!stage || !stage.querySelector('video')) return;
  const card = document.createElement('div');
  card.className = 'offline';
  const p = document.createElement('p');
  p.append(Object.assign(document.createElement('strong'), { textContent: 'The stream has ended.' }));
  card.append(p, Object.assign(document.createElement('p'), { className: 'muted', textContent: 'Its replay appears on the channel once it is processed.' }));
  stage.replaceChildren(card);
}

document.addEventListener('chat:live', (e) => {
  const live = Boolean(e.detail);
  if (root) root.dataset.live = String(live);
  if (badge) badge.hidden = !live;
  const offline = document.getElementById('offline-badge');
  if (offline) offline.hidden = live;
  if (facts) facts.hidden = !live;
  if (live) showPlayer(); else showOffline();
});

// Stay near the live edge after a stall, and start again after an error: right after the encoder connects the
// playlist may hold too little for the browser's player, which then gives up ("could not parse") instead of retrying.
function followEdge(player) {
  player.addEventListener('waiting', () => {
    const end = player.seekable.length ? player.seekable.end(player.seekable.length - 1) : 0;
    if (end - player.currentTime > 6) player.currentTime = end - 3;
  });
  let retries = 0;
  player.addEventListener('error', () => {
    if (retries >= 20 || root?.dataset.live !== 'true') return;
    retries += 1;
    setTimeout(() => {
      if (!player.isConnected || root?.dataset.live !== 'true') return;
      player.src = root.dataset.playlist;
      player.play().catch(() => {});
    }, Math.min(1000 * retries, 5000));
  });
  player.addEventListener('playing', () => { retries = 0; });
}
const player = document.getElementById('live-player');
if (player) startPlayer(player);
