// The enterprise desk in a real browser: a firm's user on a phone (no JavaScript) posts a
// problem in its project's channel; the park cadre's page, open at the desk, shows the request
// arrive and its 10-minute reply clock count down without a reload; the cadre replies, marks it
// complex and gives the written solution plan, then resolves it; the firm confirms the fix and
// rates it on its phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, launchPhone, login, apiSession } from './browser.mjs';
import { contrastProblems } from './a11y.mjs';

const PROJECT = 'XN-ZD-001';
let firmPhone, cadreDesk;
before(async () => {
  // 南川's desk answers round the clock for this test, so the clock starts at the posting
  // whatever the hour the test runs at.
  const admin = await apiSession('admin');
  const r = await fetch(`${BASE}/api/v1/parks/XN-NCYQ`, {
    method: 'PUT',
    headers: { ...admin.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ reply_minutes: 10, solution_days: 3, handover_days: 2, open_minute: 0, close_minute: 1440, working_days_only: false }),
  });
  assert.equal(r.status, 200);
  firmPhone = await launchPhone();
  cadreDesk = await launch();
});
after(async () => {
  await firmPhone?.close();
  await cadreDesk?.close();
});

async function fits(page, what) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `${what} is ${width} px wide on a 390 px phone`);
}

async function noErrors(page) {
  const errors = await page.locator('.card.bad[role=alert]').count();
  assert.equal(errors, 0, errors ? await page.locator('.card.bad[role=alert]').textContent() : '');
}

async function act(page, name, fill = async () => {}) {
  const form = page.locator(`form.action[data-action="${name}"]`);
  await form.waitFor();
  await fill(form);
  await Promise.all([page.waitForURL(/\?done=/), form.locator('button[type=submit]').click()]);
  await noErrors(page);
}

test('a firm posts a problem, the cadre sees the clock live and answers, the firm confirms', async () => {
  const cadre = await cadreDesk.newPage();
  await login(cadre, 'cadre');
  await cadre.goto(`${BASE}/projects/${PROJECT}`);
  await cadre.waitForSelector('#channel');

  const firm = await firmPhone.newPage();
  await login(firm, 'enterprise');
  await firm.goto(`${BASE}/projects`);
  await fits(firm, 'the firm\'s projects');
  assert.equal(await firm.locator('[data-project]').count(), 3, 'the demo firm has three key projects');
  await firm.goto(`${BASE}/projects/${PROJECT}`);
  await fits(firm, 'the project page');
  const title = `供电报装协调 ${Date.now()}`;
  await firm.fill('#composer textarea[name=body]', '二期厂房施工用电报装两周未接，请园区协调供电公司。');
  await firm.check('#composer input[name=problem]');
  await firm.fill('#composer input[name=title]', title);
  await Promise.all([firm.waitForURL(/posted=1/), firm.click('#composer button[type=submit]')]);
  await noErrors(firm);
  await firm.screenshot({ path: `${SHOTS}desk-firm-phone.png`, fullPage: true });

  // The cadre's page, untouched since it loaded, shows the request and its clock running.
  const row = cadre.locator('#requests [data-request]', { hasText: title });
  await row.waitFor({ timeout: 10_000 });
  const countdown = row.locator('[data-countdown]');
  await cadre.waitForFunction((el) => /剩余 \d+:\d\d/.test(el.textContent), await countdown.elementHandle());
  const first = await countdown.textContent();
  const minutes = Number(first.match(/剩余 (\d+):/)[1]);
  assert.ok(minutes <= 9, `a 10-minute clock: ${first}`);
  await cadre.waitForFunction((args) => args[0].textContent !== args[1], [await countdown.elementHandle(), first]);
  await cadre.locator('#channel li', { hasText: '二期厂房施工用电报装' }).last().waitFor();
  await cadre.screenshot({ path: `${SHOTS}desk-cadre-live.png`, fullPage: true });

  // The cadre answers: the first reply stops the clock; complex; the plan; the fix.
  await Promise.all([cadre.waitForURL(/\/desk\//), row.locator('a').click()]);
  await act(cadre, 'reply', (f) => f.locator('textarea[name=note]').fill('收到，已联系供电公司，今天下午给您答复。'));
  assert.match(await cadre.locator('#requests .state').textContent(), /已回复/);
  assert.match(await cadre.locator('main').textContent(), /按时/);
  await act(cadre, 'mark_complex');
  assert.match(await cadre.locator('#requests .state').textContent(), /方案中/);
  await act(cadre, 'submit_plan', async (f) => {
    await f.locator('input[name=days]').fill('10');
    await f.locator('textarea[name=note]').fill('一、园区牵头召开协调会；二、供电公司十个工作日内完成接入。');
  });
  assert.match(await cadre.locator('#requests .state').textContent(), /办理中/);
  await act(cadre, 'resolve', (f) => f.locator('textarea[name=note]').fill('已完成施工用电接入。'));
  const url = cadre.url().replace(/\?.*$/, '');
  await cadre.screenshot({ path: `${SHOTS}desk-request.png`, fullPage: true });

  // The firm confirms on its phone and rates the fix.
  await firm.goto(url);
  await fits(firm, 'the request page');
  assert.match(await firm.locator('#requests .state').textContent(), /待企业确认/);
  await act(firm, 'confirm', async (f) => {
    await f.locator('input[name=rating][value="5"]').check();
    await f.locator('textarea[name=note]').fill('问题已解决，感谢园区。');
  });
  assert.match(await firm.locator('#requests .state').textContent(), /企业已确认/);
  assert.match(await firm.locator('main').textContent(), /5 \/ 5/);
  // The whole conversation is in the channel.
  await firm.goto(`${BASE}/projects/${PROJECT}`);
  const channel = await firm.locator('#channel').textContent();
  for (const said of ['二期厂房施工用电报装', '已联系供电公司', '园区牵头召开协调会', '问题已解决']) {
    assert.ok(channel.includes(said), `the channel shows "${said}"`);
  }
});

test('the cadre\'s desk and the project list fit a phone', async () => {
  const phone = await launchPhone();
  const page = await phone.newPage();
  await login(page, 'cadre');
  for (const path of ['/projects', `/projects/${PROJECT}`, '/desk', '/investment', '/conduct']) {
    await page.goto(`${BASE}${path}`);
    await noErrors(page);
    await fits(page, path);
    assert.deepEqual((await page.evaluate(contrastProblems)).problems, [], `${path}: text below WCAG AA contrast`);
  }
  await page.screenshot({ path: `${SHOTS}investment-phone.png`, fullPage: true });
  await page.goto(`${BASE}/desk`);
  assert.ok(await page.locator('#requests [data-request]').count() > 0, 'the demo has open requests');
  await page.screenshot({ path: `${SHOTS}desk-queue-phone.png`, fullPage: true });
  // The dashboard's chains lead to their page: the 链长 and the four rates.
  await page.goto(`${BASE}/investment`);
  await Promise.all([page.waitForURL(/\/chains\//), page.locator('a', { hasText: '光伏制造产业链' }).first().click()]);
  await fits(page, 'the chain page');
  assert.match(await page.locator('#chain-leader').textContent(), /副市长/);
  await phone.close();
});
