// An enterprise user sees the problems it raised itself, and none of the district's citizens'
// cases (the demo's enterprise filed three).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, login, apiSession } from './browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an enterprise user sees only the cases it filed', async () => {
  const page = await browser.newPage();
  await login(page, 'enterprise');
  await page.goto(`${BASE}/cases`);
  const text = await page.locator('main').textContent();
  assert.match(text, /营业执照经营范围变更两周未办结/);
  assert.match(text, /厂房用电增容报装排队过长/);
  await page.screenshot({ path: `${SHOTS}cases-enterprise.png`, fullPage: true });
  // The API agrees: its three cases, every one filed by it.
  const mine = await apiSession('enterprise');
  const list = await (await fetch(`${BASE}/api/v1/cases`, mine)).json();
  assert.equal(list.total, 3);
  for (const c of list.cases) assert.equal(c.source, 'enterprise');
  // A citizen's rating case of the same district is out of its reach.
  const sup = await apiSession('supervisor');
  const district = await (await fetch(`${BASE}/api/v1/cases?under=XN-CD&source=rating&limit=1`, sup)).json();
  assert.ok(district.cases.length > 0, 'the demo district has citizens\' cases');
  const r = await fetch(`${BASE}/api/v1/cases/${district.cases[0].id}`, mine);
  assert.equal(r.status, 403);
});
