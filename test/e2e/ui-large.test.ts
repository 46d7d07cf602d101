/**
 * The details view of a 100,000-row experiment in a real browser: it opens
 * on the first page, and scrolling to the middle or the end fetches those
 * pages alone (a handful of requests, not a thousand), filters run on the
 * server, and the page never holds more than the rows on screen.
 *
 * The rows are seeded as bench/rows.ts does: the dataset and the model's
 * outputs through the API, one observation per row and metric straight in
 * SQL (2% of exact_match failed), since what is tested is reading them.
 */
import { jest } from '@jest/globals';
import type { Browser } from 'puppeteer-core';
import { startApi, type TestApi } from '../support/api.js';
import { launchBrowser, openPage, screenshot, seriousViolations, view, type UiPage } from './ui-browser.js';
import { seedLargeExperiment } from '../../bench/large-experiment.js';

jest.setTimeout(300_000);

const ROWS = 100_000;

let api: TestApi;
let browser: Browser;
let id: number;

beforeAll(async () => {
  api = await startApi();
  id = await seedLargeExperiment({ post: (path, body) => api.call('POST', path, { body }), sql: (text, params) => api.pool.query(text, params) }, 'large', ROWS);
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

/** The row numbers shown (the # column), in order. */
const shownLines = (ui: UiPage) => ui.page.$$eval('.rows-row [role="cell"]:first-child .linkish', (els) => els.map((e) => Number(e.textContent)));
const rowsRequests = (ui: UiPage) => ui.requested.filter((u) => u.includes(`/v1/experiment/${id}/rows`));

async function scrollTo(ui: UiPage, fraction: number): Promise<void> {
  await ui.page.$eval(
    '.rows-scroller',
    (el, f) => {
      const s = el as any;
      s.scrollTop = (s.scrollHeight - s.clientHeight) * f;
    },
    fraction,
  );
}

describe('the details view of a 100,000-row experiment', () => {
  it('opens on the first rows and fetches only the pages scrolled to, to the middle and to the last row', async () => {
    const ui = await openPage(browser, `${api.url}/`);
    await view(ui, `#/experiment/${id}/details`, '.rows-row .linkish').catch(async (err) => {
      throw new Error(`${err.message}; ${JSON.stringify(ui.errors)}; ${await ui.page.$eval('main', (e) => e.textContent)}`);
    });
    expect(await ui.page.$eval('[data-testid="rows-total"]', (e) => e.textContent)).toBe('100,000 rows');
    expect((await shownLines(ui)).slice(0, 3)).toEqual([0, 1, 2]);
    // The table holds the rows on screen, not 100,000 of them.
    expect(await ui.page.$$eval('.rows-row', (els) => els.length)).toBeLessThan(60);
    expect(await seriousViolations(ui.page)).toEqual([]);
    await screenshot(ui.page, 'large-details');

    await scrollTo(ui, 0.5);
    await ui.page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('.rows-row [role="cell"]:first-child .linkish')].some((e: any) => Math.abs(Number(e.textContent) - 50_000) < 100));
    await scrollTo(ui, 1);
    await ui.page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('.rows-row [role="cell"]:first-child .linkish')].some((e: any) => e.textContent === '99999'));
    expect(await ui.page.$$eval('.rows-row', (els) => els.length)).toBeLessThan(60);
    // A page of 100 rows each time: the first, one or two around the middle, one or two at the end.
    expect(rowsRequests(ui).length).toBeLessThanOrEqual(8);
    expect(ui.errors).toEqual([]);
    await ui.page.close();
  });

  it('filters the 100,000 rows to the 2,000 failed ones and sorts them by a metric on the server', async () => {
    const ui = await openPage(browser, `${api.url}/`);
    await view(ui, `#/experiment/${id}/details?failed=true`, '.rows-row .linkish');
    expect(await ui.page.$eval('[data-testid="rows-total"]', (e) => e.textContent)).toBe('2,000 rows');
    expect((await shownLines(ui)).slice(0, 3)).toEqual([0, 50, 100]);
    expect(await ui.page.$eval('.rows-row.failed', (e) => e.textContent)).toContain('judge unreachable');

    await view(ui, `#/experiment/${id}/details?sort=output_length&order=desc`, '.rows-row .linkish');
    await ui.page.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid="rows-total"]')?.textContent === '100,000 rows');
    await ui.page.waitForFunction(() => (globalThis as any).document.querySelector('.rows-row [role="cell"]:first-child .linkish')?.textContent !== '0');
    // output_length is 2 + num_line % 7: the best first, 8, on rows 6, 13, 20...
    const first = await shownLines(ui);
    expect(first.slice(0, 3).every((n) => n % 7 === 6)).toBe(true);
    expect(ui.errors).toEqual([]);
    await ui.page.close();
  });

  it('previews the first rows of its 100,000-row dataset, one page of them', async () => {
    const ui = await openPage(browser, `${api.url}/`);
    const dataset = (await api.call('GET', '/v1/dataset?name=large')).body;
    await view(ui, `#/datasets?id=${dataset.id}`, '[data-testid="dataset-preview"]');
    expect(await ui.page.$eval('[data-testid="dataset-preview"] caption', (e) => e.textContent)).toBe('The first 20 of 100,000 rows');
    expect(await ui.page.$$eval('[data-testid="dataset-preview"] tbody tr', (els) => els.length)).toBe(20);
    expect(ui.requested.filter((u) => u.includes('with_df'))).toEqual([]);
    expect(ui.errors).toEqual([]);
    await ui.page.close();
  });
});
