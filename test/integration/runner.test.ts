import { makeDf, startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, waitUntil, type RunningRunner } from '../support/runner.js';

let api: TestApi;
let model: StubModelServer;
const runners: RunningRunner[] = [];

beforeAll(async () => {
  api = await startApi();
  model = await startModelServer();
});
afterAll(async () => {
  for (const r of runners) if (r.proc.exitCode === null) r.kill('SIGKILL');
  await model.close();
  await api.close();
});
afterEach(() => {
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

async function finished(id: number, timeoutMs = 30_000) {
  return waitUntil(async () => {
    const res = await api.call('GET', `/v1/experiment/${id}?with_results=true`);
    return ['finished', 'stopped'].includes(res.body.experiment_status) ? res.body : undefined;
  }, timeoutMs, `experiment ${id} to finish`);
}

async function counts(id: number) {
  const q = (sql: string) => api.core.pool.query(sql, [id]).then((r) => r.rows[0].n as number);
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
});
