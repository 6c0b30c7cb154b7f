// The live page: the viewer count follows the server's event stream (this page is one of the viewers while it
// is open); when the channel goes live or offline the page reloads to show the player or the offline card.
const root = document.getElementById('live');
const count = document.getElementById('viewer-count');
if (root && count && 'EventSource' in window) {
  const wasLive = root.dataset.live === 'true';
  const events = new EventSource(`/live/${root.dataset.handle}/events`);
  events.onmessage = (e) => {
    const state = JSON.parse(e.data);
    count.textContent = String(state.viewers);
    root.dataset.viewers = String(state.viewers);
    if (state.live !== wasLive) setTimeout(() => location.reload(), wasLive ? 0 : 1500);
  };
}
const player = document.getElementById('live-player');
if (player) {
  // Stay near the live edge after a stall.
  player.addEventListener('waiting', () => {
    const end = player.seekable.length ? player.seekable.end(player.seekable.length - 1) : 0;
    if (end - player.currentTime > 6) player.currentTime = end - 3;
  });
}
