// The admin calendar page in a real browser: official and provisional years, a refused
// import that keeps what was pasted, and a regional holiday that then applies to deadlines.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, login, logout } from './browser.mjs';

let context;
let page;
before(async () => {
  context = await launch();
  page = await context.newPage();
});
after(async () => {
  await context?.close();
});

test('an admin reads the calendar status, is told what is wrong with a notice, and adds a regional holiday', async () => {
  await login(page, 'admin');
  await page.getByRole('link', { name: '工作日历' }).click();
  await page.waitForURL(`${BASE}/admin/calendar`);
  const rows = await page.locator('table').first().locator('tbody tr').allTextContents();
  assert.match(rows.find((r) => r.startsWith('2026')), /正式.*2026年部分节假日安排/s);
  assert.match(rows.find((r) => r.startsWith('2027')), /暂定/);

  const bad = '[[year]]\nyear = 2027\nnotice = "测试"\nholidays = []\nworkdays = [["调休", "2027-01-05"]]\n';
  await page.fill('#notice', bad);
  await page.getByRole('button', { name: '校验并导入' }).click();
  await page.waitForSelector('.card.bad');
  assert.match(await page.locator('.card.bad').textContent(), /not a Saturday or Sunday/);
  assert.equal(await page.inputValue('#notice'), bad, 'the pasted notice is kept');

  await page.fill('input[name=org_code]', 'XN-DT');
  await page.fill('input[name=date]', '2026-03-03');
  await page.fill('input[name=name]', '地方节日（浏览器测试）');
  await page.getByRole('button', { name: '添加' }).click();
  await page.waitForURL(`${BASE}/admin/calendar`);
  assert.match(await page.locator('table').nth(1).textContent(), /XN-DT.*2026-03-03.*holiday.*地方节日/s);
  await page.screenshot({ path: `${SHOTS}calendar.png`, fullPage: true });
  const due = await (await fetch(`${BASE}/api/v1/calendar/deadline?start=2026-03-02T10:00:00%2B08:00&working_days=1&org=XN-DT-GA-001`)).json();
  assert.equal(due.due, '2026-03-04T23:59:59+08:00');
  await logout(page);
});
