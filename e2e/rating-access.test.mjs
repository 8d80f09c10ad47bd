// The rating page for someone who cannot use a mouse or see well: every control has a name,
// the whole rating can be given with the keyboard alone and the focus is always visible, text
// meets WCAG AA contrast, and every control is a large touch target on a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, apiSession } from './browser.mjs';

let browser;
before(async () => {
  // A phone-sized window with JavaScript on: the checks below read the page with scripts of
  // their own; the page itself has none.
  browser = await launch({ viewport: { width: 390, height: 844 } });
});
after(async () => {
  await browser?.close();
});

async function ratingUrl(node = 'XN-CD-GA-001-W1') {
  const admin = await apiSession('admin');
  const code = await (await fetch(`${BASE}/api/v1/org/nodes/${node}/rating-code`, admin)).json();
  return code.url.replace(/^https?:\/\/[^/]+/, BASE);
}

// Runs in the page: text whose contrast with what is behind it is below WCAG AA (4.5:1, or
// 3:1 for large text), composing translucent backgrounds and the opacity of ancestors.
function contrastProblems() {
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

// Runs in the page: controls (or the labels that hold them) smaller than 44 × 44 CSS pixels.
function smallTargets() {
  const problems = [];
  for (const el of document.querySelectorAll('a[href], button, input, textarea, select')) {
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
function focusIndicator() {
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

test('a keyboard user rates unsatisfied with a reason, seeing where the focus is at every step', async () => {
  const page = await browser.newPage();
  await page.goto(await ratingUrl());
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');

  // Every control has a name a screen reader reads out.
  const tree = await page.locator('form').ariaSnapshot();
  assert.match(tree, /- radio "满意"/);
  assert.match(tree, /- radio "不满意"/);
  for (const reason of ['门难进', '脸难看', '话难听', '事难办']) assert.match(tree, new RegExp(`- checkbox "${reason}"`));
  assert.match(tree, /- textbox "[^"]+"/);
  assert.match(tree, /- button "提交评价"/);
  assert.doesNotMatch(tree, /^\s*- (textbox|checkbox|radio|button|link)(\s*\[[^\]]*\])?:?\s*$/m, `an unnamed control:\n${tree}`);

  // Tab to the choice, arrow to 不满意, tab to the first reason and tick it, tab on to the
  // button and press Enter: no mouse.
  const stops = [];
  const tab = async () => {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(focusIndicator);
    stops.push(f);
    return f;
  };
  let f = await tab();
  while (!f.element.includes('type="radio"')) {
    assert.ok(stops.length < 5, `the choice is among the first stops: ${JSON.stringify(stops)}`);
    f = await tab();
  }
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getByRole('radio', { name: '不满意' }).isChecked(), true);
  stops.push(await page.evaluate(focusIndicator));
  await tab();
  assert.match(stops.at(-1).element, /type="checkbox"/);
  await page.keyboard.press('Space');
  assert.equal(await page.getByRole('checkbox', { name: '门难进' }).isChecked(), true);
  while (!(await page.evaluate(() => document.activeElement.type === 'submit'))) {
    assert.ok(stops.length < 30, 'the submit button is reachable by Tab');
    await tab();
  }
  for (const s of stops) {
    assert.ok(s.visible, `focus is visible on ${s.element}`);
    assert.ok(s.contrast >= 3, `the focus indicator on ${s.element} stands out (${s.contrast.toFixed(2)}:1)`);
  }
  await Promise.all([page.waitForURL(/\/thanks\?o=unsatisfied/), page.keyboard.press('Enter')]);
  assert.equal(await page.locator('h1').textContent(), '感谢您的评价');
});

test('the rating, error and thank-you pages meet AA contrast and have large touch targets', async () => {
  const page = await browser.newPage();
  const url = await ratingUrl();
  await page.goto(url);
  const checks = [['rating page', await page.evaluate(contrastProblems), await page.evaluate(smallTargets)]];
  // Unsatisfied without a reason: the page comes back with its error.
  await page.getByText('不满意', { exact: true }).click();
  await page.getByRole('button', { name: '提交评价' }).click();
  await page.waitForSelector('.errors');
  checks.push(['error page', await page.evaluate(contrastProblems), await page.evaluate(smallTargets)]);
  await page.getByText('事难办').click();
  await Promise.all([page.waitForURL(/\/thanks/), page.getByRole('button', { name: '提交评价' }).click()]);
  checks.push(['thank-you page', await page.evaluate(contrastProblems), await page.evaluate(smallTargets)]);
  // 城西区 rates on five levels: five choices, the same rules.
  await page.goto(await ratingUrl('XN-CX-ZWFW-001'));
  assert.equal(await page.getByRole('radio').count(), 5);
  checks.push(['five-level page', await page.evaluate(contrastProblems), await page.evaluate(smallTargets)]);
  for (const [name, contrast, targets] of checks) {
    assert.ok(contrast.checked >= 3, `${name}: text was checked (${contrast.checked} elements)`);
    assert.deepEqual(contrast.problems, [], `${name}: contrast`);
    assert.deepEqual(targets, [], `${name}: touch targets`);
  }
});
