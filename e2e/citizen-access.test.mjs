// The pages citizens use, for someone who cannot use a mouse or see well: on the rating page
// every control has a name, the whole rating can be given with the keyboard alone and the focus
// is always visible; on it, its error and thank-you pages and the public page text meets WCAG AA
// contrast and every control is a large touch target on a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, apiSession } from './browser.mjs';
import { contrastProblems, smallTargets, focusIndicator } from './a11y.mjs';

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

test('the public page meets AA contrast and has large touch targets on a phone', async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${BASE}/public`);
  assert.equal(res.status(), 200);
  const contrast = await page.evaluate(contrastProblems);
  assert.ok(contrast.checked >= 10, `text was checked (${contrast.checked} elements)`);
  assert.deepEqual(contrast.problems, [], 'contrast');
  assert.deepEqual(await page.evaluate(smallTargets), [], 'touch targets');
});
