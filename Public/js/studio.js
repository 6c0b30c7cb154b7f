// Studio lists and the video edit page: videos still processing show their stage and percentage, polled
// from /api/v1/videos/{id}/processing every two seconds until they are ready (then the page reloads).
const cells = [...document.querySelectorAll('[data-processing]')];

async function poll(cell) {
  const id = cell.dataset.processing;
  const text = cell.querySelector('.status-text');
  const bar = cell.querySelector('progress');
  for (;;) {
    try {
      const response = await fetch(`/api/v1/videos/${id}/processing`, { credentials: 'same-origin', cache: 'no-store' });
      if (response.ok) {
        const p = await response.json();
        if (bar) bar.value = p.progress;
        if (text) {
          text.textContent = p.state === 'failed' ? `failed: ${p.error ?? ''}` : `${p.stage} · ${Math.floor(p.progress)}%`;
        }
        if (p.status !== 'processing') {
          location.reload();
          return;
        }
      }
    } catch { /* keep polling */ }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

cells.forEach(poll);
