/**
 * `npm run bench`: a details view of a 100,000-row experiment stays
 * responsive. GET /v1/experiment/{id}/rows must answer a page of 50 rows
 * in well under a second whatever the page, sort or filter.
 *
 * Starts a throwaway stack, reaching PostgreSQL through the local Data API
 * as the Lambda does, uploads a 100,000-row dataset and an experiment of
 * its own outputs with two metrics, stores one observation per row and
 * metric (2% of them failed) straight in the database (what is measured is
 * reading them, not computing them), then times each kind of page.
 * Prints the figures; exits 0 even when the target is missed, 1 on an error.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { BenchError, expectStatus } from './api.js';
import { seedLargeExperiment } from './large-experiment.js';
import { say } from './print.js';
import { runBench } from './stack.js';

const ROWS = 100_000;
const RUNS = 7;
/** The median time of one page, at most this. */
const TARGET_MS = 500;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

runBench({ name: 'rows', db: 'data-api' }, async (bench) => {
  const { api } = bench;
  say(`seeding ${ROWS.toLocaleString('en')} rows...`);
  const db = new pg.Client({ connectionString: bench.stack.databaseUrl });
  await db.connect();
  let id: number;
  try {
    id = await seedLargeExperiment({ post: (path, body) => api.call('POST', path, body), sql: (text, params) => db.query(text, params) }, 'rows-bench', ROWS);
  } finally {
    await db.end();
  }

  const pages: [string, string][] = [
    ['first page', ''],
    ['page at row 50,000', `cursor=${Buffer.from('at:50000').toString('base64url')}`],
    ['last page', `cursor=${Buffer.from(`at:${ROWS - 50}`).toString('base64url')}`],
    ['sorted by a metric', 'sort=exact_match'],
    ['failed rows', 'failed=true'],
    ['score range', 'metric=output_length&min_score=8'],
    ['text search', 'q=topic%2042'],
  ];
  say('');
  say(`GET /v1/experiment/{id}/rows on ${ROWS.toLocaleString('en')} rows x 2 metrics, limit 50, median of ${RUNS}:`);
  let worst = 0;
  for (const [label, query] of pages) {
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const res = await api.call('GET', `/v1/experiment/${id}/rows?${query}`);
      times.push(performance.now() - started);
      expectStatus(`rows (${label})`, res);
      if (!Array.isArray(res.body.rows) || (res.body.total > 0 && res.body.rows.length === 0)) throw new BenchError(`rows (${label}): an empty page of ${res.body.total}`);
      total = res.body.total;
    }
    const m = median(times);
    worst = Math.max(worst, m);
    say(`  ${label.padEnd(20)} ${m.toFixed(0).padStart(6)} ms   (${total.toLocaleString('en')} rows match)`);
  }
  say('');
  say(`rows page, slowest kind: median ${worst.toFixed(0)} ms, ratio to target ${(worst / TARGET_MS).toFixed(2)} — target ≤ ${TARGET_MS} ms: ${worst <= TARGET_MS ? 'OK' : 'MISSED'}`);
});
