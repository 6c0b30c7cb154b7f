// Small progressive enhancements; every page works without this file.
import { loadStoryboard, paint } from './storyboard.js';

// Phones: the navbar's links fold into a menu behind a button.
document.documentElement.classList.add('js');
const navToggle = document.querySelector('.nav-toggle');
const navItems = document.getElementById('nav-items');
if (navToggle && navItems) {
  navToggle.hidden = false;
  navToggle.addEventListener('click', () => {
    const open = navItems.classList.toggle('open');
    navToggle.setAttribute('aria-expanded', String(open));
  });
}

// Video boxes: the red bar runs along the thumbnail while the pointer rests on it (CSS animates it);
// keyboard users get the same when the thumbnail link has focus.
for (const box of document.querySelectorAll('.videobox')) {
  const thumb = box.querySelector('.thumb');
  if (!thumb) continue;
  thumb.addEventListener('focus', () => box.classList.add('hover'));
  thumb.addEventListener('blur', () => box.classList.remove('hover'));
}

// Video boxes with a storyboard: resting the pointer on the thumbnail flips through the video's frames.
for (const box of document.querySelectorAll('.videobox[data-storyboard]')) {
  const thumb = box.querySelector('.thumb');
  if (!thumb) continue;
  let timer = null;
  const layer = document.createElement('div');
  layer.className = 'storyboard-frame';
  layer.hidden = true;
  thumb.appendChild(layer);
  thumb.addEventListener('mouseenter', async () => {
    const cues = await loadStoryboard(box.dataset.storyboard);
    if (!cues.length) return;
    let i = 0;
    const step = () => {
      const cue = cues[i++ % cues.length];
      paint(layer, cue);
      const scale = thumb.clientWidth / cue.w;
      layer.style.transform = `scale(${scale})`;
      layer.hidden = false;
    };
    step();
    clearInterval(timer);
    timer = setInterval(step, 400);
  });
  thumb.addEventListener('mouseleave', () => {
    clearInterval(timer);
    layer.hidden = true;
  });
}

// Copy and reveal buttons (the studio's stream key).
for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', async () => {
    const input = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      input.type = 'text';
      input.select();
      document.execCommand('copy');
    }
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
}
for (const button of document.querySelectorAll('[data-reveal]')) {
  button.addEventListener('click', () => {
    const input = document.getElementById(button.dataset.reveal);
    input.type = input.type === 'password' ? 'text' : 'password';
    button.textContent = input.type === 'password' ? 'Show' : 'Hide';
  });
}

// Live previews appear a few seconds into a stream; until then the card shows no broken image. (A listener
// here, not an inline onerror: the Content-Security-Policy allows no inline script.)
for (const img of document.querySelectorAll('img.live-preview')) {
  const hide = () => { img.hidden = true; };
  if (img.complete && img.naturalWidth === 0) hide();
  else img.addEventListener('error', hide);
}

// Subscribe and unsubscribe in place (the video keeps playing): the API with the page's CSRF token, the count
// updated, and a question before unsubscribing. Without this file the forms post and come back to the channel.
/** 999, 1.2K, 3.4M: counts as the server writes them. */
function compactCount(n) {
  return n < 1000 ? String(n) : new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}
function subscribersText(n) {
  return `${compactCount(n)} subscriber${n === 1 ? '' : 's'}`;
}
for (const form of document.querySelectorAll('form.subscribe-form')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const subscribed = form.dataset.subscribed === 'true';
    if (subscribed && !confirm(`Unsubscribe from ${form.dataset.channelName}?`)) return;
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const csrf = document.querySelector('meta[name=csrf-token]')?.content || '';
      const response = await fetch(`/api/v1/channels/${form.dataset.channelId}/subscription`, {
        method: subscribed ? 'DELETE' : 'PUT', headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' }, credentials: 'same-origin',
      });
      if (!response.ok) { form.submit(); return; }
      const state = await response.json();
      form.dataset.subscribed = String(state.subscribed);
      form.action = state.subscribed ? form.dataset.unsubscribeAction : form.dataset.subscribeAction;
      button.textContent = state.subscribed ? 'Subscribed ✓' : 'Subscribe';
      button.classList.toggle('subscribe', !state.subscribed);
      for (const el of document.querySelectorAll(`[data-subscribers-for="${form.dataset.channelId}"]`)) {
        el.textContent = subscribersText(state.subscribers_count);
      }
    } finally {
      button.disabled = false;
    }
  });
}

// Like and dislike in place: pressing the pressed one takes the rating back.
for (const box of document.querySelectorAll('.rating[data-api]')) {
  for (const button of box.querySelectorAll('button[data-rate]')) {
    button.addEventListener('click', async () => {
      const wanted = button.getAttribute('aria-pressed') === 'true' ? 'none' : button.dataset.rate;
      const csrf = document.querySelector('meta[name=csrf-token]')?.content || '';
      for (const b of box.querySelectorAll('button')) b.disabled = true;
      try {
        const response = await fetch(box.dataset.api, {
          method: 'PUT', credentials: 'same-origin', body: JSON.stringify({ rating: wanted }),
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Accept: 'application/json' },
        });
        if (!response.ok) return;
        const state = await response.json();
        box.dataset.mine = state.my_rating;
        for (const b of box.querySelectorAll('button[data-rate]')) {
          b.setAttribute('aria-pressed', String(b.dataset.rate === state.my_rating));
          const count = b.dataset.rate === 'like' ? state.likes : state.dislikes;
          const label = b.querySelector('.rate-count');
          label.dataset.count = String(count);
          label.textContent = compactCount(count);
        }
      } finally {
        for (const b of box.querySelectorAll('button')) b.disabled = false;
      }
    });
  }
}
