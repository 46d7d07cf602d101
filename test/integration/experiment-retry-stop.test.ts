/**
 * Retry and stop of a single experiment, end to end: the API, the runner
 * process and a stub model server.
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

let launched = 0;
/** A standalone experiment (in no set) of `rows` rows with one metric. */
async function launch(rows: number): Promise<number> {
  const name = `single-${++launched}`;
  expect((await api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await api.call('POST', '/v1/experiment', { body: { name, dataset: name, model: { name: 'stub', base_url: model.url }, metrics: ['output_length'] } });
  expect(res.body.experiment_set_id).toBeNull();
  return res.body.id;
}

const experiment = async (id: number) => (await api.call('GET', `/v1/experiment/${id}?with_results=true`)).body;
const terminal = (id: number) => waitUntil(async () => {
  const e = await experiment(id);
  return ['finished', 'stopped'].includes(e.experiment_status) ? e : undefined;
}, 60_000, `experiment ${id} to finish or stop`);
const answerCount = async (id: number) => (await api.pool.query('SELECT count(*)::int AS n FROM answer WHERE experiment_id = $1', [id])).rows[0].n as number;

describe('a standalone experiment', () => {
  it('retries only its failed rows', async () => {
    // Rows whose query ends in 7 fail for good (a 400), the rest succeed.
    model.setBehaviour({ script: (_i, body) => (String(body.messages.at(-1).content).endsWith('7') ? '400' : 'ok') });
    const id = await launch(20);
    runner();
    expect(await terminal(id)).toMatchObject({ experiment_status: 'finished', num_try: 20, num_success: 18, num_observation_success: 18 });
    model.setBehaviour({});
    model.reset();
    const retry = await api.call('POST', `/v1/retry/experiment/${id}`);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id, experiment_status: 'pending' });
    await waitUntil(async () => (await experiment(id)).num_success === 20, 30_000, 'the retry');
    expect(await terminal(id)).toMatchObject({ experiment_status: 'finished', num_try: 20, num_success: 20, num_observation_try: 20, num_observation_success: 20 });
    expect(model.requests.map((q) => q.body.messages.at(-1).content).sort()).toEqual(['question 17', 'question 7']);
  });

  it('stops: its queued tasks are dropped; a retry resumes it and answers each remaining row once', async () => {
    model.setBehaviour({ latencyMs: 300 });
    const id = await launch(30);
    const first = runner({ MAX_CONCURRENT_TASKS: '2' });
    await waitUntil(async () => (await answerCount(id)) >= 2, 30_000, 'some answers');
    const stop = await api.call('POST', `/v1/stop/experiment/${id}`);
    expect(stop.status).toBe(200);
    expect(stop.body.experiment_status).toBe('stopped');
    await waitUntil(async () => (await api.footprint()).queued === 0, 30_000, 'the queue to drain');
    expect(await answerCount(id)).toBeLessThan(30);
    expect((await experiment(id)).experiment_status).toBe('stopped');

    // A new runner: the first one may remember the experiment as stopped for a moment (its configuration cache).
    first.kill('SIGTERM');
    await first.exited;
    model.setBehaviour({});
    const answeredBefore = new Set((await api.pool.query('SELECT num_line FROM answer WHERE experiment_id = $1', [id])).rows.map((r) => r.num_line as number));
    model.reset();
    const retry = await api.call('POST', `/v1/retry/experiment/${id}`);
    expect(retry.body.experiment_status).toBe('pending');
    runner();
    expect(await terminal(id)).toMatchObject({ experiment_status: 'finished', num_try: 30, num_success: 30, num_observation_success: 30 });
    expect(await answerCount(id)).toBe(30);
    // Only rows with no answer yet were asked for again.
    const asked = model.requests.map((q) => Number(/question (\d+)/.exec(q.body.messages.at(-1).content)![1]));
    expect(asked.filter((line) => answeredBefore.has(line))).toEqual([]);
    expect(new Set(asked).size).toBe(asked.length);
  });
});
