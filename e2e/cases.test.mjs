// The closed loop in a real browser: a citizen rates a window unsatisfied on a phone; the case
// it opens is signed for by the unit head, visited, verified and ordered by the supervisor, the
// rectification is reported with a photo, accepted, confirmed with the citizen and decided;
// the decision is then found in the accountability register and exported as XLSX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, SHOTS, launch, launchPhone, apiSession, login } from './browser.mjs';

// A 1×1 PNG: evidence of the fix.
const PHOTO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
  'base64',
);

let phone, headBrowser, supBrowser;
before(async () => {
  phone = await launchPhone();
  headBrowser = await launch();
  supBrowser = await launch();
});
after(async () => {
  await phone?.close();
  await headBrowser?.close();
  await supBrowser?.close();
});

// Submits the action form `name` on the case page after `fill` fills it in.
async function act(page, name, fill = async () => {}) {
  const form = page.locator(`form.action[data-action="${name}"]`);
  await form.waitFor();
  await fill(form);
  await Promise.all([page.waitForLoadState('load'), form.locator('button[type=submit]').click()]);
  await page.waitForSelector('#case-state');
  const errors = await page.locator('.card.bad').count();
  assert.equal(errors, 0, errors ? await page.locator('.card.bad').textContent() : '');
}

async function state(page) {
  return page.locator('#case-state').getAttribute('data-state');
}

test('one case from an unsatisfied rating to closed, through every role, into the register', async () => {
  const comment = `e2e 闭环 ${Date.now()}`;
  const admin = await apiSession('admin');
  const code = await (await fetch(`${BASE}/api/v1/org/nodes/XN-CD-GA-001-W1/rating-code`, admin)).json();
  const rate = await phone.newPage();
  await rate.goto(code.url.replace(/^https?:\/\/[^/]+/, BASE));
  await rate.getByText('不满意', { exact: true }).click();
  await rate.getByText('脸难看').click();
  await rate.fill('#comment', comment);
  await rate.getByRole('button', { name: '提交评价' }).click();
  await rate.waitForURL(/\/thanks\?o=unsatisfied/);

  // The case opens from the rating (the job runner inside the server picks it up).
  const sup = await apiSession('supervisor');
  let id;
  for (let i = 0; i < 100 && !id; i++) {
    const list = await (await fetch(`${BASE}/api/v1/cases?under=XN-CD-GA-001&limit=500`, sup)).json();
    id = list.cases.find((c) => c.description === comment)?.id;
    if (!id) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(id, 'the unsatisfied rating opened a case');

  // The unit head finds it in the inbox ("waiting for me") and signs for it.
  const head = await headBrowser.newPage();
  await login(head, 'unithead');
  await head.goto(`${BASE}/cases`);
  await head.locator(`tr[data-case="${id}"] a`).click();
  await head.waitForURL(`${BASE}/cases/${id}`);
  assert.equal(await state(head), 'open');
  assert.equal(await head.locator('form.action[data-action="send_back"]').count(), 0, 'no send-back of a rating case');
  await act(head, 'acknowledge');
  assert.equal(await state(head), 'acknowledged');

  // The supervisor visits, verifies and orders rectification.
  const s = await supBrowser.newPage();
  await login(s, 'supervisor');
  await s.goto(`${BASE}/cases/${id}`);
  await act(s, 'return_visit', async (f) => {
    await f.locator('select[name=reached]').selectOption('true');
    await f.locator('textarea[name=note]').fill('电话回访，市民称窗口人员态度冷淡');
  });
  assert.equal(await state(s), 'visited');
  await act(s, 'verify', async (f) => {
    await f.locator('select[name=verdict]').selectOption('substantiated');
    await f.locator('textarea[name=note]').fill('调取监控，情况属实');
  });
  await act(s, 'order', async (f) => {
    await f.locator('textarea[name=requirements]').fill('当事人书面检查，全员服务礼仪培训');
    await f.locator('input[name=deadline_days]').fill('5');
    await f.locator('textarea[name=note]').fill('责令限期整改');
  });
  assert.equal(await state(s), 'ordered');
  // The numbered rectification order prints.
  await s.locator('a', { hasText: '督整〔' }).click();
  assert.match(await s.locator('h1').textContent(), /责令整改通知书/);
  assert.match(await s.locator('main').textContent(), /全员服务礼仪培训/);
  await s.emulateMedia({ media: 'print' });
  assert.equal(await s.locator('header.top').isVisible(), false, 'print view without the navigation');
  await s.screenshot({ path: `${SHOTS}case-order-print.png`, fullPage: true });
  await s.emulateMedia({ media: 'screen' });

  // The unit reports the fix with a photo.
  await head.reload();
  await act(head, 'report', async (f) => {
    await f.locator('textarea[name=note]').fill('已组织培训，当事人已书面检查');
    await f.locator('input[name=file]').setInputFiles({ name: 'training.png', mimeType: 'image/png', buffer: PHOTO });
  });
  assert.equal(await state(head), 'reported');
  assert.equal(await head.locator('.timeline a', { hasText: 'training.png' }).count(), 1);

  // Accepted, confirmed with the citizen, decided.
  await s.goto(`${BASE}/cases/${id}`);
  await act(s, 'accept');
  await act(s, 'follow_up', async (f) => {
    await f.locator('select[name=satisfied]').selectOption('true');
    await f.locator('textarea[name=note]').fill('再次回访，市民表示满意');
  });
  assert.equal(await state(s), 'rectified');
  await act(s, 'decide', async (f) => {
    await f.locator('select[name=kind]').selectOption('admonition_talk');
    await f.locator('input[name=unit_head]').fill('李所长');
    await f.locator('textarea[name=note]').fill('服务态度问题属实，约谈单位负责人');
  });
  assert.equal(await state(s), 'closed');
  const steps = await s.locator('.timeline li').evaluateAll((lis) => lis.map((li) => li.dataset.action));
  assert.deepEqual(steps, ['open', 'acknowledge', 'return_visit', 'verify', 'order', 'report', 'accept', 'follow_up', 'decide']);
  await s.screenshot({ path: `${SHOTS}case-closed.png`, fullPage: true });

  // The register lists the decision with its case, and exports it.
  await s.goto(`${BASE}/accountability`);
  const row = s.locator(`tr[data-case="${id}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /李所长/);
  assert.match(await row.textContent(), /约谈/);
  await s.screenshot({ path: `${SHOTS}accountability.png`, fullPage: true });
  const [download] = await Promise.all([s.waitForEvent('download'), s.locator('#export-xlsx').click()]);
  const bytes = readFileSync(await download.path());
  assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'an XLSX file');
});
