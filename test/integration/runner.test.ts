import path from 'node:path';
import { jest } from '@jest/globals';
import { makeDf, startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, stopRunners, terminal, waitUntil, type RunningRunner } from '../support/runner.js';

jest.setTimeout(90_000);

const CRASHING_RUNNER = path.resolve('test/support/crashing-runner.mjs');

let api: TestApi;
let model: StubModelServer;
const runners: RunningRunner[] = [];

beforeAll(async () => {
  api = await startApi();
  model = await startModelServer();
});
afterAll(async () => {
  await model.close();
  await api.close();
});
afterEach(async () => {
  // A failed test must not leave its runner working on the next test's queue.
  await stopRunners(runners);
  model.setBehaviour({});
  model.reset();
});

function runner(env: Record<string, string> = {}): RunningRunner {
  const r = startRunner(api, env);
  runners.push(r);
  return r;
}

let datasetCount = 0;
async function launch(rows: number, over: Record<string, unknown> = {}) {
  const name = `ds-${++datasetCount}`;
  expect((await api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await api.call('POST', '/v1/experiment', {
    body: { name: `exp-${datasetCount}`, dataset: name, model: { name: 'stub', base_url: model.url, api_key: 'sk-stub-key-123456' }, metrics: ['exact_match', 'contains'], ...over },
  });
  expect(res.status).toBe(200);
  return res.body.id as number;
}

const finished = (id: number, timeoutMs?: number) => terminal(api, id, timeoutMs);

async function counts(id: number) {
  const q = (sql: string) => api.pool.query(sql, [id]).then((r) => r.rows[0].n as number);
  return {
    answers: await q('SELECT count(*)::int AS n FROM answer WHERE experiment_id = $1'),
    observations: await q('SELECT count(*)::int AS n FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1'),
  };
}

describe('the runner', () => {
  it('runs an experiment with generation and two metrics to finished, storing everything once with exact counters', async () => {
    model.setBehaviour({ reply: (body) => String(body.messages.at(-1).content).replace('question', 'answer') });
    const r = runner({ MAX_CONCURRENT_TASKS: '4' });
    const id = await launch(20);
    const exp = await finished(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_total: 20, num_try: 20, num_success: 20, num_observation_try: 40, num_observation_success: 40 });
    for (const result of exp.results) {
      expect(result).toMatchObject({ metric_status: 'finished', num_try: 20, num_success: 20, summary: { mean: 1, support: 20 } });
    }
    expect(await counts(id)).toEqual({ answers: 20, observations: 40 });
    expect(model.requests).toHaveLength(20);
    expect(model.requests.every((q) => q.authorization === 'Bearer sk-stub-key-123456')).toBe(true);
    r.kill('SIGTERM');
    expect(await r.exited).toEqual({ code: 0, signal: null });
  });

  it('changes nothing when the same messages are delivered again', async () => {
    const r = runner();
    const id = await launch(10);
    const before = await finished(id);
    const calls = model.requests.length;
    // Deletes leave in batches (up to 100 ms after a task is done): the run's last messages may still be queued.
    await waitUntil(async () => (await api.footprint()).queued === 0, 20_000, 'the run\'s messages to be deleted');
    const footprint = await api.footprint();
    // Every task of the run, delivered a second time, plus the launch's fan-out.
    const again = Array.from({ length: 10 }, (_, num_line) => ({ type: 'answer' as const, experiment_id: id, num_line }));
    const { enqueue } = await import('../../core/queue.js');
    await enqueue(api.core.sqs, api.queueUrl, [...again, ...again, { type: 'fanout' as const, experiment_id: id, stage: 'answers' as const, from: 0 }]);
    await waitUntil(async () => (await api.footprint()).queued === 0, 20_000, 'the queue to drain');
    await new Promise((res) => setTimeout(res, 300));
    expect(await api.footprint()).toEqual(footprint);
    const after = await api.call('GET', `/v1/experiment/${id}?with_results=true`);
    expect(after.body).toEqual(before);
    expect(model.requests.length).toBe(calls);
    r.kill();
    await r.exited;
  });

  it('loses nothing and doubles nothing when killed with -9 mid-run, once a new runner takes over', async () => {
    model.setBehaviour({ latencyMs: 150 });
    const env = { MAX_CONCURRENT_TASKS: '4', RUNNER_VISIBILITY_TIMEOUT_SEC: '5', RUNNER_HEARTBEAT_INTERVAL_MS: '1000' };
    const first = runner(env);
    const id = await launch(40);
    await waitUntil(async () => (await counts(id)).answers >= 8, 20_000, 'some answers');
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const partial = (await counts(id)).answers;
    expect(partial).toBeLessThan(40);
    const second = runner(env);
    const exp = await finished(id, 60_000);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_try: 40, num_success: 40, num_observation_try: 80 });
    expect(await counts(id)).toEqual({ answers: 40, observations: 80 });
    for (const result of exp.results) expect(result).toMatchObject({ num_try: 40, num_success: 40, summary: { support: 40 } });
    second.kill();
    expect((await second.exited).code).toBe(0);
  });

  it('rides out a 429 storm: the run finishes with few 429s, and once a refusal confirms the pace, no request reaches the model before its Retry-After', async () => {
    model.setBehaviour({ maxRequestsPerSecond: 5, retryAfterSeconds: 1 });
    const r = runner({ MAX_CONCURRENT_TASKS: '8', RUNNER_MAX_ATTEMPTS: '20', LOG_LEVEL: 'debug' });
    const id = await launch(25);
    const exp = await finished(id, 60_000);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_success: 25 });
    const throttled = model.requests.filter((q) => q.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    // The pace learned from the first refusals keeps most requests from being refused again.
    expect(throttled.length).toBeLessThan(25);
    const at = (l: Record<string, any>) => Date.parse(l.time);
    const refusals = r.logs.filter((l) => l.event === 'model_throttled');
    expect(refusals.length).toBeGreaterThan(0);
    for (const b of refusals) expect(b.retry_after_ms).toBe(1000);
    // A first refusal blocks nothing but itself; a refusal of a request sent under the learned pace
    // confirms it was not enough, and from then the runner sends that model nothing until the Retry-After has passed.
    const blocks = refusals.filter((b) => b.blocked_until > at(b));
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.length).toBeLessThan(refusals.length);
    const sends = r.logs.filter((l) => l.event === 'task_dispatched');
    for (const b of blocks) {
      expect(sends.filter((s) => at(s) > at(b) && at(s) < b.blocked_until).map((s) => at(s) - at(b))).toEqual([]);
      // Seen from the model: past the time a request already on its way takes to arrive, none comes inside the block.
      expect(model.requests.filter((q) => q.at > at(b) + 300 && q.at < b.blocked_until - 50).map((q) => q.at - at(b))).toEqual([]);
    }
    expect(r.logs.some((l) => l.event === 'model_limit_changed')).toBe(true);
    r.kill();
    await r.exited;
  });

  it('replaces a worker thread that dies and retries its task', async () => {
    // Its worker threads die on the first attempt of the row whose query is 'question 3' (row 3).
    const r = startRunner(api, { MAX_CONCURRENT_TASKS: '4', RUNNER_WORKER_THREADS: '2' }, { argv: [process.execPath, CRASHING_RUNNER] });
    runners.push(r);
    const id = await launch(10);
    const exp = await finished(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_try: 10, num_success: 10 });
    expect(r.logs.some((l) => l.event === 'worker_exited')).toBe(true);
    const { rows } = await api.pool.query('SELECT answer, error_msg, num_try FROM answer WHERE experiment_id = $1 AND num_line = 3', [id]);
    expect(rows[0]).toMatchObject({ error_msg: null, num_try: 2 });
    expect(await counts(id)).toEqual({ answers: 10, observations: 20 });
    r.kill();
    expect((await r.exited).code).toBe(0);
  });

  it('stops within its grace period on SIGTERM, and the next runner picks the rest up at once', async () => {
    model.setBehaviour({ latencyMs: 1500 });
    const env = { MAX_CONCURRENT_TASKS: '4', RUNNER_SHUTDOWN_GRACE_MS: '3000', RUNNER_VISIBILITY_TIMEOUT_SEC: '60' };
    const first = runner(env);
    const id = await launch(30);
    await waitUntil(async () => model.requests.length >= 4, 20_000, 'requests in flight');
    const stoppedAt = Date.now();
    first.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(3000 + 1000 + 2000);
    expect(first.logs.some((l) => l.event === 'runner_stopped')).toBe(true);
    // The messages it held were handed back: a new runner finishes long before a 60 s visibility timeout.
    model.setBehaviour({ latencyMs: 10 });
    const restartedAt = Date.now();
    const second = runner(env);
    await finished(id, 40_000);
    expect(Date.now() - restartedAt).toBeLessThan(30_000);
    expect(await counts(id)).toEqual({ answers: 30, observations: 60 });
    second.kill();
    await second.exited;
  });

  it('moves a poison message to the dead-letter queue with its reason and keeps working', async () => {
    const { SendMessageCommand, ReceiveMessageCommand } = await import('@aws-sdk/client-sqs');
    await api.core.sqs.send(new SendMessageCommand({ QueueUrl: api.queueUrl, MessageBody: 'this is not json {' }));
    await api.core.sqs.send(new SendMessageCommand({ QueueUrl: api.queueUrl, MessageBody: JSON.stringify({ type: 'answer', experiment_id: 'x' }) }));
    const r = runner();
    const id = await launch(5);
    expect((await finished(id)).num_success).toBe(5);
    const dead = await waitUntil(async () => {
      const out = await api.core.sqs.send(new ReceiveMessageCommand({ QueueUrl: api.dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }));
      return (out.Messages?.length ?? 0) >= 2 ? out.Messages : undefined;
    }, 20_000, 'two messages in the DLQ');
    const reasons = dead!.map((m) => m.MessageAttributes?.reason?.StringValue).sort();
    expect(reasons[0]).toMatch(/^not JSON/);
    expect(reasons[1]).toMatch(/^not a task: experiment_id/);
    expect(r.logs.filter((l) => l.event === 'message_dead_lettered')).toHaveLength(2);
    r.kill();
    await r.exited;
  });

  it('drops the queued tasks of a stopped experiment set', async () => {
    model.setBehaviour({ latencyMs: 300 });
    await api.call('POST', '/v1/dataset', { body: { name: 'stop-ds', readme: '', df: makeDf(30) } });
    const set = await api.call('POST', '/v1/experiment_set', { body: { name: 'to-stop', readme: '', experiments: [{ name: 's', dataset: 'stop-ds', model: { name: 'stub', base_url: model.url }, metrics: ['exact_match'] }] } });
    const id = set.body.experiments[0].id;
    const r = runner({ MAX_CONCURRENT_TASKS: '2' });
    await waitUntil(async () => (await counts(id)).answers >= 2, 20_000, 'some answers');
    expect((await api.call('POST', `/v1/stop/experiment_set/${set.body.id}`)).body.status).toBe('stopped');
    await waitUntil(async () => (await api.footprint()).queued === 0, 30_000, 'the queue to drain');
    const calls = model.requests.length;
    const answers = (await counts(id)).answers;
    expect(answers).toBeLessThan(30);
    expect(calls).toBeLessThan(30);
    const exp = await api.call('GET', `/v1/experiment/${id}`);
    expect(exp.body.experiment_status).toBe('stopped');
    r.kill();
    await r.exited;
  });

  it('retries only the failed rows of a set', async () => {
    // Rows whose query ends in 7 fail for good (a 400), the rest succeed.
    model.setBehaviour({ script: (_i, body) => (String(body.messages.at(-1).content).endsWith('7') ? '400' : 'ok') });
    await api.call('POST', '/v1/dataset', { body: { name: 'retry-ds', readme: '', df: makeDf(20) } });
    const set = await api.call('POST', '/v1/experiment_set', { body: { name: 'to-retry', readme: '', experiments: [{ name: 'r', dataset: 'retry-ds', model: { name: 'stub', base_url: model.url }, metrics: ['output_length'] }] } });
    const id = set.body.experiments[0].id;
    const r = runner();
    const first = await finished(id);
    expect(first).toMatchObject({ experiment_status: 'finished', num_try: 20, num_success: 18, num_observation_try: 20, num_observation_success: 18 });
    const { rows } = await api.pool.query('SELECT error_msg FROM answer WHERE experiment_id = $1 AND num_line = 7', [id]);
    expect(rows[0].error_msg).toMatch(/400/);
    model.setBehaviour({});
    model.reset();
    const retry = await api.call('POST', `/v1/retry/experiment_set/${set.body.id}`);
    expect(retry.body.experiment_ids).toEqual([id]);
    await waitUntil(async () => (await api.call('GET', `/v1/experiment/${id}`)).body.num_success === 20, 20_000, 'the retry');
    const second = await finished(id);
    expect(second).toMatchObject({ experiment_status: 'finished', num_try: 20, num_success: 20, num_observation_try: 20, num_observation_success: 20 });
    expect(model.requests).toHaveLength(2);
    r.kill();
    await r.exited;
  });

  it('keeps a slow task invisible past the visibility timeout with its heartbeat: no second model call', async () => {
    model.setBehaviour({ latencyMs: 8000 });
    const r = runner({ RUNNER_VISIBILITY_TIMEOUT_SEC: '5', RUNNER_HEARTBEAT_INTERVAL_MS: '1000', RUNNER_MODEL_TIMEOUT_MS: '20000' });
    const id = await launch(3);
    const exp = await finished(id, 30_000);
    expect(exp).toMatchObject({ num_try: 3, num_success: 3 });
    expect(model.requests).toHaveLength(3);
    r.kill();
    await r.exited;
  });
});
