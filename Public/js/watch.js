// The watch page's player: show a clear message when the browser cannot play the file, and report a view
// once playback really starts (the server counts one per viewer and hour; range requests never count).
const video = document.getElementById('player');
const message = document.getElementById('player-error');
if (video && message) {
  const source = video.querySelector('source');
  const fail = () => { message.hidden = false; };
  video.addEventListener('error', fail);
  if (source) source.addEventListener('error', fail);
}
if (video) {
  const id = video.dataset.videoId;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
  video.addEventListener('playing', async () => {
    try {
      const response = await fetch(`/api/v1/videos/${id}/views`, {
        method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' },
      });
      if (!response.ok) return;
      const body = await response.json();
      const text = document.getElementById('views-text');
      if (text && typeof body.views === 'number') {
        text.textContent = `${formatCount(body.views)} ${body.views === 1 ? 'view' : 'views'}`;
      }
      document.body.dataset.viewCounted = String(body.counted);
    } catch {
      // Counting a view is best effort; playback goes on.
    }
  }, { once: true });
}

/** 999, 1.2K, 3.4M: as the server formats counts. */
function formatCount(n) {
  const scaled = (div, suffix) => {
    const v = n / div;
    return (v < 10 ? Math.floor(v * 10) / 10 : Math.floor(v)).toString() + suffix;
  };
  if (n < 1000) return String(n);
  if (n < 1e6) return scaled(1e3, 'K');
  if (n < 1e9) return scaled(1e6, 'M');
  return scaled(1e9, 'B');
}
