/**
 * Experiments without a model (Evalap's dataset metrics, such as
 * judge_complexity): what the API accepts and refuses, and runs through the
 * real runner, its stop, retry and sweep, against a stub judge.
 */
import { jest } from '@jest/globals';
import { makeDf, tally } from '../support/api.js';
import { runnerFixtures, terminal as terminalOf, waitUntil } from '../support/runner.js';

jest.setTimeout(90_000);

const fx = runnerFixtures();
const terminal = (id: number) => terminalOf(fx.api, id, 60_000);
const judge = () => ({ name: 'stub-judge', base_url: fx.model.url, api_key: 'judge-key' });
const experiment = async (id: number) => (await fx.api.call('GET', `/v1/experiment/${id}?with_results=true`)).body;
const answerCount = async (id: number) => (await fx.api.pool.query('SELECT count(*)::int AS n FROM answer WHERE experiment_id = $1', [id])).rows[0].n as number;
const observationCount = async (id: number) =>
  (await fx.api.pool.query('SELECT count(*)::int AS n FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1', [id])).rows[0].n as number;
/** The row a judge request is about: its prompt quotes the row's query, "question <n>". */
const rowOf = (body: any) => Number(/question (\d+)/.exec(JSON.stringify(body.messages))![1]);

/** A judge_complexity reply in the labelled lines the metric reads; the overall note is the row's number. */
const complexityReply = (body: any) =>
  [
    'Critère Demande : one subject [Note : 1/5]',
    'Critère Administration : one administration [Note : 2/5]',
    'Critère Procedure : one source [Note : 3/5]',
    `Score de complexité global : simple [Note : ${rowOf(body)}/10]`,
    'Recommandation : answer directly',
    'Thématique : CAF',
  ].join('\n');

let n = 0;
async function dataset(rows: number, extra?: (i: number) => Record<string, unknown>): Promise<string> {
  const name = `modelless-${++n}`;
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows, extra) } })).status).toBe(200);
  return name;
}

/** Launches judge_complexity without a model on a new dataset of `rows` rows; returns the experiment. */
async function launch(rows: number): Promise<any> {
  const name = await dataset(rows);
  const res = await fx.api.call('POST', '/v1/experiment', { body: { name, dataset: name, metrics: ['judge_complexity'], judge_model: judge() } });
  expect(res.status).toBe(200);
  return res.body;
}

