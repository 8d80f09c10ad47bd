// A citizen on a phone, JavaScript off: opens the rating page from a QR code's URL, rates
// unsatisfied, is asked for a reason, gives one, and sees what happens next. Then the unit
// head finds the rating, with the phone masked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, launchPhone, apiSession } from './browser.mjs';

let phone;
before(async () => {
  phone = await launchPhone();
});
after(async () => {
  await phone?.close();
});

test('a citizen rates a window unsatisfied from its QR code on a phone', async () => {
  const admin = await apiSession('admin');
  const code = await (await fetch(`${BASE}/api/v1/org/nodes/XN-CD-GA-001-W1/rating-code`, admin)).json();
  // The QR code on the poster carries exactly this URL.
  const svg = await (await fetch(`${BASE}${code.svg}`)).text();
  assert.match(svg, /^<svg/);
  const url = code.url.replace(/^https?:\/\/[^/]+/, BASE);

  const page = await phone.newPage();
  const res = await page.goto(url);
  assert.equal(res.status(), 200);
  const size = Number((await res.allHeaders())['content-length'] ?? (await res.body()).length);
  assert.ok(size < 30 * 1024, `first load is small: ${size} bytes`);
  assert.match(await page.locator('h1').textContent(), /派出所/);
  await page.screenshot({ path: `${SHOTS}rate-phone.png`, fullPage: true });

  // Unsatisfied without a reason: the page says what is missing and keeps the comment.
  await page.getByText('不满意', { exact: true }).click();
  await page.fill('#comment', '排队两个小时没人管');
  await page.getByRole('button', { name: '提交评价' }).click();
  await page.waitForSelector('.errors');
  assert.match(await page.locator('.errors').textContent(), /至少选择一项原因/);
  assert.equal(await page.inputValue('#comment'), '排队两个小时没人管');
  await page.screenshot({ path: `${SHOTS}rate-phone-error.png`, fullPage: true });

  await page.getByText('事难办').click();
  await page.fill('#phone', '13912345678');
  await page.getByText('我同意监督部门就此评价电话回访我').click();
  await page.getByRole('button', { name: '提交评价' }).click();
  await page.waitForURL(/\/thanks\?o=unsatisfied/);
  assert.equal(await page.locator('h1').textContent(), '感谢您的评价');
  assert.match(await page.locator('main').textContent(), /自动生成工单/);
  assert.match(await page.locator('main').textContent(), /通过您留下的手机号联系您/);
  await page.screenshot({ path: `${SHOTS}rate-phone-thanks.png`, fullPage: true });

  const head = await apiSession('unithead');
  const rows = await (await fetch(`${BASE}/api/v1/ratings?under=XN-CD-GA-001&outcome=unsatisfied`, head)).json();
  const mine = rows.find((r) => r.comment === '排队两个小时没人管');
  assert.ok(mine, 'the unit head sees the rating');
  assert.equal(mine.phone, '139****5678');
  assert.deepEqual(mine.reasons, ['not_done']);
});

test('a used invitation link says so', async () => {
  const staff = await apiSession('staff');
  const r = await fetch(`${BASE}/api/v1/invitations`, {
    method: 'POST',
    headers: { ...staff.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ org_code: 'XN-CD-GA-001-W1', transaction_ref: `e2e-${Date.now()}` }),
  });
  assert.equal(r.status, 201);
  const inv = await r.json();
  const page = await phone.newPage();
  await page.goto(`${BASE}/r/${inv.token}`);
  await page.getByText('满意', { exact: true }).click();
  await page.getByRole('button', { name: '提交评价' }).click();
  await page.waitForURL(/\/thanks\?o=satisfied/);
  const again = await page.goto(`${BASE}/r/${inv.token}`);
  assert.equal(again.status(), 410);
  assert.match(await page.locator('h1').textContent(), /已经评价过了/);
});

test('a rating whose answer was lost on the network is sent again by the page and stored once', async () => {
  const admin = await apiSession('admin');
  const code = await (await fetch(`${BASE}/api/v1/org/nodes/XN-CD-GA-002/rating-code`, admin)).json();
  const url = code.url.replace(/^https?:\/\/[^/]+/, BASE);
  // A phone with JavaScript on, 390 px wide, whose first submission reaches the server and is
  // stored, but whose answer never arrives (the connection resets).
  const browser = await launch({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  try {
    const page = await browser.newPage();
    let posts = 0;
    await page.route('**/r/*', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      posts += 1;
      if (posts === 1) {
        await route.fetch({ maxRedirects: 0 });
        return route.abort('connectionreset');
      }
      return route.continue();
    });
    await page.goto(url);
    const comment = `网络中断后重试 ${Date.now()}`;
    await page.getByText('不满意', { exact: true }).click();
    await page.getByText('事难办').click();
    await page.fill('#comment', comment);
    await page.getByRole('button', { name: '提交评价' }).click();
    await page.waitForURL(/\/thanks\?o=unsatisfied/);
    assert.ok(posts >= 2, `the page sent the form again (${posts} posts)`);
    const sup = await apiSession('supervisor');
    const list = await (await fetch(`${BASE}/api/v1/ratings?under=XN-CD-GA-002&outcome=unsatisfied`, sup)).json();
    assert.equal(list.filter((r) => r.comment === comment).length, 1, 'stored once');
  } finally {
    await browser.close();
  }
});
