/**
 * What the web interface's browser tests share: Debian's chromium driven by
 * puppeteer-core (no browser download; .ci/run installs it when missing),
 * pages that record every request and every Content-Security-Policy
 * violation, an axe-core accessibility check, and screenshots for the README.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axe from 'axe-core';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const CHROMIUM = '/usr/bin/chromium';
/**
 * Where screenshots go: the README's folder only when asked
 * (UPDATE_SCREENSHOTS=1 npm test -- test/e2e/ui), else a temp folder, so a
 * test run never leaves the committed images modified.
 */
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.resolve('docs/screenshots') : path.join(os.tmpdir(), 'evalap-ui-screenshots');

export function launchBrowser(): Promise<Browser> {
  // As root (CI containers) chromium refuses to start with its sandbox on.
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export interface UiPage {
  page: Page;
  /** Every URL the page requested. */
  requested: string[];
  /** Errors thrown in the page, and console errors. */
  errors: string[];
  violations(): Promise<string[]>;
}

export async function openPage(browser: Browser, url: string, size = { width: 1360, height: 860 }): Promise<UiPage> {
  const page = await browser.newPage();
  await page.setViewport(size);
  const requested: string[] = [];
  const errors: string[] = [];
  page.on('request', (req) => requested.push(req.url()));
  page.on('pageerror', (err) => errors.push(String(err)));
  // The browser's own console line for a failed load names no URL: the response does.
  page.on('console', (msg) => msg.type() === 'error' && !msg.text().startsWith('Failed to load resource') && errors.push(msg.text()));
  page.on('response', (res) => res.status() >= 400 && res.status() !== 401 && errors.push(`${res.status()} ${res.request().method()} ${res.url()}`));
  // Runs in the page (the project's TypeScript has no DOM types: globalThis is the window there).
  await page.evaluateOnNewDocument(() => {
    type Violation = { violatedDirective: string; blockedURI: string };
    const g = globalThis as unknown as { __violations: string[]; document: { addEventListener(type: string, listener: (e: Violation) => void): void } };
    g.__violations = [];
    g.document.addEventListener('securitypolicyviolation', (e) => g.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, requested, errors, violations: () => page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations) };
}

/** Goes to a view by its hash and waits for `selector`. */
export async function view(ui: UiPage, hash: string, selector: string): Promise<void> {
  await ui.page.evaluate((h) => {
    (globalThis as unknown as { location: { hash: string } }).location.hash = h;
  }, hash);
  try {
    await ui.page.waitForSelector(selector, { timeout: 30_000 });
  } catch (err) {
    // What the page shows instead (an error, a spinner) says more than the timeout.
    const shown = await ui.page.$eval('main', (e) => (e.textContent ?? '').trim().slice(0, 500)).catch(() => '(no main element)');
    throw new Error(`${hash}: ${selector} did not appear within 30 s; the page shows: ${shown}`, { cause: err });
  }
}

/** The text of every element matching `selector`. */
export const texts = (page: Page, selector: string) => page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()));

/** axe-core's serious and critical violations on the page as it is now: `rule: target…` lines. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol rather than added as a <script>: the page's CSP refuses inline scripts, as it should.
  await page.evaluate(axe.source);
  const results = await page.evaluate(async () => {
    const run = (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run;
    const r = await run();
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return results.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.targets.slice(0, 3).join(', ')}`);
}

/** Saves what the page shows as <SCREENSHOTS>/<name>.png (docs/screenshots with UPDATE_SCREENSHOTS=1, for the README). */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png`, fullPage: false });
  return file;
}
