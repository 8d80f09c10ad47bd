// The supervision loop in a real browser, on phones without JavaScript where people work on
// site: an inspector records a secret visit with a photo (sealed: the unit gets a 404), issues
// the feedback sheet naming the responsible people; the unit head signs for it and reports the
// fix with a photo; a different verifier (the supervisor) closes it and the +30-day re-check
// appears; a new finding for the same unit and category is flagged as a recurrence.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, launchPhone, login } from './browser.mjs';

const PHOTO = {
  name: 'scene.png',
  mimeType: 'image/png',
  buffer: Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
    'base64',
  ),
};
const UNIT = 'XN-CD-GA-001';

let inspectorPhone, headPhone, desk;
before(async () => {
  inspectorPhone = await launchPhone();
  headPhone = await launchPhone();
  desk = await launch();
});
after(async () => {
  await inspectorPhone?.close();
  await headPhone?.close();
  await desk?.close();
});

// The page fits a 390 px phone: nothing wider than the screen.
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
  await Promise.all([page.waitForLoadState('load'), form.locator('button[type=submit]').click()]);
  await page.waitForSelector('#item-state');
  await noErrors(page);
}

async function recordVisit(page, mode) {
  await page.goto(`${BASE}/supervision`);
  await fits(page, 'the supervision page');
  await Promise.all([page.waitForURL(`${BASE}/visits/new`), page.click('#new-visit')]);
  await fits(page, 'the visit form');
  await page.fill('input[name=unit]', UNIT);
  await page.check(`input[name=mode][value=${mode}]`);
  await page.fill('input[name=place]', '户籍业务窗口');
  await page.check('input[name=check_staff_at_post][value=bad]');
  await page.check('input[name=check_attitude][value=ok]');
  await page.fill('textarea[name=note]', '10:20 到场，2号窗口无人值守');
  await page.setInputFiles('input[name=file]', PHOTO);
  await Promise.all([page.waitForURL(/\/visits\/[0-9A-Za-z]+$/), page.click('#visit-form button[type=submit]')]);
  await noErrors(page);
  return page.url().split('/').pop();
}

