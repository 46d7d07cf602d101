/**
 * The group committer (runner/committer.ts) against the real PostgreSQL and
 * SQS servers of the test run: when a batch goes (at once, after the
 * gathering wait, when full, on idle()), what follows a commit (follow-ups
 * sent, then done) and what follows a failure (every item of the batch
 * handed back, nothing sent). Time is a manual clock, so "not yet" is exact.
 * Database failures are real (a server that is not there) except the
 * deadlock codes, which are injected: PostgreSQL picks its deadlock victim
 * itself, so no test can choose one.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import { createLogger } from '../../core/logger.js';
import type { TaskInput } from '../../core/queue.js';
import { createPool } from '../../core/store/pool.js';
import { Committer, GATHER_MS, MAX_BATCH, type CommitItem, type CommitterOptions } from '../../runner/committer.js';
import { makeDf, sqsClient, startApi, type TestApi } from '../support/api.js';
import { ManualClock, settle } from '../support/manual-clock.js';

let api: TestApi;
/** A pool on a port where no server listens: every commit through it fails to connect. */
let deadPool: pg.Pool;
beforeAll(async () => {
  api = await startApi();
  deadPool = createPool('postgresql://nobody:x@127.0.0.1:1/none', 1);
});
afterAll(async () => {
  await deadPool.end();
  await api.close();
});

let n = 0;
/** A launched experiment on `rows` rows with one metric; no runner drains its queue here. */
async function experiment(rows: number): Promise<{ id: number; resultId: number }> {
  const name = `committer-${++n}`;
  expect((await api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await api.call('POST', '/v1/experiment', { body: { name, dataset: name, model: { name: 'm', base_url: 'http://127.0.0.1:9' }, metrics: ['exact_match'] } });
  expect(res.status).toBe(200);
  const { rows: results } = await api.pool.query<{ id: number }>('SELECT id FROM result WHERE experiment_id = $1', [res.body.id]);
  await api.purge();
  return { id: res.body.id, resultId: results[0].id };
}

/**
 * The test's database as the committer sees it: each commit is recorded (its
 * number of answers) and goes to `target`, after `gate` opens, or fails with
 * the next of `inject` first.
 */
function watchedPool() {
  const watch = {
    target: api.pool,
    commits: [] as number[],
    inject: [] as Error[],
    gate: Promise.resolve(),
    events: [] as string[],
  };
  const pool = {
    query: async (sql: string, params: unknown[]) => {
      watch.commits.push(JSON.parse(params[0] as string).length);
      await watch.gate;
      const fault = watch.inject.shift();
      if (fault) throw fault;
      const out = await watch.target.query(sql, params);
      watch.events.push('commit');
      return out;
    },
  } as unknown as pg.Pool;
  return { watch, pool };
}

interface Tracked {
  item: CommitItem;
  settled: Promise<string>;
}

/** An item answering row `line`, whose settled promise says how it ended ('done', 'failed: …', 'rejected: …'). */
function answerItem(experimentId: number, line: number, over: { followUps?: TaskInput[]; tokens?: number; events?: string[] } = {}): Tracked {
  let end!: (how: string) => void;
  const settled = new Promise<string>((resolve) => (end = resolve));
  const item: CommitItem = {
    answers: [{ experiment_id: experimentId, num_line: line, answer: `a${line}`, nb_tokens_prompt: over.tokens ?? 1, error_msg: null, num_try: 1 }],
    observations: [],
    followUps: over.followUps ?? [],
    done: () => {
      over.events?.push(`done ${line}`);
      end('done');
    },
    failed: (err) => end(`failed: ${err.message}`),
    rejected: (err) => end(`rejected: ${err.message}`),
  };
  return { item, settled };
}

function committer(pool: pg.Pool, over: Partial<CommitterOptions> = {}): { committer: Committer; clock: ManualClock; logs: Record<string, unknown>[] } {
  const clock = new ManualClock();
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line)) });
  const c = new Committer({ pool, sqs: sqsClient(), queueUrl: api.queueUrl, logger, onSkipped: () => undefined, moreComing: () => true, clock, ...over });
  return { committer: c, clock, logs };
}

async function storedLines(experimentId: number): Promise<number[]> {
  const { rows } = await api.pool.query<{ num_line: number }>('SELECT num_line FROM answer WHERE experiment_id = $1 ORDER BY num_line', [experimentId]);
  return rows.map((r) => r.num_line);
}

