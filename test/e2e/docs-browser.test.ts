/**
 * The documentation pages in a real browser (Debian's chromium, driven by
 * puppeteer-core; .ci/run installs it when missing), served by the local
 * API: Swagger UI and Redoc render the API's operations from what the API
 * serves alone, with no request to another origin and nothing refused by
 * the pages' Content-Security-Policy. Screenshots: /tmp/docs.png, /tmp/redoc.png.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startApi, type TestApi } from '../support/api.js';

const CHROMIUM = '/usr/bin/chromium';

let api: TestApi;
let browser: Browser;
beforeAll(async () => {
  api = await startApi({ EVALAP_API_KEYS: 'docs-browser-user-key' });
  // As root (CI containers) chromium refuses to start with its sandbox on.
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

interface Visit {
  page: Page;
  /** Every URL the page requested. */
  requested: string[];
  /** What the Content-Security-Policy refused (a load from another origin would be one). */
  violations: () => Promise<string[]>;
}

async function visit(path: string): Promise<Visit> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const requested: string[] = [];
  page.on('request', (req) => requested.push(req.url()));
  // Runs in the page (the project's TypeScript has no DOM types: globalThis is the window there).
  await page.evaluateOnNewDocument(() => {
    type Violation = { violatedDirective: string; blockedURI: string };
    const g = globalThis as unknown as { __violations: string[]; document: { addEventListener(type: string, listener: (e: Violation) => void): void } };
    g.__violations = [];
    g.document.addEventListener('securitypolicyviolation', (e) => g.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const res = await page.goto(api.url + path, { waitUntil: 'load' });
  expect(res?.status()).toBe(200);
  return { page, requested, violations: () => page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations) };
}

const sameOrigin = (url: string) => url.startsWith(`${api.url}/`) || url.startsWith('data:') || url.startsWith('blob:');

describe('the documentation pages in a browser', () => {
  it('Swagger UI at /docs lists the API operations, /v1/experiment among them, loading nothing from another origin', async () => {
    const { page, requested, violations } = await visit('/docs');
    // Swagger UI marks each operation's path with data-path (its visible text carries word-break characters).
    await page.waitForSelector('.opblock-summary-path[data-path="/v1/experiment"]', { timeout: 20_000 });
    const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path')));
    expect(paths).toEqual(expect.arrayContaining(['/v1/experiment', '/v1/experiments', '/v1/dataset', '/v1/metrics']));
    await page.screenshot({ path: '/tmp/docs.png', fullPage: false });
    expect(requested.filter((u) => !sameOrigin(u))).toEqual([]);
    expect(requested).toContain(`${api.url}/openapi.json`);
    expect(await violations()).toEqual([]);
    await page.close();
  }, 60_000);

  it('Redoc at /redoc renders the API operations, /v1/experiment among them, loading nothing from another origin', async () => {
    const { page, requested, violations } = await visit('/redoc');
    // Operations without an operationId get the JSON pointer of their path and method as section id.
    await page.waitForSelector('[data-section-id="/paths/~1v1~1experiment/post"]', { timeout: 20_000 });
    const sections = await page.$$eval('[data-section-id^="/paths/"]', (els) => els.map((e) => e.getAttribute('data-section-id')));
    expect(sections).toEqual(expect.arrayContaining(['/paths/~1v1~1experiments/get', '/paths/~1v1~1dataset/post', '/paths/~1v1~1metrics/get']));
    expect(await page.$eval('[data-section-id="/paths/~1v1~1experiment/post"]', (e) => e.textContent)).toContain('/v1/experiment');
    await page.screenshot({ path: '/tmp/redoc.png', fullPage: false });
    expect(requested.filter((u) => !sameOrigin(u))).toEqual([]);
    expect(requested).toContain(`${api.url}/openapi.json`);
    expect(await violations()).toEqual([]);
    await page.close();
  }, 60_000);
});
