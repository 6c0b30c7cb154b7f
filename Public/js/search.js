// The navbar's search box: suggestions as you type (channels, live channels and videos), chosen with the mouse or
// the arrow keys and Enter; Enter without a choice, or the form, goes to the results page.
const input = document.getElementById('nav-search-input');
const list = document.getElementById('nav-search-list');
let active = -1;
let timer = null;
let asked = '';
let controller = null;

const labels = { video: 'Video', channel: 'Channel', live: 'Live' };

function close() {
  list.hidden = true;
  list.replaceChildren();
  input.setAttribute('aria-expanded', 'false');
  input.removeAttribute('aria-activedescendant');
  active = -1;
}

function mark(index) {
  const items = [...list.children];
  if (!items.length) return;
  active = (index + items.length) % items.length;
  items.forEach((item, i) => item.setAttribute('aria-selected', String(i === active)));
  input.setAttribute('aria-activedescendant', items[active].id);
}

function show(suggestions) {
  list.replaceChildren();
  active = -1;
  suggestions.forEach((s, i) => {
    const item = document.createElement('li');
    item.id = `nav-search-option-${i}`;
    item.setAttribute('role', 'option');
    item.setAttribute('aria-selected', 'false');
    item.dataset.url = s.url;
    const link = Object.assign(document.createElement('a'), { href: s.url, tabIndex: -1 });
    link.append(Object.assign(document.createElement('span'), { className: `suggest-kind ${s.type}`, textContent: labels[s.type] ?? s.type }),
      document.createTextNode(' '), Object.assign(document.createElement('span'), { textContent: s.text }));
    item.append(link);
    list.append(item);
  });
  list.hidden = suggestions.length === 0;
  input.setAttribute('aria-expanded', String(suggestions.length > 0));
}

async function suggest() {
  const q = input.value.trim();
  if (q === asked) return;
  asked = q;
  controller?.abort();
  if (!q) { close(); return; }
  controller = new AbortController();
  try {
    const response = await fetch(`/api/v1/search/suggest?q=${encodeURIComponent(q)}`, { signal: controller.signal });
    if (!response.ok) return;
    const body = await response.json();
    if (body.query === input.value.trim().slice(0, 200)) show(body.suggestions);
  } catch { /* a newer request took over, or the network is down: the form still works */ }
}

if (input && list) {
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, 120);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && !list.hidden) { e.preventDefault(); mark(active + 1); }
    else if (e.key === 'ArrowUp' && !list.hidden) { e.preventDefault(); mark(active - 1); }
    else if (e.key === 'Escape') close();
    else if (e.key === 'Enter' && active >= 0 && !list.hidden) {
      e.preventDefault();
      location.href = list.children[active].dataset.url;
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('focus', () => { asked = ''; if (input.value.trim()) suggest(); });
}