describe('Committer', () => {
  it('commits an outcome at once when no other task is running', async () => {
    const { id } = await experiment(1);
    const { watch, pool } = watchedPool();
    const { committer: c, clock } = committer(pool, { moreComing: () => false });
    const a = answerItem(id, 0);
    c.add(a.item);
    expect(clock.timers).toBe(0);
    expect(await a.settled).toBe('done');
    expect(watch.commits).toEqual([1]);
    expect(await storedLines(id)).toEqual([0]);
  });

  it('waits GATHER_MS for more outcomes while tasks run, then commits them in one transaction', async () => {
    const { id } = await experiment(3);
    const { watch, pool } = watchedPool();
    const { committer: c, clock } = committer(pool);
    const items = [0, 1, 2].map((line) => answerItem(id, line));
    for (const i of items) c.add(i.item);
    await clock.advance(GATHER_MS - 1);
    expect(watch.commits).toEqual([]);
    expect(c.size).toBe(3);
    await clock.advance(1);
    expect(await Promise.all(items.map((i) => i.settled))).toEqual(['done', 'done', 'done']);
    expect(watch.commits).toEqual([3]);
    expect(await storedLines(id)).toEqual([0, 1, 2]);
  });

  it('commits MAX_BATCH outcomes without waiting, and what comes beyond in the next transaction', async () => {
    const { id } = await experiment(MAX_BATCH + 1);
    const { watch, pool } = watchedPool();
    const { committer: c } = committer(pool);
    const items = Array.from({ length: MAX_BATCH + 1 }, (_, line) => answerItem(id, line));
    for (const i of items) c.add(i.item);
    // The clock never moves: only a full batch can have started the commit.
    expect(new Set(await Promise.all(items.map((i) => i.settled)))).toEqual(new Set(['done']));
    expect(watch.commits).toEqual([MAX_BATCH, 1]);
    expect((await storedLines(id)).length).toBe(MAX_BATCH + 1);
  });

  it('gathers the outcomes that arrive during a commit into the next one, without a wait', async () => {
    const { id } = await experiment(4);
    const { watch, pool } = watchedPool();
    let open!: () => void;
    watch.gate = new Promise((resolve) => (open = resolve));
    const { committer: c, clock } = committer(pool, { moreComing: () => false });
    const items = [0, 1, 2, 3].map((line) => answerItem(id, line));
    c.add(items[0].item);
    await settle();
    for (const i of items.slice(1)) c.add(i.item);
    expect(clock.timers).toBe(0);
    open();
    expect(await Promise.all(items.map((i) => i.settled))).toEqual(['done', 'done', 'done', 'done']);
    expect(watch.commits).toEqual([1, 3]);
  });

  it('reports done in the order outcomes were added', async () => {
    const { id } = await experiment(5);
    const { pool } = watchedPool();
    const { committer: c } = committer(pool);
    const events: string[] = [];
    const items = [0, 1, 2, 3, 4].map((line) => answerItem(id, line, { events }));
    for (const i of items) c.add(i.item);
    await c.idle();
    expect(events).toEqual(['done 0', 'done 1', 'done 2', 'done 3', 'done 4']);
  });

  it('sends the follow-up tasks only once their outcomes are stored, and reports done only once they are sent', async () => {
    const { id, resultId } = await experiment(2);
    const { watch, pool } = watchedPool();
    const sqs = sqsClient();
    const send = sqs.send.bind(sqs);
    sqs.send = (async (command: Parameters<SQSClient['send']>[0]) => {
      const out = await send(command);
      watch.events.push('sent');
      return out;
    }) as SQSClient['send'];
    const { committer: c } = committer(pool, { sqs, moreComing: () => false });
    const followUp: TaskInput = { type: 'observation', experiment_id: id, result_id: resultId, num_line: 0 };
    const a = answerItem(id, 0, { followUps: [followUp], events: watch.events });
    c.add(a.item);
    expect(await a.settled).toBe('done');
    expect(watch.events).toEqual(['commit', 'sent', 'done 0']);
    expect(await api.messages()).toEqual([followUp]);
  });

  it('hands every item of a batch back as failed, sends none of its follow-ups, and commits the next batch, when the database cannot be reached', async () => {
    const { id, resultId } = await experiment(3);
    const { watch, pool } = watchedPool();
    watch.target = deadPool;
    const { committer: c, clock, logs } = committer(pool);
    const followUp: TaskInput = { type: 'observation', experiment_id: id, result_id: resultId, num_line: 0 };
    const first = [answerItem(id, 0, { followUps: [followUp] }), answerItem(id, 1)];
    for (const i of first) c.add(i.item);
    await clock.advance(GATHER_MS);
    const outcomes = await Promise.all(first.map((i) => i.settled));
    expect(outcomes).toEqual([expect.stringMatching(/^failed: .*ECONNREFUSED/), expect.stringMatching(/^failed: .*ECONNREFUSED/)]);
    expect(logs.filter((l) => l.event === 'commit_failed')).toEqual([expect.objectContaining({ level: 'error', items: 2 })]);
    expect(await api.messages()).toEqual([]);

    watch.target = api.pool;
    const next = answerItem(id, 2);
    c.add(next.item);
    await clock.advance(GATHER_MS);
    expect(await next.settled).toBe('done');
    expect(await storedLines(id)).toEqual([2]);
  });

  it('fails the items whose follow-ups cannot be sent, although their outcomes are stored (redelivery redoes them idempotently)', async () => {
    const { id, resultId } = await experiment(1);
    const { pool } = watchedPool();
    const deadSqs = new SQSClient({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', maxAttempts: 1 });
    const { committer: c } = committer(pool, { sqs: deadSqs, moreComing: () => false });
    const a = answerItem(id, 0, { followUps: [{ type: 'observation', experiment_id: id, result_id: resultId, num_line: 0 }] });
    c.add(a.item);
    expect(await a.settled).toMatch(/^failed: the task queue cannot be reached/);
    expect(await storedLines(id)).toEqual([0]);
  });

  it.each([
    ['a deadlock (40P01)', '40P01'],
    ['a serialization failure (40001)', '40001'],
  ])('commits again when PostgreSQL aborts the transaction for %s', async (_what, code) => {
    const { id } = await experiment(1);
    const { watch, pool } = watchedPool();
    watch.inject = [Object.assign(new Error('deadlock detected'), { code }), Object.assign(new Error('deadlock detected'), { code })];
    const { committer: c } = committer(pool, { moreComing: () => false });
    const a = answerItem(id, 0);
    c.add(a.item);
    expect(await a.settled).toBe('done');
    expect(watch.commits).toEqual([1, 1, 1]);
    expect(await storedLines(id)).toEqual([0]);
  });

  it('gives up on a transaction aborted as a deadlock victim six times running, and hands its items back', async () => {
    const { id } = await experiment(1);
    const { watch, pool } = watchedPool();
    watch.inject = Array.from({ length: 6 }, () => Object.assign(new Error('deadlock detected'), { code: '40P01' }));
    const { committer: c } = committer(pool, { moreComing: () => false });
    const a = answerItem(id, 0);
    c.add(a.item);
    expect(await a.settled).toBe('failed: deadlock detected');
    expect(watch.commits).toHaveLength(6);
    expect(await storedLines(id)).toEqual([]);
  });

  it('rejects only the item whose content the database refuses, sends none of its follow-ups, and stores the rest', async () => {
    const { id, resultId } = await experiment(3);
    const { pool } = watchedPool();
    const { committer: c } = committer(pool);
    const bad = answerItem(id, 1, { tokens: 2 ** 40, followUps: [{ type: 'observation', experiment_id: id, result_id: resultId, num_line: 1 }] });
    const items = [answerItem(id, 0), bad, answerItem(id, 2)];
    for (const i of items) c.add(i.item);
    await c.idle();
    expect(await Promise.all(items.map((i) => i.settled))).toEqual(['done', expect.stringMatching(/^rejected: .*out of range/), 'done']);
    expect(await storedLines(id)).toEqual([0, 2]);
    expect(await api.messages()).toEqual([]);
  });

  it('reports experiments stopped since their tasks were received, stores nothing of theirs, and calls their items done', async () => {
    const stopped = await experiment(1);
    const running = await experiment(1);
    await api.pool.query("UPDATE experiment SET experiment_status = 'stopped' WHERE id = $1", [stopped.id]);
    const { pool } = watchedPool();
    const skipped: number[][] = [];
    const { committer: c } = committer(pool, { onSkipped: (ids) => skipped.push(ids) });
    const items = [answerItem(stopped.id, 0), answerItem(running.id, 0)];
    for (const i of items) c.add(i.item);
    await c.idle();
    expect(await Promise.all(items.map((i) => i.settled))).toEqual(['done', 'done']);
    expect(skipped).toEqual([[stopped.id]]);
    expect(await storedLines(stopped.id)).toEqual([]);
    expect(await storedLines(running.id)).toEqual([0]);
  });

  it('commits what is gathering at once on idle() (shutdown), and resolves once it is stored', async () => {
    const { id } = await experiment(2);
    const { watch, pool } = watchedPool();
    const { committer: c, clock } = committer(pool);
    const items = [answerItem(id, 0), answerItem(id, 1)];
    for (const i of items) c.add(i.item);
    expect(clock.timers).toBe(1);
    await c.idle();
    expect(clock.timers).toBe(0);
    expect(c.size).toBe(0);
    expect(watch.commits).toEqual([2]);
    expect(await storedLines(id)).toEqual([0, 1]);
  });
});
