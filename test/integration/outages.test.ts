/**
 * Outages of the parts in the middle of a run: PostgreSQL down for 10 s then
 * started again, SQS refusing connections for 10 s, SQS frozen for 10 s. The
 * runner and the API ride them out: the run finishes with every row answered
 * once and every aggregate equal to its rows, the API answers 503 (not 500,
 * not a hang) while what it needs is unreachable, the runner waits for its
 * database instead of churning its messages, logs an SQS outage once, and
 * never exits.
 *
 * These break servers, so they run on servers of their own (own-stack.ts),
 * not on the ones other test files share.
 */
import { jest } from '@jest/globals';
import { createPool, pgTransaction, untilReachable } from '../../core/store/pool.js';
import { makeDf, startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startOwnStack, type OwnStack } from '../support/own-stack.js';
import { expectExactRun, lastLines, startRunner, stopRunners, waitUntil, type RunningRunner } from '../support/runner.js';

jest.setTimeout(150_000);

const ROWS = 300;
/**
 * A visibility that outlasts the outages, and a heartbeat that keeps it: a
 * message is extended once older than the interval, so at worst 2 intervals
 * before an outage, and still has 13 - 2 x 1 = 11 s > 10 s. Not longer: what
 * an outage kept from being deleted comes back only once it lapses.
 */
const RUNNER_ENV = { MAX_CONCURRENT_TASKS: '8', RUNNER_VISIBILITY_TIMEOUT_SEC: '13', RUNNER_HEARTBEAT_INTERVAL_MS: '1000' };
/** Events the runner logs when an SQS call fails; those with an `error` are calls that failed whole (SQS unreachable). */
const SQS_FAILURE_EVENTS = ['receive_failed', 'visibility_batch_failed', 'delete_failed', 'release_failed'];

let own: OwnStack;
let api: TestApi;
let model: StubModelServer;
const runners: RunningRunner[] = [];

const rowOf = (text: string) => Number(/question (\d+)/.exec(text)?.[1]);

beforeAll(async () => {
  own = await startOwnStack();
  api = await startApi({}, undefined, own.servers);
  // Slow enough that a run lasts several seconds (300 rows of two 50 ms calls, 8 at a time): the outage falls in its middle.
  model = await startModelServer({
    latencyMs: 50,
    reply: (body) => {
      const i = rowOf(String(body.messages.at(-1).content));
      // The judge replies with the score alone, as Evalap's judge_notator asks.
      return body.model === 'stub-judge' ? String((i % 10) + 1) : `answer ${i}`;
    },
  });
});
afterAll(async () => {
  await stopRunners(runners);
  await model?.close();
  await api?.close();
  await own?.close();
});
afterEach(async () => {
  await stopRunners(runners);
  await own.heal();
  model.reset();
});

let runs = 0;
/** An experiment on `dataset`: generation, an inline metric and a judge metric (whose tasks go through SQS). */
const experiment = (name: string, dataset: string) => ({
  name,
  dataset,
  model: { name: 'stub', base_url: model.url },
  judge_model: { name: 'stub-judge', base_url: model.url },
  metrics: ['exact_match', 'judge_notator'],
});

/** Launches a run through the API. */
async function launch(): Promise<number> {
  const name = `outage-${++runs}`;
  expect((await api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(ROWS) } })).status).toBe(200);
  const res = await api.call('POST', '/v1/experiment', { body: experiment(name, name) });
  expect(res.status).toBe(200);
  return res.body.id;
}

const experimentCount = async () => (await api.pool.query('SELECT count(*)::int AS n FROM experiment')).rows[0].n as number;

const answered = async (id: number) => (await api.pool.query('SELECT count(*)::int AS n FROM answer WHERE experiment_id = $1', [id])).rows[0].n as number;

/** The runner lived through it all, and still stops cleanly. */
async function expectAliveThenStops(r: RunningRunner): Promise<void> {
  expect(r.proc.exitCode).toBeNull();
  expect(r.proc.signalCode).toBeNull();
  runners.splice(runners.indexOf(r), 1);
  r.kill('SIGTERM');
  expect(await r.exited).toEqual({ code: 0, signal: null });
}

function runner(): RunningRunner {
  const r = startRunner(api, RUNNER_ENV);
  runners.push(r);
  return r;
}

