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

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'pingyi-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    locale: 'zh-CN',
    acceptDownloads: true,
  });
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
