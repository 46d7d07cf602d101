/**
 * Faults that used to leave an experiment non-terminal for good: output
 * PostgreSQL cannot store, a metric added right after the run finished.
 */
import { jest } from '@jest/globals';
import { makeDf, startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, stopRunners, waitUntil, type RunningRunner } from '../support/runner.js';

jest.setTimeout(90_000);

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
  const name = `faults-${++datasetCount}`;
  expect((await api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await api.call('POST', '/v1/experiment', {
    body: { name: `exp-${name}`, dataset: name, model: { name: 'stub', base_url: model.url, api_key: 'sk-stub' }, metrics: ['exact_match'], ...over },
  });
  expect(res.status).toBe(200);
  return res.body.id as number;
}

async function terminal(id: number, timeoutMs = 30_000) {
  return waitUntil(async () => {
    const res = await api.call('GET', `/v1/experiment/${id}?with_results=true`);
    return ['finished', 'stopped'].includes(res.body.experiment_status) ? res.body : undefined;
  }, timeoutMs, `experiment ${id} to finish`);
}

describe('output PostgreSQL cannot store', () => {
  it('stores an answer with NUL characters and unpaired surrogates (replaced by U+FFFD) without redoing the rows batched with it', async () => {
    // Row 7 always comes back with a NUL and a lone surrogate; before, its group commit failed for
    // every row in it, again and again, and the experiment never left running_answers.
    model.setBehaviour({ reply: (body) => (String(body.messages.at(-1).content) === 'question 7' ? 'bad\u0000answer \ud800 end' : 'fine') });
    runner({ MAX_CONCURRENT_TASKS: '8' });
    const id = await launch(20);
    const exp = await terminal(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_try: 20, num_success: 20 });
    expect(exp.results[0]).toMatchObject({ metric_status: 'finished', num_try: 20, num_success: 20 });
    const { rows } = await api.pool.query('SELECT answer FROM answer WHERE experiment_id = $1 AND num_line = 7', [id]);
    expect(rows[0].answer).toBe('bad\ufffdanswer \ufffd end');
    // One model call per row: nothing was released and redone.
    expect(model.requests).toHaveLength(20);
  });
});

describe('a metric added right after the run finished', () => {
  it('is scored on every row even when the PATCH comes while the runner still has the old configuration cached', async () => {
    runner();
    const id = await launch(10);
    await terminal(id);
    // At once: the runner's cached configuration (seconds old) does not have the new result yet.
    const res = await api.call('PATCH', `/v1/experiment/${id}`, { body: { metrics: ['contains'] } });
    expect(res.status).toBe(200);
    const exp = await terminal(id);
    expect(exp.experiment_status).toBe('finished');
    const added = exp.results.find((r: { metric_name: string }) => r.metric_name === 'contains');
    expect(added).toMatchObject({ metric_status: 'finished', num_try: 10, num_success: 10 });
    // The answers were scored, not generated again.
    expect(model.requests).toHaveLength(10);
  });
});

describe("an answer's num_try", () => {
  const tries = async (id: number) =>
    (await api.pool.query('SELECT num_try FROM answer WHERE experiment_id = $1 ORDER BY num_line', [id])).rows.map((r) => r.num_try as number);

  it('counts model calls, not deliveries: tasks handed back unstarted by a stopping runner are not counted twice', async () => {
    model.setBehaviour({ latencyMs: 1500 });
    const first = runner({ MAX_CONCURRENT_TASKS: '2', RUNNER_SHUTDOWN_GRACE_MS: '10000' });
    const id = await launch(6);
    await waitUntil(async () => model.requests.length >= 2 || undefined, 20_000, 'the first calls');
    // Two tasks run; the others are held, unstarted, and handed back on SIGTERM (each delivery counted by SQS).
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    runner({ MAX_CONCURRENT_TASKS: '8' });
    await terminal(id);
    expect(model.requests).toHaveLength(6);
    expect(await tries(id)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('carries the calls of a task waiting out a back-off over to the runner that finishes it', async () => {
    // The first call is throttled for 20 s: the task waits in the runner that made it, which is then stopped.
    model.setBehaviour({ retryAfterSeconds: 20, script: (i) => (i === 0 ? '429' : 'ok') });
    const first = runner({ MAX_CONCURRENT_TASKS: '1', RUNNER_SHUTDOWN_GRACE_MS: '1000' });
    const id = await launch(1);
    await waitUntil(async () => model.requests.length >= 1 || undefined, 20_000, 'the throttled call');
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    runner();
    const exp = await terminal(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_success: 1 });
    expect(model.requests).toHaveLength(2);
    expect(await tries(id)).toEqual([2]);
  });
});
