/**
 * Retry and stop of a single experiment, end to end: the API, the runner
 * process and a stub model server.
 */
import { jest } from '@jest/globals';
import { makeDf } from '../support/api.js';
import { runnerFixtures, terminal as terminalOf, waitUntil } from '../support/runner.js';

jest.setTimeout(90_000);

const fx = runnerFixtures();
const runner = fx.runner;

let launched = 0;
/** A standalone experiment (in no set) of `rows` rows with one metric. */
async function launch(rows: number): Promise<number> {
  const name = `single-${++launched}`;
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await fx.api.call('POST', '/v1/experiment', { body: { name, dataset: name, model: { name: 'stub', base_url: fx.model.url }, metrics: ['output_length'] } });
  expect(res.body.experiment_set_id).toBeNull();
  return res.body.id;
}

const experiment = async (id: number) => (await fx.api.call('GET', `/v1/experiment/${id}?with_results=true`)).body;
const terminal = (id: number) => terminalOf(fx.api, id, 60_000);
const answerCount = async (id: number) => (await fx.api.pool.query('SELECT count(*)::int AS n FROM answer WHERE experiment_id = $1', [id])).rows[0].n as number;

describe('a standalone experiment', () => {
  it('retries only its failed rows', async () => {
    // Rows whose query ends in 7 fail for good (a 400), the rest succeed.
    fx.model.setBehaviour({ script: (_i, body) => (String(body.messages.at(-1).content).endsWith('7') ? '400' : 'ok') });
    const id = await launch(20);
    runner();
    expect(await terminal(id)).toMatchObject({ experiment_status: 'finished', num_try: 20, num_success: 18, num_observation_success: 18 });
    fx.model.setBehaviour({});
    fx.model.reset();
    const retry = await fx.api.call('POST', `/v1/retry/experiment/${id}`);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id, experiment_status: 'pending' });
    await waitUntil(async () => (await experiment(id)).num_success === 20, 30_000, 'the retry');
    expect(await terminal(id)).toMatchObject({ experiment_status: 'finished', num_try: 20, num_success: 20, num_observation_try: 20, num_observation_success: 20 });
    expect(fx.model.requests.map((q) => q.body.messages.at(-1).content).sort()).toEqual(['question 17', 'question 7']);
  });

  it('stops: its queued tasks are dropped; a retry resumes it and answers each remaining row once', async () => {
    fx.model.setBehaviour({ latencyMs: 300 });
    const id = await launch(30);
    const first = runner({ MAX_CONCURRENT_TASKS: '2' });
    await waitUntil(async () => (await answerCount(id)) >= 2, 30_000, 'some answers');
    const stop = await fx.api.call('POST', `/v1/stop/experiment/${id}`);
    expect(stop.status).toBe(200);
    expect(stop.body.experiment_status).toBe('stopped');
    await waitUntil(async () => (await fx.api.footprint()).queued === 0, 30_000, 'the queue to drain');
    expect(await answerCount(id)).toBeLessThan(30);
    expect((await experiment(id)).experiment_status).toBe('stopped');

    // A new runner: the first one may remember the experiment as stopped for a moment (its configuration cache).
    first.kill('SIGTERM');
    await first.exited;
    fx.model.setBehaviour({});
    const answeredBefore = new Set((await fx.api.pool.query('SELECT num_line FROM answer WHERE experiment_id = $1', [id])).rows.map((r) => r.num_line as number));
    fx.model.reset();
    const retry = await fx.api.call('POST', `/v1/retry/experiment/${id}`);
    expect(retry.body.experiment_status).toBe('pending');
    runner();
    expect(await terminal(id)).toMatchObject({ experiment_status: 'finished', num_try: 30, num_success: 30, num_observation_success: 30 });
    expect(await answerCount(id)).toBe(30);
    // Only rows with no answer yet were asked for again.
    const asked = fx.model.requests.map((q) => Number(/question (\d+)/.exec(q.body.messages.at(-1).content)![1]));
    expect(asked.filter((line) => answeredBefore.has(line))).toEqual([]);
    expect(new Set(asked).size).toBe(asked.length);
  });
});
