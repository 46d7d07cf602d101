/**
 * Faults that used to leave an experiment non-terminal for good: output
 * PostgreSQL cannot store, a metric added right after the run finished.
 */
import { jest } from '@jest/globals';
import { makeDf } from '../support/api.js';
import { runnerFixtures, terminal as terminalOf, waitUntil } from '../support/runner.js';

jest.setTimeout(90_000);

const fx = runnerFixtures();
const runner = fx.runner;
const terminal = (id: number) => terminalOf(fx.api, id);

let datasetCount = 0;
async function launch(rows: number, over: Record<string, unknown> = {}) {
  const name = `faults-${++datasetCount}`;
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await fx.api.call('POST', '/v1/experiment', {
    body: { name: `exp-${name}`, dataset: name, model: { name: 'stub', base_url: fx.model.url, api_key: 'sk-stub' }, metrics: ['exact_match'], ...over },
  });
  expect(res.status).toBe(200);
  return res.body.id as number;
}

describe('output PostgreSQL cannot store', () => {
  it('stores an answer with NUL characters and unpaired surrogates (replaced by U+FFFD) without redoing the rows batched with it', async () => {
    // Row 7 always comes back with a NUL and a lone surrogate; before, its group commit failed for
    // every row in it, again and again, and the experiment never left running_answers.
    fx.model.setBehaviour({ reply: (body) => (String(body.messages.at(-1).content) === 'question 7' ? 'bad\u0000answer \ud800 end' : 'fine') });
    runner({ MAX_CONCURRENT_TASKS: '8' });
    const id = await launch(20);
    const exp = await terminal(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_try: 20, num_success: 20 });
    expect(exp.results[0]).toMatchObject({ metric_status: 'finished', num_try: 20, num_success: 20 });
    const { rows } = await fx.api.pool.query('SELECT answer FROM answer WHERE experiment_id = $1 AND num_line = 7', [id]);
    expect(rows[0].answer).toBe('bad\ufffdanswer \ufffd end');
    // One model call per row: nothing was released and redone.
    expect(fx.model.requests).toHaveLength(20);
  });
});

describe('a metric added right after the run finished', () => {
  it('is scored on every row even when the PATCH comes while the runner still has the old configuration cached', async () => {
    runner();
    const id = await launch(10);
    await terminal(id);
    // At once: the runner's cached configuration (seconds old) does not have the new result yet.
    const res = await fx.api.call('PATCH', `/v1/experiment/${id}`, { body: { metrics: ['contains'] } });
    expect(res.status).toBe(200);
    const exp = await terminal(id);
    expect(exp.experiment_status).toBe('finished');
    const added = exp.results.find((r: { metric_name: string }) => r.metric_name === 'contains');
    expect(added).toMatchObject({ metric_status: 'finished', num_try: 10, num_success: 10 });
    // The answers were scored, not generated again.
    expect(fx.model.requests).toHaveLength(10);
  });
});

describe("an answer's num_try", () => {
  const tries = async (id: number) =>
    (await fx.api.pool.query('SELECT num_try FROM answer WHERE experiment_id = $1 ORDER BY num_line', [id])).rows.map((r) => r.num_try as number);

  it('counts model calls, not deliveries: tasks handed back unstarted by a stopping runner are not counted twice', async () => {
    fx.model.setBehaviour({ latencyMs: 1500 });
    const first = runner({ MAX_CONCURRENT_TASKS: '2', RUNNER_SHUTDOWN_GRACE_MS: '10000' });
    const id = await launch(6);
    await waitUntil(async () => fx.model.requests.length >= 2 || undefined, 20_000, 'the first calls');
    // Two tasks run; the others are held, unstarted, and handed back on SIGTERM (each delivery counted by SQS).
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    runner({ MAX_CONCURRENT_TASKS: '8' });
    await terminal(id);
    expect(fx.model.requests).toHaveLength(6);
    expect(await tries(id)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('carries the calls of a task waiting out a back-off over to the runner that finishes it', async () => {
    // The first call is throttled for 20 s: the task waits in the runner that made it, which is then stopped.
    fx.model.setBehaviour({ retryAfterSeconds: 20, script: (i) => (i === 0 ? '429' : 'ok') });
    const first = runner({ MAX_CONCURRENT_TASKS: '1', RUNNER_SHUTDOWN_GRACE_MS: '1000' });
    const id = await launch(1);
    await waitUntil(async () => fx.model.requests.length >= 1 || undefined, 20_000, 'the throttled call');
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    runner();
    const exp = await terminal(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_success: 1 });
    expect(fx.model.requests).toHaveLength(2);
    expect(await tries(id)).toEqual([2]);
  });
});
