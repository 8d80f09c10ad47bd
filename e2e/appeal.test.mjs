// 申诉复核 in the browser: a unit head finds an unsatisfied rating of their unit on the ratings
// page (and exports the list) and appeals it; a supervisor finds the appeal, upholds it, and the rating stays, marked as
// no longer counted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, SHOTS, launch, login, apiSession } from './browser.mjs';

let head;
let supervisor;
before(async () => {
  head = await launch();
  supervisor = await launch();
});
after(async () => {
  await head?.close();
  await supervisor?.close();
});

test('a unit head appeals a rating on its page and a supervisor upholds the appeal', async () => {
  const admin = await apiSession('admin');
  const code = await (await fetch(`${BASE}/api/v1/org/nodes/XN-CD-GA-001-W1/rating-code`, admin)).json();
  const comment = `e2e 申诉 ${Date.now()}`;
  const rated = await fetch(`${BASE}/api/v1/ratings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': `e2e-appeal-${Date.now()}` },
    body: JSON.stringify({ code: code.token, satisfied: false, reasons: ['unfriendly'], comment }),
  });
  assert.equal(rated.status, 201);
  const { id } = await rated.json();

  const page = await head.newPage();
  await login(page, 'unithead');
  await page.getByRole('link', { name: '评价', exact: true }).click();
  await page.getByRole('link', { name: '不满意', exact: true }).click();
  // The page's export: this unit's unsatisfied ratings of the last 30 days, this one among them.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: '导出 CSV' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^ratings-XN-CD-GA-001-.*\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv, new RegExp(comment));
  assert.ok(csv.split('\n').slice(1).every((line) => !line || /不满意/.test(line)), 'unsatisfied only');
  await page.locator(`tr[data-rating="${id}"] a`).click();
  await page.waitForURL(`${BASE}/ratings/${id}`);
  assert.match(await page.locator('main').textContent(), new RegExp(comment));
  await page.getByLabel('申诉理由').fill('评价人当天未到本所办事');
  await page.getByRole('button', { name: '提交申诉' }).click();
  await page.waitForSelector('section.appeal');
  assert.match(await page.locator('section.appeal').textContent(), /待审核/);
  assert.equal(await page.getByRole('button', { name: '提交申诉' }).count(), 0, 'one appeal per rating');
  await page.screenshot({ path: `${SHOTS}appeal-filed.png`, fullPage: true });

  const sup = await supervisor.newPage();
  await login(sup, 'supervisor');
  await sup.goto(`${BASE}/appeals`);
  await sup.locator(`a[href="/ratings/${id}"]`).click();
  await sup.waitForURL(`${BASE}/ratings/${id}`);
  await sup.getByLabel('申诉成立：这条评价不计入统计').check();
  await sup.getByLabel('审核意见').fill('监控核实当天无此人办事');
  await sup.getByRole('button', { name: '提交审核结论' }).click();
  await sup.waitForSelector('text=申诉成立，不计入统计');
  assert.match(await sup.locator('section.appeal').textContent(), /监控核实当天无此人办事/);
  await sup.screenshot({ path: `${SHOTS}appeal-upheld.png`, fullPage: true });

  // The unit head sees the outcome on the same page; the rating itself is still there.
  await page.reload();
  assert.match(await page.locator('main').textContent(), /申诉成立，不计入统计/);
  assert.match(await page.locator('main').textContent(), new RegExp(comment));
});
