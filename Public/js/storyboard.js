// Hover storyboards: a WebVTT index whose cues point at tiles of one sprite (`storyboard.jpg#xywh=x,y,w,h`).
const cache = new Map();

function seconds(stamp) {
  const parts = stamp.trim().split(':').map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/** The cues of a storyboard VTT: [{ start, end, url, x, y, w, h }], loaded once per URL. */
export function loadStoryboard(url) {
  if (!cache.has(url)) {
    cache.set(url, fetch(url, { credentials: 'same-origin' }).then(async (response) => {
      if (!response.ok) return [];
      const base = new URL(url, location.href);
      const cues = [];
      for (const block of (await response.text()).split(/\r?\n\r?\n/)) {
        const lines = block.trim().split(/\r?\n/);
        const timing = lines.findIndex((l) => l.includes('-->'));
        if (timing < 0 || !lines[timing + 1]) continue;
        const [from, to] = lines[timing].split('-->');
        const [file, hash] = lines[timing + 1].split('#xywh=');
        if (!hash) continue;
        const [x, y, w, h] = hash.split(',').map(Number);
        cues.push({ start: seconds(from), end: seconds(to), url: new URL(file, base).href, x, y, w, h });
      }
      return cues;
    }).catch(() => []));
  }
  return cache.get(url);
}

/** The cue showing time `t`. */
export function cueAt(cues, t) {
  return cues.find((c) => t >= c.start && t < c.end) ?? cues[cues.length - 1];
}

/** Shows a cue's tile as the background of `element` (sized to the tile). */
export function paint(element, cue) {
  if (!cue) return;
  element.style.backgroundImage = `url("${cue.url}")`;
  element.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
  element.style.width = `${cue.w}px`;
  element.style.height = `${cue.h}px`;
}
