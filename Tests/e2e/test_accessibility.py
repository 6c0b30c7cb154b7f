"""What an accessibility checker would check, computed in Chromium from the rendered pages (axe-core needs npm, which
this machine cannot reach): every picture and icon link has an accessible name, every field a label, text and links
a contrast of at least 4.5:1 (3:1 for large text) against what is behind them, in the light and the dark theme, and
form errors are tied to their fields."""
import subprocess

from playwright.sync_api import sync_playwright

from conftest import BIN, ROOT
from test_accounts import PASSWORD
from test_layout import PAGES, each_page

# Runs in the page; returns a list of problems, each a short sentence naming the element.
CHECK = r"""
() => {
  const problems = [];
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.classList.length) s += '.' + [...el.classList].join('.');
    const text = (el.innerText || el.getAttribute('alt') || el.getAttribute('value') || '').trim().slice(0, 30);
    return text ? `${s} "${text}"` : s;
  };
  const visible = (el) => {
    if (!el.getClientRects().length) return false;
    for (let e = el; e; e = e.parentElement) {
      const st = getComputedStyle(e);
      if (st.visibility === 'hidden' || st.display === 'none' || Number(st.opacity) === 0) return false;
    }
    return true;
  };
  const nameOf = (el) => {
    const labelledby = el.getAttribute('aria-labelledby');
    if (labelledby) {
      const text = labelledby.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ').trim();
      if (text) return text;
    }
    const label = el.getAttribute('aria-label');
    if (label && label.trim()) return label.trim();
    if (el.tagName === 'IMG') return (el.getAttribute('alt') ?? '').trim();
    if (el.labels && el.labels.length) {
      const text = [...el.labels].map((l) => l.textContent).join(' ').trim();
      if (text) return text;
    }
    if (el.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type)) return (el.value || '').trim();
    const inner = (el.innerText || '').trim();
    if (inner && !(['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName))) return inner;
    const alts = [...el.querySelectorAll('img[alt]')].map((i) => i.getAttribute('alt').trim()).filter(Boolean).join(' ');
    if (alts) return alts;
    return (el.getAttribute('title') || '').trim();
  };

  // Pictures: an alt attribute always; an empty one only where something else names what it is in.
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push(`picture without alt: ${describe(img)} ${img.getAttribute('src')}`);
  }
  // Links and buttons: a name a screen reader can say.
  for (const el of document.querySelectorAll('a[href], button, [role=button], input[type=submit], input[type=button]')) {
    if (!visible(el)) continue;
    if (!nameOf(el)) problems.push(`link or button without a name: ${describe(el)} ${el.getAttribute('href') ?? ''}`);
  }
  // Fields: a label.
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset'].includes(el.type) || !visible(el)) continue;
    if (!nameOf(el)) problems.push(`field without a label: ${describe(el)} name=${el.name}`);
  }
  // Fields that point at a description point at something that is there.
  for (const el of document.querySelectorAll('[aria-describedby]')) {
    for (const id of el.getAttribute('aria-describedby').split(/\s+/)) {
      if (!document.getElementById(id)) problems.push(`aria-describedby="${id}" names nothing: ${describe(el)}`);
    }
  }

  // Contrast: each visible element with text of its own, against the first background behind it.
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1,
  });
  // The colour behind an element: its own and its ancestors' backgrounds laid over the page's. null when a picture
  // (a background image, a video, a thumbnail) is behind it: no single colour to measure against.
  const backdrop = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const st = getComputedStyle(e);
      if (st.backgroundImage !== 'none' || ['VIDEO', 'IMG', 'CANVAS'].includes(e.tagName)) return null;
      const c = parse(st.backgroundColor);
      if (c && c.a > 0) {
        layers.push(c);
        if (c.a >= 1) break;
      }
    }
    let color = { r: 255, g: 255, b: 255, a: 1 };
    if (!layers.length || layers[layers.length - 1].a < 1) {
      const root = parse(getComputedStyle(document.documentElement).backgroundColor);
      const body = parse(getComputedStyle(document.body).backgroundColor);
      const canvas = [root, body].find((c) => c && c.a >= 1);
      color = canvas ?? (matchMedia('(prefers-color-scheme: dark)').matches ? { r: 18, g: 18, b: 18, a: 1 } : color);
    }
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  };
  const seen = new Set();
  for (const el of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'OPTION', 'VIDEO', 'svg'].includes(el.tagName) || el.closest('svg, video, [hidden]')) continue;
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const field = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) && !['hidden', 'checkbox', 'radio', 'file', 'range', 'color'].includes(el.type);
    if ((!ownText && !field) || !visible(el) || el.disabled) continue;
    const st = getComputedStyle(el);
    const fg = parse(st.color);
    const bg = backdrop(el);
    if (!fg || !bg) continue;
    const ink = fg.a < 1 ? over(fg, bg) : fg;
    const [hi, lo] = [lum(ink), lum(bg)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio + 1e-9 < need) {
      const key = `${describe(el)}|${st.color}|${ratio.toFixed(2)}`;
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`contrast ${ratio.toFixed(2)}:1 < ${need}:1: ${describe(el)} (${st.color} on rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)}))`);
      }
    }
  }
  return problems;
}
"""


def test_every_page_names_its_pictures_links_and_fields_and_has_readable_contrast(server):
    made = subprocess.run([BIN, "user", "create", "a11yadmin", "--email", "a11y@example.com", "--admin"], cwd=ROOT, env=server.env,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    pages = PAGES + ["/studio/videos/{video}", "/studio/videos/{video}/delete", "/studio/channels/1", "/studio/channels/1/delete"]
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for page, path, width, scheme, signed_in in each_page(browser, server, pages, "a11yadmin"):
            for problem in page.evaluate(CHECK):
                problems.append(f"{path} ({scheme}, {width}px, {'signed in' if signed_in else 'signed out'}): {problem}")

        # Errors are tied to their fields: a refused sign-up names what is wrong where a screen reader reads the field.
        page = browser.new_context().new_page()
        page.goto(server.base + "/signup")
        page.fill("input[name=username]", "a11y-new")
        page.fill("input[name=email]", "a11y-new@example.com")
        page.fill("input[name=password]", "12345678")  # passes the browser's checks, not the server's
        page.locator("form.form button[type=submit]").click()
        page.wait_for_load_state()
        errors = page.locator("#form-errors")
        assert errors.count() == 1 and errors.inner_text().strip(), "the refused sign-up shows no errors"
        for name in ("username", "email", "password"):
            field = page.locator(f"input[name={name}]")
            assert "form-errors" in (field.get_attribute("aria-describedby") or ""), f"{name} is not tied to the errors"
        problems += [f"/signup after a refusal: {p}" for p in page.evaluate(CHECK)]
        browser.close()
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)
