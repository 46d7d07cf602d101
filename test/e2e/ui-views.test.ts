/**
 * Every view of the web interface in a real browser, on data made by real
 * runs: a schedule's two ticks launch the same grid (two temperatures, each
 * repeated twice) against the stub model, whose answers get worse between
 * the ticks, so the sets, their scores, rows, failures, comparison,
 * leaderboard and schedule history are what users would see. Each view is
 * checked for what it must show, for serious accessibility violations
 * (axe-core), for requests to another origin, and is saved as a screenshot
 * for the README (docs/screenshots/).
 */
import { jest } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { tick } from '../../core/schedules/tick.js';
import { stringParquet } from '../evalap-compat/parquet.js';
import { lastLines, runnerFixtures, waitUntil } from '../support/runner.js';
import { launchBrowser, openPage, screenshot, seriousViolations, texts, view, type UiPage } from './ui-browser.js';
import { wilsonInterval } from '../../core/stats.js';

jest.setTimeout(180_000);

const fx = runnerFixtures();
const ROWS = 20;
const lineOf = (body: any) => Number(/question (\d+)/.exec(JSON.stringify(body.messages))![1]);

let browser: Browser;
let setA: number;
let setB: number;
let scheduleId: number;

async function tickAndFinish(day: number): Promise<number> {
  const run = await tick(fx.api.core, scheduleId, new Date(Date.UTC(2026, 0, day, 3)));
  expect(run.status).toBe('launched');
  const id = run.experiment_set_id!;
  await waitUntil(async () => (await fx.api.call('GET', `/v1/experiment_set/${id}`)).body.status === 'finished', 90_000, `set ${id} to finish`);
  return id;
}

beforeAll(async () => {
  const df = JSON.stringify(Array.from({ length: ROWS }, (_, i) => ({ query: `question ${i}: the capital?`, output_true: `answer ${i}` })));
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name: 'capitals-ui', readme: 'Twenty questions.', df } })).status).toBe(200);
  const created = await fx.api.call('POST', '/v1/schedule', {
    body: {
      name: 'nightly',
      cron: '0 3 * * *',
      template: {
        cv: {
          common_params: { dataset: 'capitals-ui', model: { name: 'gen', base_url: fx.model.url }, metrics: ['exact_match', 'levenshtein_ratio', 'output_length'] },
          grid_params: { model: [{ sampling_params: { temperature: 0 } }, { sampling_params: { temperature: 1 } }] },
          repeat: 2,
        },
      },
    },
  });
  expect(created.status).toBe(200);
  scheduleId = created.body.id;
  fx.runner();
  // Night 1: temperature 0 gets two rows in three right, temperature 1 every other row; row 3 is refused (a 400, not retried).
  fx.model.setBehaviour({
    script: (_, body) => (lineOf(body) === 3 ? '400' : 'ok'),
    reply: (body) => {
      const i = lineOf(body);
      const right = body.temperature === 0 ? i % 3 !== 0 : i % 2 === 0;
      return right ? `answer ${i}` : `something else ${i}`;
    },
  });
  setA = await tickAndFinish(1);
  // Night 2: temperature 0 gets only row 0 right: a regression.
  fx.model.setBehaviour({
    script: (_, body) => (lineOf(body) === 3 ? '400' : 'ok'),
    reply: (body) => {
      const i = lineOf(body);
      const right = body.temperature === 0 ? i === 0 : i % 2 === 0;
      return right ? `answer ${i}` : `something else ${i}`;
    },
  });
  setB = await tickAndFinish(2);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
});

let ui: UiPage;
beforeEach(async () => {
  ui = await openPage(browser, `${fx.api.url}/`);
});
afterEach(async () => {
  // What every view must never do: load from another origin, be refused by the page's policy, throw.
  expect(ui.requested.filter((u) => !u.startsWith(`${fx.api.url}/`) && !u.startsWith('data:') && !u.startsWith('blob:'))).toEqual([]);
  expect(await ui.violations()).toEqual([]);
  expect(ui.errors).toEqual([]);
  await ui.page.close();
});

const checkAccessible = async () => expect(await seriousViolations(ui.page)).toEqual([]);

