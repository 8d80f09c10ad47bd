// Accessibility checks that run inside a page (with page.evaluate): WCAG AA text contrast,
// touch-target size, and how the focused control shows its focus.

// Runs in the page: text whose contrast with what is behind it is below WCAG AA (4.5:1, or
// 3:1 for large text), composing translucent backgrounds and the opacity of ancestors.
export function contrastProblems() {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (fg, bg) => ({
    r: fg.r * fg.a + bg.r * (1 - fg.a),
    g: fg.g * fg.a + bg.g * (1 - fg.a),
    b: fg.b * fg.a + bg.b * (1 - fg.a),
    a: 1,
  });
  const lum = ({ r, g, b }) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (x, y) => (Math.max(lum(x), lum(y)) + 0.05) / (Math.min(lum(x), lum(y)) + 0.05);
  const chain = (el) => {
    const out = [];
    for (let e = el; e; e = e.parentElement) out.unshift(e);
    return out;
  };
  const problems = [];
  let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join('');
    const style = getComputedStyle(el);
    if (!text || style.visibility === 'hidden' || el.getClientRects().length === 0) continue;
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    let opacity = 1;
    for (const e of chain(el)) {
      const s = getComputedStyle(e);
      const c = parse(s.backgroundColor);
      if (c && c.a > 0) bg = over(c, bg);
      opacity *= Number(s.opacity);
    }
    const fg = parse(style.color);
    fg.a *= opacity;
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    const need = large ? 3 : 4.5;
    const got = ratio(over(fg, bg), bg);
    checked += 1;
    if (got < need) problems.push(`${el.tagName.toLowerCase()} "${text.slice(0, 20)}": ${got.toFixed(2)} < ${need}`);
  }
  return { checked, problems };
}

// Runs in the page: controls (or the labels that hold them) smaller than 44 × 44 CSS pixels;
// links inside a sentence are left out.
export function smallTargets() {
  const problems = [];
  for (const el of document.querySelectorAll('a[href], button, input, textarea, select')) {
    if (el.type === 'hidden') continue;
    // A link in a sentence is as tall as the line it sits in (WCAG's inline exception).
    const inline = [...el.parentElement.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (el.tagName === 'A' && inline) continue;
    const holder = el.closest('label') ?? el;
    const rects = [holder, ...holder.querySelectorAll('*')].map((e) => e.getBoundingClientRect());
    const width = Math.max(...rects.map((r) => r.right)) - Math.min(...rects.map((r) => r.left));
    const height = Math.max(...rects.map((r) => r.bottom)) - Math.min(...rects.map((r) => r.top));
    if (width < 44 || height < 44) {
      problems.push(`${el.tagName.toLowerCase()} ${el.name || el.textContent.trim()}: ${Math.round(width)}×${Math.round(height)}`);
    }
  }
  return problems;
}

// Runs in the page: how the focused control shows its focus, and the contrast of that
// indicator with the page around it (3:1 needed; Chromium's own ring, style "auto", is
// drawn in two tones and always meets it).
export function focusIndicator() {
  const el = document.activeElement;
  // A radio hidden under its styled label shows its focus on the label's box.
  const shown = getComputedStyle(el).opacity === '0' ? el.nextElementSibling : el;
  const s = getComputedStyle(shown);
  const width = parseFloat(s.outlineWidth);
  if (s.outlineStyle === 'none' || !(width > 0)) return { element: el.outerHTML.slice(0, 60), visible: false };
  if (s.outlineStyle === 'auto') return { element: el.outerHTML.slice(0, 60), visible: true, contrast: Infinity };
  const parse = (c) => c.match(/\d+(\.\d+)?/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let around = [255, 255, 255];
  for (let e = shown.parentElement; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c.length < 4 || c[3] > 0) {
      around = c;
      break;
    }
  }
  const [a, b] = [lum(parse(s.outlineColor)), lum(around)];
  return { element: el.outerHTML.slice(0, 60), visible: true, contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
}
