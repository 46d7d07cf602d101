/**
 * `npm run bench`: launching an experiment must cost the same on a
 * 100,000-row dataset as on a 10-row one (POST /v1/experiment enqueues one
 * fan-out task; the runner enqueues the row tasks later).
 *
 * Starts a throwaway stack (embedded PostgreSQL + fauxqs) in a temp folder,
 * serves the real API handler over real HTTP, uploads a 10-row and a
 * 100,000-row dataset, then times POST /v1/experiment against each,
 * interleaved. Prints the figures; exits 0 even when the target is missed
 * (a benchmark reports), 1 on an actual error.
 */
import { performance } from 'node:perf_hooks';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BenchError, CHUNK_ROWS, createDataset, expectStatus, type Api } from './api.js';
import { say } from './print.js';
import { runBench } from './stack.js';

const SMALL_ROWS = 10;
const LARGE_ROWS = 100_000;
const WARMUP = 5;
const RUNS = 30;
/** "Same within noise": median(100k) / median(10) at most this. */
const TARGET_RATIO = 1.5;



let launches = 0;

/** One POST /v1/experiment; returns its wall time in ms. */
async function launch(api: Api, dataset: string, size: number): Promise<number> {
  const body = {
    name: `bench-${++launches}`,
    dataset,
    model: { name: 'm', base_url: 'http://127.0.0.1:9/v1' },
    metrics: ['exact_match'],
  };
  const started = performance.now();
  const res = await api.call('POST', '/v1/experiment', body);
  const ms = performance.now() - started;
  expectStatus(`POST /v1/experiment on ${dataset}`, res);
  if (res.body?.experiment_status !== 'pending') {
    throw new BenchError(`POST /v1/experiment on ${dataset}: expected experiment_status "pending", got ${JSON.stringify(res.body?.experiment_status)}`);
  }
  if (res.body?.num_total !== undefined && res.body.num_total !== size) {
    throw new BenchError(`POST /v1/experiment on ${dataset}: num_total is ${res.body.num_total}, expected ${size}`);
  }
  return ms;
}

function quantile(sorted: number[], q: number): number {
  // Nearest rank.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function summary(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { median, p90: quantile(sorted, 0.9), min: sorted[0], max: sorted[sorted.length - 1] };
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function queued(sqs: SQSClient, queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

// A private stack: the environment's servers, keys and limits are not this bench's. The API on the
// Data API, as the API Lambda reaches Aurora in AWS.
runBench({ name: 'bench', db: 'data-api' }, async (bench, t0) => {
  const { api, stack } = bench;
  const sqs = bench.core.sqs;
  say(`stack up in ${((performance.now() - t0) / 1000).toFixed(1)} s (API ${bench.url}, data in ${bench.dataDir})`);

  const small = 'bench-10';
  const large = 'bench-100k';
  const row = (i: number) => ({ query: `question ${i} ...`, output_true: `answer ${i}` });
  await createDataset(api, small, SMALL_ROWS, row);
  const up = await createDataset(api, large, LARGE_ROWS, row);
  say(
    `upload ${LARGE_ROWS.toLocaleString('en')} rows: ${up.seconds.toFixed(2)} s ` +
      `(${Math.round(LARGE_ROWS / up.seconds).toLocaleString('en')} rows/s, ${Math.ceil(LARGE_ROWS / CHUNK_ROWS)} requests of ${CHUNK_ROWS.toLocaleString('en')} rows)`,
  );

  // What one launch puts on the queue (nothing consumes it: no runner here).
  const enqueued: Record<string, number> = {};
  for (const [name, size] of [[small, SMALL_ROWS], [large, LARGE_ROWS]] as const) {
    const before = await queued(sqs, stack.queueUrl);
    await launch(api, name, size);
    enqueued[name] = (await queued(sqs, stack.queueUrl)) - before;
  }

  for (let i = 0; i < WARMUP; i++) {
    await launch(api, small, SMALL_ROWS);
    await launch(api, large, LARGE_ROWS);
  }
  const times: Record<string, number[]> = { [small]: [], [large]: [] };
  for (let i = 0; i < RUNS; i++) {
    times[small].push(await launch(api, small, SMALL_ROWS));
    times[large].push(await launch(api, large, LARGE_ROWS));
  }

  const s = summary(times[small]);
  const l = summary(times[large]);
  const ratio = l.median / s.median;
  say('');
  say(`POST /v1/experiment, ${RUNS} launches per size after ${WARMUP} warm-up pairs, interleaved:`);
  say(`  dataset       median      p90      min      max   SQS messages/launch`);
  for (const [label, r, name] of [['10 rows', s, small], ['100k rows', l, large]] as const) {
    say(`  ${label.padEnd(10)} ${fmt(r.median).padStart(9)} ${fmt(r.p90).padStart(8)} ${fmt(r.min).padStart(8)} ${fmt(r.max).padStart(8)}   ${enqueued[name]}`);
  }
  say('');
  say(
    `launch 100k rows: median ${fmt(l.median)} (10 rows: ${fmt(s.median)}) ratio ${ratio.toFixed(2)} — target ≤ ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? 'OK' : 'MISSED'}`,
  );
  const oneTask = enqueued[small] === 1 && enqueued[large] === 1;
  say(`SQS messages per launch: 10 rows ${enqueued[small]}, 100k rows ${enqueued[large]} — target 1 (one fan-out task): ${oneTask ? 'OK' : 'MISSED'}`);
});