describe('the web interface', () => {
  it('lists the experiment sets with their status, progress and failure rate, and a retry button where rows failed', async () => {
    await view(ui, '#/', '[data-testid="sets-table"]');
    const rows = await texts(ui.page, '[data-testid="sets-table"] tbody tr');
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toContain('finished');
      expect(row).toContain('100.0%');
      expect(row).toContain('Retry');
    }
    // Row 3 was refused in each experiment: its answer and its 3 scores failed, 4 of 80 answers and scores.
    expect(await texts(ui.page, '[data-testid="sets-table"] td.warn')).toEqual(['5.0%', '5.0%']);
    await checkAccessible();
    await screenshot(ui.page, 'sets');
  });

  it('shows a set\'s scores per variant labelled by its temperature, repeats pooled with their CI and the std between runs, the best highlighted, with a metric picker kept in the URL', async () => {
    await view(ui, `#/set/${setA}/scores`, '[data-testid="scores-table"]');
    const heads = await texts(ui.page, '[data-testid="scores-table"] tbody th');
    expect(heads).toEqual(['temperature=0', 'temperature=1']);
    const cells = await texts(ui.page, '[data-testid="scores-table"] tbody td');
    expect(cells.every((c) => c.includes('2 runs, ± 0 between runs'))).toBe(true);
    // Repeats pool their rows for the CI: exact_match is 0/1, so it is the Wilson interval of the pooled rows, as the API's.
    const [mean, lo, hi] = /^([\d.]+).*\[([\d.]+), ([\d.]+)\]/.exec(cells[0])!.slice(1).map(Number);
    const pooled = 2 * (ROWS - 1);
    const [wlo, whi] = wilsonInterval(Math.round(mean * pooled), pooled);
    expect([lo, hi]).toEqual([Number(wlo.toFixed(3)), Number(whi.toFixed(3))]);
    // Row 3 has no score: support is shown.
    expect(cells[0]).toContain(`n = ${2 * (ROWS - 1)}/${2 * ROWS}`);
    // exact_match: temperature 0 has 12 rows right, temperature 1 has 9 (row 3's failure aside): the first is best.
    const best = await ui.page.$$eval('[data-testid="scores-table"] td.best', (els) => els.map((e) => (e.closest('tr')!.querySelector('th')!.textContent ?? '') + ':' + e.cellIndex));
    expect(best).toContain('temperature=0:1');
    await checkAccessible();
    await screenshot(ui.page, 'set-scores');

    const levenshtein = await ui.page.waitForSelector('xpath/.//label[contains(., "levenshtein_ratio")]/input');
    await levenshtein!.click();
    await ui.page.waitForFunction(() => (globalThis as any).location.hash.includes('metrics=exact_match%2Coutput_length'));
    expect(await texts(ui.page, '[data-testid="scores-table"] thead th')).toEqual([expect.stringContaining('Model'), expect.stringContaining('exact_match'), expect.stringContaining('output_length')]);
    // The choice is in the URL: a reload keeps it.
    await ui.page.reload({ waitUntil: 'load' });
    await ui.page.waitForSelector('[data-testid="scores-table"]');
    expect(await ui.page.$$eval('[data-testid="scores-table"] thead th', (els) => els.length)).toBe(3);
  });

  it('shows each experiment of a set with its status, counters, model and the parameters that tell it apart', async () => {
    await view(ui, `#/set/${setA}/overview`, '[data-testid="overview-table"]');
    const rows = await texts(ui.page, '[data-testid="overview-table"] tbody tr');
    expect(rows).toHaveLength(4);
    expect(rows[0]).toContain('temperature=0 #1');
    expect(rows[0]).toContain(`${ROWS - 1} / ${ROWS} / ${ROWS}`);
    expect(rows[0]).toContain('temperature=0');
    expect(rows.filter((r) => r.includes('temperature=1 #2'))).toHaveLength(1);
    expect(await ui.page.$eval('main', (e) => e.textContent)).toContain('Parameters that differ: temperature');
    await checkAccessible();
    await screenshot(ui.page, 'set-overview');
  });

  it('shows one line per row with its answer, scores and explanations, filters failed rows, sorts by a metric, searches, and opens a row whole', async () => {
    await view(ui, `#/set/${setA}/details`, '[data-testid="rows-total"]');
    await ui.page.waitForSelector('[role="cell"] .linkish');
    expect(await ui.page.$eval('[data-testid="rows-total"]', (e) => e.textContent)).toBe(`${ROWS} rows`);
    const headers = await texts(ui.page, '[role="columnheader"]');
    expect(headers).toEqual(expect.arrayContaining(['Query', 'Expected output', 'Answer', 'Reasoning', 'Error', 'Context', 'Retrieval context', 'exact_match', 'exact_match: explanation']));
    expect(await ui.page.$eval('.why', (e) => e.textContent)).toMatch(/answers: 1 row.*400/s);
    await checkAccessible();
    await screenshot(ui.page, 'set-details');

    await (await ui.page.waitForSelector('xpath/.//label[contains(., "Failed rows only")]/input'))!.click();
    await ui.page.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid="rows-total"]')?.textContent === '1 row');
    await ui.page.waitForSelector('.rows-row.failed');
    expect(await ui.page.$eval('.rows-row.failed', (e) => e.textContent)).toMatch(/question 3.*400/s);

    await (await ui.page.$('xpath/.//label[contains(., "Failed rows only")]/input'))!.click();
    await ui.page.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid="rows-total"]')?.textContent === '20 rows');
    // A metric's column header sorts by it.
    await ui.page.click('[role="columnheader"] button[aria-label^="exact_match:"]');
    await ui.page.waitForFunction(() => (globalThis as any).location.hash.includes('sort=exact_match'));
    expect(await ui.page.$eval('xpath/.//label[contains(., "Sort by")]/select', (e: any) => e.value)).toBe('exact_match');
    await ui.page.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid="rows-total"]')?.textContent === '20 rows');
    // Worst first: the first row shown got exact_match 0.
    await ui.page.waitForSelector('[role="rowgroup"] + [role="rowgroup"] [role="row"] [role="cell"]');
    const firstScore = await ui.page.$$eval('[role="rowgroup"]:nth-of-type(2) [role="row"]', (rows) => rows.map((r) => r.textContent ?? ''));
    expect(firstScore[0]).toContain('something else');

    await ui.page.type('input[type="search"]', 'question 1');
    await ui.page.click('.filters button[type="submit"]');
    // question 1, question 10..19.
    await ui.page.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid="rows-total"]')?.textContent === '11 rows');

    await ui.page.waitForSelector('[role="cell"] .linkish');
    await ui.page.click('[role="cell"] .linkish');
    const detail = await ui.page.waitForSelector('.row-detail');
    expect(await detail!.evaluate((e) => e.textContent)).toMatch(/answer\.answer.*Scores.*exact_match/s);
  });

  it('charts each metric as bars with CI whiskers on its own scale, and its score distribution', async () => {
    await view(ui, `#/set/${setA}/charts`, '.chart-pair canvas');
    await ui.page.waitForFunction(() => (globalThis as any).document.querySelectorAll('.chart-pair canvas').length === 6);
    const labels = await ui.page.$$eval('.chart-pair canvas', (els) => els.map((e) => e.getAttribute('aria-label')));
    expect(labels).toEqual(expect.arrayContaining(['Mean exact_match per variant with 95% confidence intervals', 'Distribution of exact_match scores per variant']));
    // Something was drawn: a canvas with nothing on it is one colour.
    const drawn = await ui.page.$$eval('.chart-pair canvas', (els) => els.map((c: any) => new Set(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).size > 2));
    expect(drawn.every(Boolean)).toBe(true);
    await checkAccessible();
    await screenshot(ui.page, 'set-charts');
  });

  it('gives the set as a YAML run file, as curl and as Python requests, each launching the same grid', async () => {
    await view(ui, `#/set/${setA}/code`, '.snippet pre');
    const [yaml, curl, python] = await texts(ui.page, '.snippet pre');
    expect(yaml).toMatch(/^# evalap run/);
    expect(yaml).toContain('grid_params:');
    expect(yaml).toContain('temperature: 1');
    expect(curl).toContain(`curl -X POST ${fx.api.url}/v1/experiment_set`);
    expect(JSON.parse(/-d '([\s\S]*)'$/.exec(curl)![1]).cv.repeat).toBe(2);
    expect(python).toContain('requests.post(f"{API}/experiment_set", json=body');
    expect(python).not.toMatch(/\btrue\b|\bnull\b/);
    await checkAccessible();
    await screenshot(ui.page, 'set-code');
  });

  it('compares two runs per model and metric with the paired difference, its CI and the regression, and shows the rows whose score changed side by side', async () => {
    await view(ui, `#/compare?a=${setA}&b=${setB}`, '[data-testid="compare-table"]');
    const rows = await texts(ui.page, '[data-testid="compare-table"] tbody tr');
    expect(rows).toHaveLength(12);
    const regressions = await texts(ui.page, '[data-testid="compare-table"] tbody tr.regression');
    // Both runs of temperature 0 regressed on exact_match and levenshtein_ratio; the lines are named by variant, not by the model both share.
    expect(regressions).toHaveLength(4);
    expect(regressions[0]).toMatch(/^temperature=0 #1exact_match19/);
    await ui.page.click('[data-testid="compare-table"] tbody tr.regression button');
    await ui.page.waitForSelector('[data-testid="changed-rows"]');
    const changed = await texts(ui.page, '[data-testid="changed-rows"] tbody tr');
    // Temperature 0: row 0 got right on the second night; every other row it had right (not a multiple of 3; row 3 failed both nights) got wrong.
    expect(changed).toHaveLength(14);
    expect(changed[0]).toBe('0question 0: the capital?something else 00answer 01');
    expect(changed[1]).toBe('1question 1: the capital?answer 11something else 10');
    await checkAccessible();
    await screenshot(ui.page, 'compare');
  });

  it('ranks experiments on one metric at a time with their CI, support and cost', async () => {
    await view(ui, '#/leaderboard?metric=exact_match', '[data-testid="leaderboard-table"]');
    const rows = await texts(ui.page, '[data-testid="leaderboard-table"] tbody tr');
    expect(rows).toHaveLength(8);
    expect(await ui.page.$eval('[data-testid="leaderboard-table"] caption', (e) => e.textContent)).toContain('exact_match alone');
    // The metrics offered are those the experiments used, each on its own board.
    expect(await texts(ui.page, '#leaderboard-metric option')).toEqual(['exact_match', 'levenshtein_ratio', 'output_length']);
    expect(await ui.page.$('main .empty')).toBeNull();
    const means = await ui.page.$$eval('[data-testid="leaderboard-table"] tbody tr td:nth-child(5)', (els) => els.map((e) => Number(e.textContent)));
    expect(means).toEqual([...means].sort((a, b) => b - a));
    // Cost: the stub model "gen" is in no price table and its definition gives no prices, so it is unknown, with the reason on hover, never $0.
    expect(await texts(ui.page, '[data-testid="leaderboard-table"] thead th')).toContain('Cost (USD)');
    const costs = await ui.page.$$eval('[data-testid="leaderboard-table"] tbody tr td:nth-child(9)', (els) => els.map((e) => [e.textContent, e.getAttribute('title')]));
    expect(costs).toHaveLength(8);
    for (const [text, title] of costs) {
      expect(text).toBe('—');
      expect(title).toMatch(/no price for "gen"/);
    }
    await checkAccessible();
    await screenshot(ui.page, 'leaderboard');
  });

  it('lists datasets, previews the first rows of one, uploads a CSV as a new dataset and attaches a Parquet file to one', async () => {
    await view(ui, '#/datasets', '[data-testid="datasets-table"]');
    await ui.page.click('[data-testid="datasets-table"] a');
    await ui.page.waitForSelector('[data-testid="dataset-preview"]');
    expect(await ui.page.$$eval('[data-testid="dataset-preview"] tbody tr', (els) => els.length)).toBe(ROWS);
    await checkAccessible();
    await screenshot(ui.page, 'datasets');

    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ui-upload-')), 'towns.csv');
    fs.writeFileSync(file, 'query,output_true\nBiggest town?,Paris\nSmallest town?,Rochefourchat\n');
    const input = await ui.page.$('#upload-file');
    await (input as any).uploadFile(file);
    await ui.page.click('form.upload button[type="submit"]');
    await ui.page.waitForSelector('.notice');
    expect(await ui.page.$eval('.notice', (e) => e.textContent)).toBe('Uploaded: towns (2 rows)');
    const listed = await fx.api.call('GET', '/v1/datasets');
    expect(listed.body.map((d: { name: string }) => d.name)).toContain('towns');

    // A Parquet file is attached to a dataset (Evalap's upload_parquet).
    const parquet = path.join(path.dirname(file), 'towns.parquet');
    fs.writeFileSync(parquet, stringParquet({ query: ['Biggest town?', 'Smallest town?', 'Oldest town?'], output_true: ['Paris', 'Rochefourchat', 'Marseille'] }));
    await ((await ui.page.$('#upload-file')) as any).uploadFile(parquet);
    const townsId = String(listed.body.find((d: { name: string }) => d.name === 'towns').id);
    // The page lists the new dataset once its list is fetched again: on a busy machine, after the file is chosen.
    await ui.page.waitForSelector(`#upload-target option[value="${townsId}"]`);
    await ui.page.select('#upload-target', townsId);
    await ui.page.click('form.upload button[type="submit"]');
    // The outcome, either way: an error fails here with its text, not with a timeout.
    await ui.page.waitForFunction(() => (globalThis as any).document.querySelector('.error') || (globalThis as any).document.querySelector('.notice')?.textContent.startsWith('Parquet'));
    expect(await ui.page.$eval('.notice, .error', (e) => e.textContent)).toBe('Parquet file attached to towns (3 rows)');
    expect((await fx.api.call('GET', `/v1/dataset/${townsId}`)).body).toMatchObject({ parquet_size: 3, parquet_columns: ['query', 'output_true'] });
  });

  it('lists the metrics grouped by type with what each requires and its scale', async () => {
    await view(ui, '#/metrics', '[data-metric="exact_match"]');
    const groups = await texts(ui.page, 'main section > h2');
    expect(groups.some((g) => g.startsWith('deterministic'))).toBe(true);
    expect(groups.some((g) => g.startsWith('llm'))).toBe(true);
    const card = await ui.page.$eval('[data-metric="exact_match"]', (e) => e.textContent);
    expect(card).toMatch(/Requires:.*output.*output_true/s);
    expect(card).toContain('higher is better');
    await checkAccessible();
    await screenshot(ui.page, 'metrics');
  });

  it('shows a schedule\'s next run and the history of its scores with the regression marked', async () => {
    await view(ui, '#/schedules', '[data-testid="schedules-table"]');
    expect(await texts(ui.page, '[data-testid="schedules-table"] tbody tr')).toEqual([expect.stringMatching(/nightly.*0 3 \* \* \*/)]);
    await ui.page.click('[data-testid="schedules-table"] a');
    await ui.page.waitForSelector('[data-testid="schedule-runs"]');
    await ui.page.waitForSelector('canvas');
    const runs = await texts(ui.page, '[data-testid="schedule-runs"] tbody tr');
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatch(new RegExp(`launched.*set #${setB}.*[1-9]\\d* regression\\(s\\)`));
    expect(await texts(ui.page, '[data-testid="regressions"] li')).toEqual([expect.stringMatching(/temperature=0 #1 exact_match 0\.684 → 0\.053/), expect.stringMatching(/temperature=0 #1 levenshtein_ratio/), expect.stringMatching(/temperature=0 #2 exact_match 0\.684 → 0\.053/), expect.stringMatching(/temperature=0 #2 levenshtein_ratio/)]);
    await checkAccessible();
    await screenshot(ui.page, 'schedules');
  });

  it('launches an evaluation of outputs the user pastes, and opens its set', async () => {
    await view(ui, '#/launch', '#launch-dataset');
    await ui.page.type('#launch-name', 'pasted-outputs');
    await ui.page.select('#launch-dataset', 'capitals-ui');
    await ui.page.click('xpath/.//label[contains(., "outputs I already have")]/input');
    await ui.page.type('#model-alias', 'by-hand');
    await ui.page.$eval(
      '#model-outputs',
      (el, text) => {
        const area = el as any;
        area.value = text;
        area.dispatchEvent(new (globalThis as any).Event('input', { bubbles: true }));
      },
      Array.from({ length: ROWS }, (_, i) => `answer ${i}`).join('\n'),
    );
    await ui.page.click('xpath/.//label[contains(., "exact_match")]/input');
    await checkAccessible();
    await screenshot(ui.page, 'launch');
    // runnerFixtures stops each test's runners after it: this test starts its own.
    fx.runner();
    await ui.page.click('form button[type="submit"]');
    await ui.page.waitForFunction(() => /#\/set\/\d+\/overview/.test((globalThis as any).location.hash));
    await ui.page.waitForSelector('[data-testid="overview-table"]');
    expect(await ui.page.$eval('h1', (e) => e.textContent)).toContain('pasted-outputs');
    const setId = Number(/set\/(\d+)/.exec(await ui.page.evaluate(() => (globalThis as any).location.hash))![1]);
    let last: unknown;
    const set = await waitUntil(async () => {
      const res = await fx.api.call('GET', `/v1/experiments?set_id=${setId}`);
      last = res.body;
      return res.body[0]?.experiment_status === 'finished' ? res.body[0] : undefined;
    }, 60_000, 'the launched experiment to finish').catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
    expect(set.results[0]).toMatchObject({ metric_name: 'exact_match', summary: { mean: 1 } });
  });
  it('shows a running set\'s progress live, stops it, then offers to retry it and retries it', async () => {
    // Rows 0-17 are answered after 5 s each, a few at a time, so the work moves for a while after the page
    // opens whatever order the rows come in; rows 18 and 19 are never answered: the set runs until stopped.
    // (With half the rows hanging, those taken first could fill every slot and the run stall before the page opened.)
    fx.model.setBehaviour({ latencyMs: 5000, script: (_, body) => (lineOf(body) >= 18 ? 'timeout' : 'ok') });
    // Its calls that never end would hold its shutdown after the test until stopRunners kills it 10 s later: the stop under test is the set's, not the runner's.
    const runner = fx.runner({ RUNNER_SHUTDOWN_GRACE_MS: '0' });
    const created = await fx.api.call('POST', '/v1/experiment_set', {
      body: { name: 'slow-set', experiments: [{ name: 'slow', dataset: 'capitals-ui', model: { name: 'gen', base_url: fx.model.url }, metrics: ['exact_match'] }] },
    });
    expect(created.status).toBe(200);
    const row = `[data-set-id="${created.body.id}"]`;
    await ui.page.reload({ waitUntil: 'load' });
    await ui.page.waitForSelector(`${row} button[aria-label="Stop slow-set"]`);
    const progress = () => ui.page.$eval(`${row} .progress`, (e) => e.textContent);
    const before = await progress();
    // The work done while the page is open shows without a reload. (Which rows come first is the
    // queue's order: a hanging row may hold a slot before a quick one, so no exact figure is assumed.)
    const shown = await waitUntil(async () => ((p) => (p !== before && p !== '0.0%' ? p : undefined))(await progress()), 60_000, 'the list to show the progress made since it opened').catch(async (err: Error) => {
      // What the API and the runner say tells a page that did not refresh from a run that did not move.
      const set = (await fx.api.call('GET', `/v1/experiment_set/${created.body.id}`)).body;
      const counters = set.experiments.map((e: any) => ({ status: e.experiment_status, num_try: e.num_try, obs: e.num_observation_try }));
      throw new Error(`${err.message}; the list shows ${await progress()} (${before} when opened); the API: ${JSON.stringify(counters)}; model calls: ${fx.model.requests.length}; the runner's last lines:\n${lastLines(runner)}`);
    });
    expect(Number.parseFloat(shown!)).toBeGreaterThan(Number.parseFloat(before ?? '0') || 0);
    await ui.page.click(`${row} button[aria-label="Stop slow-set"]`);
    await ui.page.waitForSelector(`${row} .status-stopped`);
    expect((await fx.api.call('GET', `/v1/experiment_set/${created.body.id}`)).body.status).toBe('stopped');
    await ui.page.click(`${row} button[aria-label="Retry the failed rows of slow-set"]`);
    // Reopened: the list polls it again while it runs.
    await ui.page.waitForSelector(`${row} button[aria-label="Stop slow-set"]`);
    expect((await fx.api.call('GET', `/v1/experiment_set/${created.body.id}`)).body.status).not.toBe('stopped');
    await ui.page.click(`${row} button[aria-label="Stop slow-set"]`);
    await ui.page.waitForSelector(`${row} .status-stopped`);
    // The set's page says why its experiment stopped.
    await view(ui, `#/set/${created.body.id}/overview`, '.status-stopped');
    expect(await ui.page.$eval('main', (e) => e.textContent)).toContain('stopped by request');
  });
});
