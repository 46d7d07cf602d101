/**
 * `npm run bench`: fan-out of a large bring-your-own-outputs experiment.
 * How fast its row tasks are enqueued, with one runner and with three, and
 * how long after the launch answers the first one is scored: the first must
 * not wait for the rest, whatever the size (target: under 2 s).
 *
 * Its own stack; the dataset and the experiment (its outputs given) are
 * posted through the API. Each launch is measured from its POST until every
 * chunk of the fan-out is marked sent (fanout_chunk, migration 011), then the
 * experiment is stopped and the queue purged: what is measured is enqueueing,
 * not scoring. BENCH_FANOUT_ROWS sets the size (default 1,000,000).
 */
import { performance } from 'node:perf_hooks';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { BenchError, createDataset, expectStatus } from './api.js';
import { startRunner, type RunnerProc } from './pipeline-runner.js';
import { say, sec } from './print.js';
import { runBench } from './stack.js';

const ROWS = Number(process.env.BENCH_FANOUT_ROWS ?? 1_000_000);
/** The runner's default (EVALAP_FANOUT_CHUNK). */
const CHUNK = 500;
const FIRST_TARGET_MS = 2000;

runBench({ name: 'fanout', db: 'pool', env: { EVALAP_MAX_BODY_BYTES: String(64 * 1024 * 1024) } }, async (bench) => {
  // The stack's own database and SQS client (its core, the API's) serve the bench's reads and purges.
  const { api, core } = bench;
  say(`fan-out: ${ROWS.toLocaleString('en')} rows, bring-your-own outputs, chunks of ${CHUNK}`);
  const dataset = await createDataset(api, 'fanout', ROWS, (i) => ({ query: `question ${i}`, output_true: `answer ${i}` }));
  say(`  dataset uploaded in ${dataset.seconds.toFixed(1)} s`);
  const output = Array.from({ length: ROWS }, (_, i) => `answer ${i}`);
  const chunks = Math.ceil(ROWS / CHUNK);
  for (const count of [1, 3]) {
    const runners: RunnerProc[] = [];
    for (let i = 0; i < count; i++) runners.push(await startRunner({ ...bench.runnerEnv(), MAX_CONCURRENT_TASKS: '8' }));
    try {
      const launchedAt = performance.now();
      const res = await api.call('POST', '/v1/experiment', { name: `fanout-${count}`, dataset: 'fanout', model: { aliased_name: 'mine', output }, metrics: ['exact_match'] });
      expectStatus('POST /v1/experiment', res);
      const postMs = performance.now() - launchedAt;
      const id = res.body.id as number;
      let firstMs: number | undefined;
      let doneMs: number | undefined;
      for (;;) {
        const now = performance.now() - launchedAt;
        if (now > 30 * 60_000) throw new BenchError(`the fan-out of experiment ${id} did not finish within 30 minutes`);
        const { rows } = await core.db.query<{ sent: number; scored: boolean }>(
          `SELECT (SELECT count(*)::int FROM fanout_chunk WHERE experiment_id = $1 AND sent) AS sent,
                  EXISTS (SELECT 1 FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1) AS scored`,
          [id],
        );
        if (firstMs === undefined && rows[0].scored) firstMs = now;
        if (rows[0].sent >= chunks) {
          doneMs = now;
          if (firstMs !== undefined) break;
        }
        await new Promise((r) => setTimeout(r, firstMs === undefined ? 20 : 200));
      }
      const rate = ROWS / ((doneMs - postMs) / 1000);
      say(`  ${count} runner${count > 1 ? 's' : ' '}: launch (POST) ${sec(postMs)}, all ${chunks} chunks enqueued after ${sec(doneMs)}: ${Math.round(rate).toLocaleString('en')} tasks/s`);
      // From the launch's answer (a bring-your-own launch stores every output in its POST, which grows with the size).
      const first = firstMs - postMs;
      say(`            first row scored ${Math.round(first)} ms after the launch answered: ratio ${(first / FIRST_TARGET_MS).toFixed(2)} to the target (≤ ${FIRST_TARGET_MS} ms) ${first <= FIRST_TARGET_MS ? 'met' : 'MISSED'}`);
      expectStatus('POST /v1/stop/experiment', await api.call('POST', `/v1/stop/experiment/${id}`));
    } finally {
      await Promise.all(runners.map((r) => r.stop()));
      await core.sqs.send(new PurgeQueueCommand({ QueueUrl: core.queueUrl }));
    }
  }
});
