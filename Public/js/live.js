// The live page: the chat socket (chat.js) tells it the viewer count and when the stream starts or ends; the
// player and the offline card swap in place, without a reload.
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
function showPlayer() {
  if (!stage || stage.querySelector('video')) return;
  clearInterval(waiting);
  // The playlist appears a second or two after the encoder connects: wait for it before starting the player.
  const start = Date.now();
  waiting = setInterval(async () => {
    if (Date.now() - start > 60000) { clearInterval(waiting); return; }
    const ok = await fetch(root.dataset.playlist, { method: 'HEAD', cache: 'no-store' }).then((r) => r.ok, () => false);
    if (!ok || stage.querySelector('video')) return;
    clearInterval(waiting);
    const video = Object.assign(document.createElement('video'), { id: 'live-player', controls: true, autoplay: true, muted: true, playsInline: true });
    video.src = root.dataset.playlist;
    stage.replaceChildren(video);
    followEdge(video);
  }, 1000);
}

function showOffline() {
  clearInterval(waiting);
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
if (player) followEdge(player);
