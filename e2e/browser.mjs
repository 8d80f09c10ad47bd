// Shared set-up for the browser tests: Debian's Chromium, launched headless with the flags
// this machine needs (no background networking), a fresh profile per browser.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BASE = process.env.PINGYI_URL ?? 'http://127.0.0.1:8080';
export const PASSWORD = 'pingyi-demo';
export const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

// Every browser runs with the server's Content-Security-Policy on. A page that breaks it (an
// inline script, a style attribute) logs a console error; closing the browser then fails the
// test with the violations it saw.
export async function launch(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'pingyi-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    locale: 'zh-CN',
    acceptDownloads: true,
    ...options,
  });
  const violations = [];
  const watch = (page) => page.on('console', (msg) => {
    if (/Content.Security.Policy/i.test(msg.text())) violations.push(`${page.url()}: ${msg.text()}`);
  });
  context.pages().forEach(watch);
  context.on('page', watch);
  const close = context.close.bind(context);
  context.close = async () => {
    await close();
    if (violations.length > 0) throw new Error(`Content-Security-Policy violations:\n${violations.join('\n')}`);
  };
  context.cspViolations = violations;
  return context;
}

// A phone: small touch screen, and JavaScript off to prove the pages work without it.
export function launchPhone() {
  return launch({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    javaScriptEnabled: false,
    userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0',
  });
}

// Logs in through the JSON API and returns fetch options carrying the session.
export async function apiSession(username) {
  const r = await fetch(`${BASE}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token } = await r.json();
  return { headers: { cookie, 'x-csrf-token': csrf_token } };
}

export async function login(page, username) {
  await page.goto(`${BASE}/login`);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${BASE}/`), page.click('button[type=submit]')]);
}

export async function logout(page) {
  await Promise.all([page.waitForURL(/\/login$/), page.locator('form[action="/logout"] button').click()]);
}