/** Starts a run and waits until a fifth of it is answered: the outage then falls in its middle. */
async function midRun(): Promise<{ id: number; r: RunningRunner }> {
  const r = runner();
  const id = await launch();
  await waitUntil(async () => (await answered(id)) >= ROWS / 5, 60_000, 'a fifth of the rows answered').catch((err: Error) => {
    throw new Error(`${err.message}; the runner's last lines:\n${lastLines(r)}`);
  });
  return { id, r };
}

describe('a connection lost to a PostgreSQL restart', () => {
  it('fails the transaction it was in without ending the process, and the pool is reachable again once PostgreSQL is back', async () => {
    const pool = createPool(api.databaseUrl, 2);
    try {
      const cut = pgTransaction(pool, async (tx) => {
        await tx.query('SELECT 1');
        // Between two statements, as a transaction waiting on its caller: no query is there to take the error.
        await own.stopPostgres();
        await new Promise((resolve) => setTimeout(resolve, 200));
        return tx.query('SELECT 1');
      });
      await expect(cut).rejects.toThrow();
      // What the runner waits on before taking work again: nothing while the server is down.
      let reachable = false;
      const back = untilReachable(pool, 100).then(() => (reachable = true));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(reachable).toBe(false);
      await own.startPostgres();
      await back;
      expect((await pgTransaction(pool, (tx) => tx.query('SELECT 1 AS one'))).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });
});

describe('a run survives an outage of a part', () => {
  it('finishes exactly when PostgreSQL is down for 10 s mid-run, the API answering 503 meanwhile, the runner taking no work until it is back', async () => {
    const { id, r } = await midRun();
    const before = r.logs.length;
    await own.stopPostgres();
    expect(await answered(id).catch(() => 'down')).toBe('down');

    const read = await api.call('GET', `/v1/experiment/${id}`);
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toMatch(/^\d+$/);
    const write = await api.call('POST', '/v1/dataset', { body: { name: 'during-outage', readme: '', df: makeDf(3) } });
    expect(write.status).toBe(503);
    // The runner meets the outage (a batch's preparation fails) and stays up.
    await waitUntil(async () => r.logs.slice(before).some((l) => l.event === 'prepare_failed'), 30_000, 'the runner to meet the outage');
    await new Promise((resolve) => setTimeout(resolve, 10_000));

    await own.startPostgres();
    await waitUntil(async () => (await api.call('GET', `/v1/experiment/${id}`)).status === 200, 30_000, 'the API to serve again');
    expect((await api.call('GET', '/v1/dataset?name=during-outage')).status).toBe(404);
    expect((await api.call('POST', '/v1/dataset', { body: { name: 'after-outage', readme: '', df: makeDf(3) } })).status).toBe(200);

    await expectExactRun(api, id, ROWS, 90_000);
    // The batches in hand when it went down failed, not one per receive for as long as it was down:
    // each such receive brings its messages closer to the dead-letter queue (a minute of that sends them all).
    expect(r.logs.slice(before).filter((l) => l.event === 'prepare_failed').length).toBeLessThan(10);
    await expectAliveThenStops(r);
  });

  it('finishes exactly when SQS refuses connections for 10 s mid-run, the API answering 503 to a launch meanwhile, each kind of failure logged once', async () => {
    const { id, r } = await midRun();
    const before = r.logs.length;
    const experiments = await experimentCount();
    await own.cutSqs();
    // A launch cannot enqueue its fan-out: it is refused whole, nothing written.
    const refused = await api.call('POST', '/v1/experiment', { body: experiment('during-outage', `outage-${runs}`) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    // Answers started before the cut are still stored; their judge tasks and deletes cannot leave.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect(await answered(id)).toBeLessThan(ROWS);
    await own.restoreSqs();

    await expectExactRun(api, id, ROWS, 90_000);
    expect(await experimentCount()).toBe(experiments);
    const lines = r.logs.slice(before);
    const logged = Object.fromEntries(SQS_FAILURE_EVENTS.map((event) => [event, lines.filter((l) => l.event === event && l.error !== undefined).length]));
    expect(logged.receive_failed).toBe(1);
    expect(Math.max(...Object.values(logged))).toBe(1);
    expect(lines.filter((l) => l.event === 'sqs_reachable_again').map((l) => l.after)).toContain('receive_failed');
    await expectAliveThenStops(r);
  });

  it('finishes exactly when the SQS server is frozen for 10 s mid-run', async () => {
    const { id, r } = await midRun();
    own.pauseSqs();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect(await answered(id)).toBeLessThan(ROWS);
    own.resumeSqs();
    await expectExactRun(api, id, ROWS, 90_000);
    await expectAliveThenStops(r);
  });
});
