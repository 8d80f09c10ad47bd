// Dashboards in a real browser: a supervisor opens the city dashboard, drills down twice and
// downloads the table as XLSX; a unit head sees only their own subtree; the rankings and the
// public page (no login) render with their charts and tables.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, SHOTS, launch, login } from './browser.mjs';

// One browser profile per person, so that each logs in afresh.
const browsers = [];
async function fresh() {
  const b = await launch();
  browsers.push(b);
  return b.newPage();
}
after(async () => {
  for (const b of browsers) await b.close();
});

async function node(page) {
  return page.locator('#dash-node').getAttribute('data-code');
}

test('a supervisor drills down from the city twice and downloads XLSX', async () => {
  const page = await fresh();
  await login(page, 'supervisor');
  await page.goto(`${BASE}/dashboard`);
  assert.equal(await node(page), 'XN');
  // Rates carry their formula; charts are SVG with accessible titles.
  const formula = await page.locator('[data-rate="satisfaction"] abbr').getAttribute('title');
  assert.match(formula, /÷/);
  assert.ok(await page.locator('svg.chart title').count() >= 3);
  const ratings = Number(await page.locator('tr[data-code="XN-CD"] td').nth(1).textContent());
  assert.ok(ratings > 0, 'the demo history shows up');
  await page.screenshot({ path: `${SHOTS}dashboard-city.png`, fullPage: true });

  await page.locator('tr[data-code="XN-CD"] a.drill').click();
  await page.waitForURL(/under=XN-CD&/);
  assert.equal(await node(page), 'XN-CD');
  const first = page.locator('table.members a.drill').first();
  const target = await first.evaluate((a) => a.closest('tr').dataset.code);
  await first.click();
  await page.waitForURL(new RegExp(`under=${target}&`));
  assert.equal(await node(page), target);
  assert.match(await page.locator('.crumbs').textContent(), /城东区/);
  await page.screenshot({ path: `${SHOTS}dashboard-drill.png`, fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-xlsx').click()]);
  const bytes = readFileSync(await download.path());
  assert.equal(bytes.subarray(0, 2).toString(), 'PK');
  assert.match(download.suggestedFilename(), new RegExp(`^dashboard-${target}-.*\\.xlsx$`));
});

test('a unit head sees their own subtree only, down to their staff', async () => {
  const page = await fresh();
  await login(page, 'unithead');
  await page.goto(`${BASE}/dashboard`);
  assert.equal(await node(page), 'XN-CD-GA-001');
  assert.equal(await page.locator('.crumbs a').count(), 0, 'no way up out of the scope');
  const denied = await page.goto(`${BASE}/dashboard?under=XN-CD`);
  assert.equal(denied.status(), 403);
  await page.goto(`${BASE}/dashboard`);
  await page.locator('tr[data-code="XN-CD-GA-001-W1"] a.drill').click();
  await page.waitForURL(/under=XN-CD-GA-001-W1&/);
  assert.equal(await node(page), 'XN-CD-GA-001-W1');
});

test('rankings and the public page render without JavaScript tricks', async () => {
  const page = await fresh();
  await login(page, 'supervisor');
  const r = await page.goto(`${BASE}/rankings?under=XN&kind=department&min_sample=5`);
  assert.equal(r.status(), 200);
  assert.ok((await page.locator('table.ranking tbody tr').count()) > 0);
  assert.match(await page.locator('table.ranking tbody tr').first().textContent(), /^\s*1/);
  await page.screenshot({ path: `${SHOTS}rankings.png`, fullPage: true });
  const pub = await fetch(`${BASE}/public`);
  assert.equal(pub.status, 200);
  const html = await pub.text();
  assert.doesNotMatch(html, /1[3-9]\d\*{4}\d{4}|1[3-9]\d{9}/, 'no phone numbers');
});
