/**
 * The chaos run: 2,000 rows during which the runner is SIGKILLed 10 times
 * (restarted after each), PostgreSQL is restarted once and the SQS server
 * frozen for 10 s once. It must finish with every row answered once and every
 * aggregate equal to its rows; it reports how many model calls were repeated
 * and how long it took.
 *
 * On servers of its own (own-stack.ts): it breaks them.
 */
import { jest } from '@jest/globals';
import { makeDf, startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startOwnStack, type OwnStack } from '../support/own-stack.js';
import { expectExactRun, lastLines, startRunner, stopRunners, waitUntil, type RunningRunner } from '../support/runner.js';

jest.setTimeout(300_000);

const ROWS = 2000;
/**
 * A killed runner's messages come back after 13 s: the run's last kill leaves
 * it waiting that long for them. Still longer than the frozen SQS lasts past
 * a message's last extension (extended once older than the interval, so at
 * worst 2 intervals before the freeze: 13 - 2 x 1 = 11 s > 10 s), so the
 * freeze alone hands back nothing.
 */
const RUNNER_ENV = { MAX_CONCURRENT_TASKS: '8', RUNNER_VISIBILITY_TIMEOUT_SEC: '13', RUNNER_HEARTBEAT_INTERVAL_MS: '1000' };

type Fault = 'kill' | 'restart PostgreSQL' | 'freeze SQS';
/** What happens once the run has answered each fraction of its rows: spread over the run. */
const SCHEDULE: [number, Fault][] = [
  [0.04, 'kill'],
  [0.1, 'kill'],
  [0.17, 'kill'],
  [0.23, 'restart PostgreSQL'],
  [0.28, 'kill'],
  [0.36, 'kill'],
  [0.43, 'freeze SQS'],
  [0.5, 'kill'],
  [0.58, 'kill'],
  [0.67, 'kill'],
  [0.76, 'kill'],
  [0.86, 'kill'],
];

let own: OwnStack;
let api: TestApi;
let model: StubModelServer;
const runners: RunningRunner[] = [];

beforeAll(async () => {
  own = await startOwnStack();
  api = await startApi({}, undefined, own.servers);
  // 8 calls at a time of 50 ms: the faults fall at counts of rows answered, so a faster run spreads them as well.
  model = await startModelServer({ latencyMs: 50, reply: (body) => String(body.messages.at(-1).content).replace('question', 'answer') });
});
afterAll(async () => {
  await stopRunners(runners);
  await model?.close();
  await api?.close();
  await own?.close();
});

function runner(): RunningRunner {
  const r = startRunner(api, RUNNER_ENV);
  runners.push(r);
  return r;
}

const answered = async (id: number) => (await api.pool.query('SELECT count(*)::int AS n FROM answer WHERE experiment_id = $1', [id])).rows[0].n as number;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('finishes a 2,000-row run exactly through 10 SIGKILLs of the runner, a PostgreSQL restart and a frozen SQS', async () => {
  const started = Date.now();
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'chaos', readme: '', df: makeDf(ROWS) } })).status).toBe(200);
  const created = await api.call('POST', '/v1/experiment', {
    body: { name: 'chaos', dataset: 'chaos', model: { name: 'stub', base_url: model.url }, metrics: ['exact_match', 'contains'] },
  });
  expect(created.status).toBe(200);
  const id: number = created.body.id;
  let current = runner();

  for (const [fraction, fault] of SCHEDULE) {
    // A count, not a clock: a fault falls where the run has got to, however fast the machine is.
    await waitUntil(async () => (await answered(id).catch(() => 0)) >= fraction * ROWS, 120_000, `${fraction * ROWS} rows answered before "${fault}"`).catch((err: Error) => {
      throw new Error(`${err.message}; the runner's last lines:\n${lastLines(current)}`);
    });
    if (fault === 'kill') {
      // It was still running: only our SIGKILL ends it.
      expect(current.proc.exitCode).toBeNull();
      current.kill('SIGKILL');
      expect(await current.exited).toEqual({ code: null, signal: 'SIGKILL' });
      current = runner();
    } else if (fault === 'restart PostgreSQL') {
      await own.stopPostgres();
      await pause(2000);
      await own.startPostgres();
    } else {
      own.pauseSqs();
      await pause(10_000);
      own.resumeSqs();
    }
  }

  await expectExactRun(api, id, ROWS, 180_000);
  expect(current.proc.exitCode).toBeNull();
  expect(current.proc.signalCode).toBeNull();
  console.log(`chaos run: ${ROWS} rows, ${model.requests.length - ROWS} model calls repeated, ${Math.round((Date.now() - started) / 1000)} s`);
});