describe('launching an experiment without a model', () => {
  it('is refused with a 400 naming each metric that needs an answer, and writes nothing', async () => {
    const name = await dataset(2);
    const before = await fx.api.footprint();
    const res = await fx.api.call('POST', '/v1/experiment', { body: { name, dataset: name, metrics: ['judge_complexity', 'output_length', 'judge_exactness'], judge_model: judge() } });
    expect(res.status).toBe(400);
    const issues = JSON.stringify(res.body);
    expect(issues).toMatch(/output_length \(reads output\)/);
    expect(issues).toMatch(/judge_exactness \(reads output\)/);
    expect(issues).not.toMatch(/judge_complexity \(reads/);
    expect(issues).toContain('"model"');
    expect(await fx.api.footprint()).toEqual(before);
  });

  it('is refused with a 400 when it has no metric either', async () => {
    const name = await dataset(2);
    const res = await fx.api.call('POST', '/v1/experiment', { body: { name, dataset: name } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/give a model/);
  });

  it('accepts a metric reading retrieval_context only when the dataset has that column', async () => {
    const bare = await dataset(2);
    const refused = await fx.api.call('POST', '/v1/experiment', { body: { name: bare, dataset: bare, metrics: ['contextual_relevancy'], judge_model: judge() } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/contextual_relevancy \(reads retrieval_context\)/);
    const withContext = await dataset(2, (i) => ({ retrieval_context: [`passage ${i}`] }));
    const accepted = await fx.api.call('POST', '/v1/experiment', { body: { name: withContext, dataset: withContext, metrics: ['contextual_relevancy'], judge_model: judge() } });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ model: null, num_total: 2, num_try: 0, num_success: 0 });
  });

  it('accepts a set whose grid gives no model for dataset metrics, and refuses one with an answer metric at that grid experiment', async () => {
    const name = await dataset(2);
    const ok = await fx.api.call('POST', '/v1/experiment_set', { body: { name: `set-${name}`, readme: '', cv: { common_params: { dataset: name, judge_model: judge() }, grid_params: { metrics: [['judge_complexity']] }, repeat: 2 } } });
    expect(ok.status).toBe(200);
    expect(ok.body.experiments.map((e: any) => e.model)).toEqual([null, null]);
    const refused = await fx.api.call('POST', '/v1/experiment_set', { body: { name: `set2-${name}`, readme: '', cv: { common_params: { dataset: name, judge_model: judge() }, grid_params: { metrics: [['judge_complexity'], ['output_length']] } } } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/cv\.grid\.1\.model/);
    expect(JSON.stringify(refused.body)).not.toMatch(/cv\.grid\.0/);
  });

  it('refuses by PATCH a metric that needs an answer, and a rerun of answers', async () => {
    const { id } = await launch(2);
    const metric = await fx.api.call('PATCH', `/v1/experiment/${id}`, { body: { metrics: ['output_length'] } });
    expect(metric.status).toBe(400);
    expect(JSON.stringify(metric.body)).toMatch(/output_length \(reads output\)/);
    const rerun = await fx.api.call('PATCH', `/v1/experiment/${id}`, { body: { rerun_answers: true } });
    expect(rerun.status).toBe(400);
    expect(JSON.stringify(rerun.body)).toMatch(/no model/);
    expect((await experiment(id)).results.map((r: any) => r.metric_name)).toEqual(['judge_complexity']);
  });
});

describe('running an experiment without a model', () => {
  // The launches above are not to be run, nor swept, by these tests' runners.
  beforeAll(async () => {
    await fx.api.purge();
    for (const e of (await fx.api.call('GET', '/v1/experiments')).body) await fx.api.call('POST', `/v1/stop/experiment/${e.id}`);
  });

  it('asks the judge once per row and no model, stores no answer, and finishes with exact counters', async () => {
    fx.model.setBehaviour({ reply: complexityReply });
    const name = await dataset(4);
    const set = await fx.api.call('POST', '/v1/experiment_set', { body: { name: `run-${name}`, readme: '', experiments: [{ name, dataset: name, metrics: ['judge_complexity'], judge_model: judge() }] } });
    expect(set.status).toBe(200);
    const id = set.body.experiments[0].id;
    fx.runner();
    const exp = await terminal(id);
    // num_try and num_success count answers, as in Evalap: there are none to make.
    expect(exp).toMatchObject({ experiment_status: 'finished', model: null, num_total: 4, num_try: 0, num_success: 0, num_observation_try: 4, num_observation_success: 4 });
    expect(exp.results).toEqual([expect.objectContaining({ metric_name: 'judge_complexity', metric_status: 'finished', num_try: 4, num_success: 4, summary: expect.objectContaining({ mean: 1.5, support: 4, min: 0, max: 3 }) })]);
    expect(await answerCount(id)).toBe(0);
    expect(fx.model.requests.map((q) => q.model)).toEqual(['stub-judge', 'stub-judge', 'stub-judge', 'stub-judge']);
    expect(fx.model.requests.map((q) => rowOf(q.body)).sort()).toEqual([0, 1, 2, 3]);
    // Evalap's notebook json.loads each observation.
    const observed = exp.results[0].observation_table.map((o: any) => ({ num_line: o.num_line, score: o.score, ...JSON.parse(o.observation) }));
    expect(observed.sort((a: any, b: any) => a.num_line - b.num_line)).toEqual(
      [0, 1, 2, 3].map((i) => expect.objectContaining({ num_line: i, score: i, thematique: 'CAF', scores: { demande: 1, administration: 2, procedure: 3, global: i }, answer: expect.stringContaining('Critère Demande') })),
    );
    const { stored, fromRows } = await tally(fx.api.pool, id);
    expect(stored).toEqual(fromRows);
    const view = await fx.api.call('GET', `/v1/experiment_set/${set.body.id}`);
    expect(view.body).toMatchObject({ status: 'finished', experiments: [expect.objectContaining({ id, model: null, experiment_status: 'finished', num_try: 0 })] });
    // As Evalap's, which joins the model: no model, nothing to rank.
    const board = await fx.api.call('GET', '/v1/leaderboard?metric_name=judge_complexity');
    expect(board.body.entries.map((e: { experiment_id: number }) => e.experiment_id)).not.toContain(id);
    // A forced retry of the finished set finds nothing unfinished: there are no answers to try.
    const retry = await fx.api.call('POST', `/v1/retry/experiment_set/${set.body.id}?force=true`);
    expect(retry.body).toMatchObject({ unfinished_experiment_ids: [], unfinished_result_ids: [] });
  });

  it('records a row whose judge call fails for good, and a retry redoes only that row', async () => {
    fx.model.setBehaviour({ reply: complexityReply, script: (_i, body) => (rowOf(body) === 1 ? '400' : 'ok') });
    const { id } = await launch(3);
    fx.runner();
    const failed = await terminal(id);
    expect(failed).toMatchObject({ experiment_status: 'finished', num_try: 0, num_success: 0, num_observation_try: 3, num_observation_success: 2 });
    expect(failed.results[0].observation_table.find((o: any) => o.num_line === 1)).toMatchObject({ score: null, error_msg: expect.stringMatching(/400/) });
    fx.model.setBehaviour({ reply: complexityReply });
    fx.model.reset();
    const retry = await fx.api.call('POST', `/v1/retry/experiment/${id}`);
    expect(retry.status).toBe(200);
    // Reopened; a runner already waiting may have moved it on by the time the response is read.
    expect(['pending', 'running_metrics', 'finished']).toContain(retry.body.experiment_status);
    await waitUntil(async () => (await experiment(id)).num_observation_success === 3, 30_000, 'the retry');
    expect(await terminal(id)).toMatchObject({ experiment_status: 'finished', num_try: 0, num_success: 0, num_observation_try: 3, num_observation_success: 3 });
    expect(fx.model.requests.map((q) => rowOf(q.body))).toEqual([1]);
    expect(await answerCount(id)).toBe(0);
    const { stored, fromRows } = await tally(fx.api.pool, id);
    expect(stored).toEqual(fromRows);
  });

  it('stops: its queued observations are dropped; a retry resumes it and judges each remaining row once', async () => {
    fx.model.setBehaviour({ reply: complexityReply, latencyMs: 300 });
    const { id } = await launch(30);
    const first = fx.runner({ MAX_CONCURRENT_TASKS: '2' });
    await waitUntil(async () => (await observationCount(id)) >= 2, 30_000, 'some observations');
    const stop = await fx.api.call('POST', `/v1/stop/experiment/${id}`);
    expect(stop.body.experiment_status).toBe('stopped');
    await waitUntil(async () => (await fx.api.footprint()).queued === 0, 30_000, 'the queue to drain');
    expect(await observationCount(id)).toBeLessThan(30);
    expect((await experiment(id)).experiment_status).toBe('stopped');

    // A new runner: the first one may remember the experiment as stopped for a moment (its configuration cache).
    first.kill('SIGTERM');
    await first.exited;
    fx.model.setBehaviour({ reply: complexityReply });
    const judgedBefore = new Set((await fx.api.pool.query('SELECT o.num_line FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1', [id])).rows.map((r) => r.num_line as number));
    fx.model.reset();
    expect(['pending', 'running_metrics', 'finished']).toContain((await fx.api.call('POST', `/v1/retry/experiment/${id}`)).body.experiment_status);
    fx.runner();
    expect(await terminal(id)).toMatchObject({ experiment_status: 'finished', num_try: 0, num_success: 0, num_observation_try: 30, num_observation_success: 30 });
    const asked = fx.model.requests.map((q) => rowOf(q.body));
    expect(asked.filter((line) => judgedBefore.has(line))).toEqual([]);
    expect(new Set(asked).size).toBe(asked.length);
    expect(asked.length + judgedBefore.size).toBe(30);
    expect(await answerCount(id)).toBe(0);
  });

  it('is swept as any other: lost work is enqueued again as observations, never as answers', async () => {
    fx.model.setBehaviour({ reply: complexityReply });
    const { id } = await launch(3);
    await fx.api.purge();
    const r = fx.runner({ RUNNER_SWEEP_INTERVAL_SEC: '1', EVALAP_STALL_AFTER_SEC: '2' });
    expect(await terminal(id)).toMatchObject({ experiment_status: 'finished', num_try: 0, num_success: 0, num_observation_success: 3 });
    expect(r.logs.filter((l) => l.event === 'experiment_requeued').map((l) => l.experiment_id)).toEqual([id]);
    expect(await answerCount(id)).toBe(0);
  });

  it('is given up on as any other: its missing observations are recorded failed with the reason, and no answer is', async () => {
    const { id } = await launch(2);
    await fx.api.purge();
    const r = fx.runner({ RUNNER_SWEEP_INTERVAL_SEC: '1', EVALAP_STALL_AFTER_SEC: '2', EVALAP_STALL_REQUEUES: '0' });
    const exp = await terminal(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_try: 0, num_success: 0, num_observation_try: 2, num_observation_success: 0 });
    for (const o of exp.results[0].observation_table) expect(o.error_msg).toMatch(/^no progress for \d+ s/);
    expect(r.logs.filter((l) => l.event === 'experiment_work_failed').map((l) => l.experiment_id)).toEqual([id]);
    expect(await answerCount(id)).toBe(0);
    expect(fx.model.requests).toEqual([]);
  });
});
