// The admin side of the rating front door, in the browser: QR posters of the whole demo city made
// with a progress bar (the page refreshes itself, no script) and downloaded; a lost poster's code
// reissued on its unit's page; a region switched to five levels with a reason of its own, which a
// citizen's phone then shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, SHOTS, launch, launchPhone, login, apiSession } from './browser.mjs';
import { contrastProblems } from './a11y.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an admin makes the whole city\'s posters with a progress bar and downloads them', async () => {
  const page = await browser.newPage();
  await login(page, 'admin');
  await page.getByRole('link', { name: '二维码海报', exact: true }).click();
  await page.waitForURL(`${BASE}/admin/posters`);
  assert.equal(await page.getByLabel('范围（机构编码）').inputValue(), 'XN', 'the admin\'s scope, the whole city');
  assert.deepEqual((await page.evaluate(contrastProblems)).problems, []);
  await page.getByLabel('A4').check();
  await page.getByLabel('压缩包').check();
  await page.getByRole('button', { name: '生成海报' }).click();
  await page.waitForURL(/\/admin\/posters\/builds\/[0-9A-Z]+$/);
  const build = new URL(page.url()).pathname;

  // While it draws: a progress bar that moves from one refresh to the next.
  const values = [];
  const deadline = Date.now() + 180_000;
  let state;
  for (;;) {
    state = await page.locator('section.build').getAttribute('data-state');
    if (state !== 'queued' && state !== 'running') break;
    assert.ok(Date.now() < deadline, 'the build ends within three minutes');
    const bar = page.locator('progress');
    assert.equal(await bar.count(), 1);
    const value = await bar.getAttribute('value');
    if (value !== null) {
      values.push(Number(value));
      if (values.length === 2) await page.screenshot({ path: `${SHOTS}posters-progress.png`, fullPage: true });
    }
    // The page reloads itself every second.
    await page.waitForEvent('load', { timeout: 5_000 });
  }
  assert.equal(state, 'done');
  assert.ok(values.length >= 2, `the bar was seen moving (${values.join(', ')})`);
  assert.ok(values[values.length - 1] > values[0], `the bar moved forward (${values.join(', ')})`);
  const max = Number(await page.locator('progress').getAttribute('max'));
  assert.equal(Number(await page.locator('progress').getAttribute('value')), max);
  assert.match(await page.locator('section.build').textContent(), new RegExp(`海报张数： ${max}`));
  await page.screenshot({ path: `${SHOTS}posters-done.png`, fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: '下载' }).click()]);
  assert.equal(download.suggestedFilename(), 'posters-XN-a4.zip');
  const zip = readFileSync(await download.path());
  assert.equal(zip.subarray(0, 2).toString(), 'PK');

  // The posters page lists it as done, with its download.
  await page.goto(`${BASE}/admin/posters`);
  const row = page.locator('table.poster-builds tbody tr').first();
  assert.match(await row.textContent(), /已完成/);
  assert.equal(await row.locator(`a[href="${build}/file"]`).count(), 1);
});

test('an admin reissues a lost poster\'s code on the unit\'s page; the old code shows the revoked page', async () => {
  // The same browser as above: still logged in as the admin.
  const page = await browser.newPage();
  await page.goto(`${BASE}/org/XN-CD-GA-001`);
  const section = page.locator('section#rating-code');
  const img = section.locator('img');
  await img.waitFor();
  assert.ok(await img.evaluate((el) => el.complete && el.naturalWidth > 0), 'the QR image loads');
  const oldUrl = await section.locator('a[href*="/r/"]').first().getAttribute('href');
  await page.getByLabel('我知道旧海报上的二维码将失效').check();
  await page.getByRole('button', { name: '重新签发评价码' }).click();
  await page.waitForURL(/reissued=1/);
  assert.match(await section.textContent(), /已签发新的评价码/);
  const newUrl = await section.locator('a[href*="/r/"]').first().getAttribute('href');
  assert.notEqual(newUrl, oldUrl);
  await page.screenshot({ path: `${SHOTS}rating-code-reissued.png`, fullPage: true });

  const citizen = await browser.newPage();
  const old = await citizen.goto(oldUrl.replace(/^https?:\/\/[^/]+/, BASE));
  assert.equal(old.status(), 410);
  const fresh = await citizen.goto(newUrl.replace(/^https?:\/\/[^/]+/, BASE));
  assert.equal(fresh.status(), 200);
});

test('an admin gives a region five levels and a reason of its own; a citizen\'s phone shows them', async () => {
  // Still logged in as the admin.
  const page = await browser.newPage();
  await page.goto(`${BASE}/org/XN-HY`);
  await page.getByRole('link', { name: '评价设置' }).click();
  await page.waitForURL(`${BASE}/org/XN-HY/rating-settings`);
  assert.deepEqual((await page.evaluate(contrastProblems)).problems, []);
  await page.getByLabel('五级：').check();
  await page.getByLabel('原因 1 · 代码').fill('slow');
  await page.getByLabel('原因 1 · 中文标签').fill('办事效率低');
  // A label left empty comes back with its row named and what was typed kept.
  await page.getByRole('button', { name: '保存评价设置' }).click();
  assert.match(await page.locator('[role=alert]').textContent(), /原因 1 · 英文标签/);
  assert.equal(await page.getByLabel('原因 1 · 代码').inputValue(), 'slow');
  await page.getByLabel('原因 1 · 英文标签').fill('Too slow');
  await page.getByRole('button', { name: '保存评价设置' }).click();
  await page.waitForURL(/saved=1/);
  assert.match(await page.locator('[role=status]').textContent(), /已保存/);
  await page.screenshot({ path: `${SHOTS}rating-settings.png`, fullPage: true });

  const admin = await apiSession('admin');
  const code = await (await fetch(`${BASE}/api/v1/org/nodes/XN-HY-GA-001/rating-code`, admin)).json();
  const phone = await launchPhone();
  try {
    const citizen = await phone.newPage();
    await citizen.goto(code.url.replace(/^https?:\/\/[^/]+/, BASE));
    const text = await citizen.locator('main').textContent();
    for (const word of ['非常满意', '一般', '非常不满意', '办事效率低']) assert.match(text, new RegExp(word));
  } finally {
    await phone.close();
  }
});
