/**
 * The web interface on an API that needs a key: it asks for one once, says
 * so when the key is refused, sends the accepted key as a bearer token with
 * every request, and keeps it for the tab's session only.
 */
import { jest } from '@jest/globals';
import type { Browser } from 'puppeteer-core';
import { startApi, type TestApi } from '../support/api.js';
import { launchBrowser, openPage, screenshot, seriousViolations } from './ui-browser.js';

jest.setTimeout(60_000);

const KEY = 'ui-auth-user-key-0123456789';
let api: TestApi;
let browser: Browser;
beforeAll(async () => {
  api = await startApi({ EVALAP_API_KEYS: KEY });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

const sessionKey = (page: import('puppeteer-core').Page) => page.evaluate(() => (globalThis as any).sessionStorage.getItem('evalap.apiKey'));

describe('the web interface on an API with keys', () => {
  it('asks for the key once, says when it is refused, then shows the views with it', async () => {
    const ui = await openPage(browser, `${api.url}/`);
    const authorizations: (string | undefined)[] = [];
    ui.page.on('request', (req) => req.url().includes('/v1/') && authorizations.push(req.headers().authorization));
    await ui.page.waitForSelector('[role="dialog"] #api-key');
    // Both of the first view's requests got a 401: one prompt for both.
    expect(await ui.page.$$eval('[role="dialog"]', (els) => els.length)).toBe(1);
    expect(await seriousViolations(ui.page)).toEqual([]);
    await screenshot(ui.page, 'api-key');

    await ui.page.type('#api-key', 'not-the-key');
    await ui.page.click('[role="dialog"] button[type="submit"]');
    await ui.page.waitForSelector('[role="dialog"] [role="alert"]');
    expect(await ui.page.$eval('[role="dialog"] [role="alert"]', (e) => e.textContent)).toContain('refused');

    await ui.page.type('#api-key', KEY);
    await ui.page.click('[role="dialog"] button[type="submit"]');
    await ui.page.waitForSelector('main .empty');
    expect(await ui.page.$('[role="dialog"]')).toBeNull();
    expect(await ui.page.$eval('main .empty', (e) => e.textContent)).toContain('No experiment set yet');
    expect(authorizations).toContain(`Bearer ${KEY}`);
    expect(await sessionKey(ui.page)).toBe(KEY);

    // Kept for the session: another view, and a reload, ask for nothing.
    await ui.page.evaluate(() => ((globalThis as any).location.hash = '#/datasets'));
    await ui.page.waitForSelector('main .empty');
    await ui.page.reload({ waitUntil: 'load' });
    await ui.page.waitForSelector('main h1');
    expect(await ui.page.$('[role="dialog"]')).toBeNull();
    expect(ui.requested.filter((u) => !u.startsWith(`${api.url}/`) && !u.startsWith('data:'))).toEqual([]);
    await ui.page.close();
  });

  it('keeps the key out of storage that outlives the tab session', async () => {
    const ui = await openPage(browser, `${api.url}/`);
    await ui.page.waitForSelector('[role="dialog"] #api-key');
    await ui.page.type('#api-key', KEY);
    await ui.page.click('[role="dialog"] button[type="submit"]');
    await ui.page.waitForSelector('main h1');
    const local = await ui.page.evaluate(() => JSON.stringify({ ...(globalThis as any).localStorage }));
    expect(local).not.toContain(KEY);
    expect(await ui.page.evaluate(() => (globalThis as any).document.cookie)).toBe('');
    await ui.page.close();
  });
});