async function issue(page, category) {
  await page.fill('input[name=problem_0]', '户籍窗口工作人员脱岗');
  await page.fill('textarea[name=requirement_0]', '建立AB岗和离岗登记制度');
  await page.fill('input[name=category_0]', category);
  await page.fill('input[name=responsible_leader]', '王所长');
  await page.fill('input[name=responsible_person]', '李警官');
  await Promise.all([page.waitForURL(/\/sheets\//), page.click('#sheet-form button[type=submit]')]);
  await noErrors(page);
  await fits(page, 'the feedback sheet');
  assert.match(await page.locator('#sheet-number').textContent(), /巡反〔\d{4}〕\d+号/);
}

test('a secret visit becomes an item that is fixed, closed by another verifier, re-checked, and recurs', async () => {
  const category = `脱岗-${Date.now()}`;
  const inspector = await inspectorPhone.newPage();
  await login(inspector, 'inspector01');
  const visit = await recordVisit(inspector, 'secret');
  assert.ok(await inspector.locator('#sealed').isVisible(), 'a secret visit is sealed');
  assert.equal(await inspector.locator('a[href^="/api/v1/visit-files/"]').count(), 1, 'the photo is kept');
  await fits(inspector, 'the visit page');
  await inspector.screenshot({ path: `${SHOTS}supervision-visit-phone.png`, fullPage: true });

  // Until the findings are issued the unit does not know the visit exists.
  const head = await headPhone.newPage();
  await login(head, 'unithead');
  const sealed = await head.goto(`${BASE}/visits/${visit}`);
  assert.equal(sealed.status(), 404);

  await issue(inspector, category);
  await inspector.screenshot({ path: `${SHOTS}supervision-sheet-phone.png`, fullPage: true });
  const sheetUrl = inspector.url();
  const itemHref = await inspector.locator('a.item-link').first().getAttribute('href');

  // The unit head signs for the sheet and works the item on a phone.
  await head.goto(sheetUrl);
  await Promise.all([head.waitForLoadState('load'), head.click('#sign')]);
  assert.match(await head.locator('#signed').textContent(), /unithead/);
  await head.goto(`${BASE}${itemHref}`);
  await fits(head, 'the item page');
  assert.equal(await head.locator('#item-state').getAttribute('data-state'), 'assigned');
  await act(head, 'acknowledge');
  await act(head, 'submit_final', async (f) => {
    await f.locator('textarea[name=note]').fill('已建立AB岗，离岗登记上墙');
    await f.locator('input[name=file]').setInputFiles({ ...PHOTO, name: 'after.png' });
  });
  assert.equal(await head.locator('#item-state').getAttribute('data-state'), 'reported');
  assert.equal(await head.locator('form.action[data-action="close"]').count(), 0, 'the unit does not close its own item');

  // A different verifier closes it; the re-checks are scheduled.
  const sup = await desk.newPage();
  await login(sup, 'supervisor');
  await sup.goto(`${BASE}${itemHref}`);
  await act(sup, 'close', async (f) => {
    await f.locator('select[name=outcome]').selectOption('implemented');
    await f.locator('textarea[name=note]').fill('现场核实：AB岗已落实');
  });
  assert.equal(await sup.locator('#item-state').getAttribute('data-state'), 'closed');
  const rechecks = await sup.locator('#rechecks li').allTextContents();
  assert.equal(rechecks.length, 2, rechecks.join(' | '));
  const in30 = new Date(Date.now() + 30 * 86400000 + 8 * 3600000).toISOString().slice(0, 10).split('-');
  assert.ok(rechecks[0].startsWith(`${in30[0]}年${in30[1]}月${in30[2]}日`), `the first re-check is due in 30 days: ${rechecks[0]}`);
  assert.match(await sup.locator('li[data-kind=item_closing]').textContent(), /销号〔\d{4}〕\d+号/);

  // A new finding for the same unit and category is flagged as a recurrence.
  await recordVisit(inspector, 'open');
  await issue(inspector, category);
  assert.equal(await inspector.locator('#sheet .error').count(), 1, 'the sheet marks the recurrence');
  await Promise.all([inspector.waitForURL(/\/items\//), inspector.locator('a.item-link').first().click()]);
  assert.ok(await inspector.locator('#recurrence').isVisible());
  assert.match(await inspector.locator('#recurrence a').getAttribute('href'), new RegExp(itemHref));
  await fits(inspector, 'the recurring item');
  await inspector.screenshot({ path: `${SHOTS}supervision-recurrence-phone.png`, fullPage: true });
});

test('every supervision page fits a 390 px phone, with the demo ledger in it', async () => {
  const [inspectorAgain, headAgain] = [await launchPhone(), await launchPhone()];
  after(async () => {
    await inspectorAgain.close();
    await headAgain.close();
  });
  const page = await inspectorAgain.newPage();
  await login(page, 'inspector01');
  const paths = ['/supervision', '/plans', '/items', '/items?colour=red', '/meetings', `/data-requests?unit=${UNIT}`,
    '/supervision/dashboard', '/supervision/bulletin', '/visits/new'];
  for (const path of paths) {
    const r = await page.goto(`${BASE}${path}`);
    assert.equal(r.status(), 200, path);
    await fits(page, path);
  }
  // The ledger is not empty: the demo's four months are there, in several colours.
  assert.ok(Number((await page.goto(`${BASE}/items`), await page.locator('#items-total').textContent()).match(/\d+/)[0]) > 50);
  await page.goto(`${BASE}/plans`);
  const plan = await page.locator('a[href^="/plans/"]').first().getAttribute('href');
  await page.goto(`${BASE}${plan}`);
  await fits(page, 'a plan');
  const meeting = await (await page.goto(`${BASE}/meetings`), page.locator('a[href^="/meetings/"]').first().getAttribute('href'));
  await page.goto(`${BASE}${meeting}`);
  await fits(page, 'a meeting');
  await page.goto(`${BASE}/supervision/dashboard`);
  await page.screenshot({ path: `${SHOTS}supervision-dashboard-phone.png`, fullPage: true });
  // The unit head on a phone: its items and the bulletin.
  const head = await headAgain.newPage();
  await login(head, 'unithead');
  for (const path of ['/supervision', '/items', '/supervision/bulletin']) {
    await head.goto(`${BASE}${path}`);
    await fits(head, `${path} (unit head)`);
  }
});
