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
