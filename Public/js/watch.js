// The watch page's player: HLS (adaptive) when the browser plays it natively, the MP4 otherwise; a quality
// menu; storyboard frames over the player's own timeline; a clear message when nothing plays;
// and a view reported once playback really starts (one per viewer and hour; range requests never count).
import { loadStoryboard, cueAt, paint } from './storyboard.js';
import { mseSupported, playVOD } from './liveplayer.js';

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

if (video) {
  const quality = document.getElementById('quality');
  const hls = video.dataset.hls;
  const forced = new URLSearchParams(location.search).get('player');
  const canHLS = hls && forced !== 'mse' && video.canPlayType('application/vnd.apple.mpegurl') !== '';
  document.body.dataset.playback = canHLS ? 'hls' : 'mp4';
  if (hls && !canHLS && quality) quality.closest('label').hidden = true;
  // No native HLS (Firefox): the ladder through our MSE player, renditions chosen by measured throughput; the MP4
  // stays the fallback.
  if (hls && !canHLS && mseSupported()) {
    const mp4 = video.currentSrc || video.dataset.mp4;
    video.querySelectorAll('source').forEach((s) => s.remove());
    playVOD(video, hls, (name) => { document.body.dataset.rendition = name; })
      .then(() => { document.body.dataset.playback = 'mse'; video.play().catch(() => {}); })
      .catch(() => { video.src = mp4; });
  }
  // Switching keeps the position and the paused state.
  quality?.addEventListener('change', () => {
    const at = video.currentTime;
    const paused = video.paused;
    const value = quality.value;
    video.src = value === 'auto' ? hls : value === 'mp4' ? video.dataset.mp4 : value;
    video.addEventListener('loadedmetadata', () => {
      video.currentTime = at;
      if (!paused) video.play().catch(() => {});
    }, { once: true });
  });

  // One timeline, the player's own: resting the pointer on it (the bottom band of the video, where the controls
  // are) shows the storyboard frame for that moment above it.
  const preview = document.getElementById('scrub-preview');
  const board = video.dataset.storyboard;
  if (preview && board) {
    const frame = preview.querySelector('.scrub-frame');
    const label = preview.querySelector('.scrub-time');
    const band = 48;   // px: the height of the native controls
    const inset = 16;  // px: where the native timeline starts and ends
    video.addEventListener('pointermove', async (e) => {
      const box = video.getBoundingClientRect();
      if (e.clientY < box.bottom - band || !video.duration) { preview.hidden = true; return; }
      const share = Math.max(0, Math.min(1, (e.clientX - box.left - inset) / Math.max(1, box.width - 2 * inset)));
      const t = share * video.duration;
      const cues = await loadStoryboard(board);
      paint(frame, cueAt(cues, t));
      preview.hidden = false;
      preview.style.left = `${Math.max(0, Math.min(box.width - 164, e.clientX - box.left - 82))}px`;
      label.textContent = `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, '0')}`;
    });
    video.addEventListener('pointerleave', () => { preview.hidden = true; });
  }
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
