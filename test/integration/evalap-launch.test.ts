/**
 * Launch-time behaviours Evalap's clients rely on (issue 13): answer fields
 * checked per row instead of at launch, an empty `df`, and a metric sent
 * again by PATCH being started over. Through the API, and the real runner
 * with a stub model and judge where the behaviour is the runner's.
 */
import { jest } from '@jest/globals';
import { makeDf, tally } from '../support/api.js';
import { runnerFixtures, terminal } from '../support/runner.js';

jest.setTimeout(120_000);

const fx = runnerFixtures();
beforeEach(() => fx.api.purge());

type Observation = { num_line: number; score: number | null; error_msg: string | null };
type Result = { id: number; metric_aliased_name: string; metric_params: unknown; metric_status: string; num_try: number; num_success: number; summary: { mean: number | null; support: number }; observation_table?: Observation[] };
const resultNamed = (exp: { results: Result[] }, name: string) => exp.results.find((r) => r.metric_aliased_name === name)!;
const byLine = (observations: Observation[]) => [...observations].sort((a, b) => a.num_line - b.num_line);

/** Rows 0 and 2 have a retrieval context, rows 1 and 3 none. */
const halfContextDf = JSON.stringify([0, 1, 2, 3].map((i) => ({ query: `question ${i}`, output_true: `answer ${i}`, retrieval_context: i % 2 ? null : [`document ${i}`] })));

describe('metrics needing fields the answer brings', () => {
  beforeAll(async () => {
    expect((await fx.api.call('POST', '/v1/dataset', { body: { name: 'plain', readme: '', df: makeDf(3) } })).status).toBe(200);
    expect((await fx.api.call('POST', '/v1/dataset', { body: { name: 'half-context', readme: '', df: halfContextDf } })).status).toBe(200);
    expect((await fx.api.call('POST', '/v1/dataset', { body: { name: 'questions-only', readme: '', df: JSON.stringify([{ query: 'q' }]) } })).status).toBe(200);
  });

  it('accepts contextual_relevancy on a provider model over a dataset without retrieval_context', async () => {
    const res = await fx.api.call('POST', '/v1/experiment', {
      body: { name: 'ctx-provider', dataset: 'plain', model: { name: 'gen', base_url: 'http://127.0.0.1:9/v1' }, judge_model: 'judge', metrics: ['contextual_relevancy'] },
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: Result) => r.metric_aliased_name)).toEqual(['contextual_relevancy']);
  });

  it('accepts faithfulness on own outputs sent without retrieval_context', async () => {
    const res = await fx.api.call('POST', '/v1/experiment', {
      body: { name: 'faith-own', dataset: 'plain', model: { aliased_name: 'mine', output: ['a', 'b', 'c'] }, judge_model: 'judge', metrics: ['faithfulness'] },
    });
    expect(res.status).toBe(200);
  });

  it('still refuses at launch a metric needing a dataset column the dataset lacks', async () => {
    const before = await fx.api.footprint();
    const res = await fx.api.call('POST', '/v1/experiment', {
      body: { name: 'no-truth', dataset: 'questions-only', model: { aliased_name: 'mine', output: ['a'] }, metrics: ['contextual_precision'] },
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/metrics\.0: metric contextual_precision requires the field "output_true"/);
    expect(res.body.detail).not.toMatch(/retrieval_context/);
    expect(await fx.api.footprint()).toEqual(before);
  });

  it('scores the rows that have the field and fails, without a judge call, each row that lacks it', async () => {
    fx.model.setBehaviour({
      reply: (body) => (body.model === 'judge' ? JSON.stringify({ verdicts: [{ statement: 's', verdict: 'yes', reason: 'r' }] }) : 'an answer'),
    });
    const provider = await fx.api.call('POST', '/v1/experiment', {
      body: {
        name: 'ctx-half',
        dataset: 'half-context',
        model: { name: 'gen', base_url: fx.model.url },
        judge_model: { name: 'judge', base_url: fx.model.url },
        metrics: ['contextual_relevancy', 'output_length'],
      },
    });
    expect(provider.status).toBe(200);
    const own = await fx.api.call('POST', '/v1/experiment', {
      body: { name: 'faith-none', dataset: 'plain', model: { aliased_name: 'mine', output: ['a', 'b', 'c'] }, judge_model: { name: 'judge', base_url: fx.model.url }, metrics: ['faithfulness'] },
    });
    expect(own.status).toBe(200);
    fx.runner();

    const half = await terminal(fx.api, provider.body.id, 60_000);
    expect(half.experiment_status).toBe('finished');
    const full = (await fx.api.call('GET', `/v1/experiment/${provider.body.id}?with_results=true`)).body;
    const relevancy = resultNamed(full, 'contextual_relevancy');
    expect(relevancy).toMatchObject({ num_try: 4, num_success: 2, summary: { mean: 1, support: 2 } });
    const observations = byLine(relevancy.observation_table!);
    expect(observations.map((o) => [o.num_line, o.score])).toEqual([[0, 1], [1, null], [2, 1], [3, null]]);
    for (const o of [observations[1], observations[3]]) {
      expect(o.error_msg).toBe('metric contextual_relevancy needs "retrieval_context", which neither this row\'s answer nor its dataset row provides (bring it with the outputs, or add the column to the dataset)');
    }
    expect(observations[0].error_msg).toBeNull();
    // The row's other metric is unaffected by the missing field.
    expect(resultNamed(full, 'output_length')).toMatchObject({ num_success: 4, summary: { support: 4 } });

    const none = await terminal(fx.api, own.body.id, 60_000);
    expect(none.experiment_status).toBe('finished');
    const faith = resultNamed((await fx.api.call('GET', `/v1/experiment/${own.body.id}?with_results=true`)).body, 'faithfulness');
    expect(faith).toMatchObject({ num_try: 3, num_success: 0, summary: { mean: null, support: 0 } });
    for (const o of faith.observation_table!) expect(o.error_msg).toMatch(/^metric faithfulness needs "retrieval_context"/);

    // The judge saw only the two rows that have a context: no call for the others.
    const judged = fx.model.requests.filter((r) => r.model === 'judge').map((r) => JSON.stringify(r.body.messages));
    expect(judged).toHaveLength(2);
    expect(judged.some((m) => m.includes('document 0'))).toBe(true);
    expect(judged.some((m) => m.includes('document 2'))).toBe(true);
  });
});

describe('an empty df', () => {
  it('creates a dataset of size 0 from "{}", as pandas writes an empty DataFrame', async () => {
    const res = await fx.api.call('POST', '/v1/dataset', { body: { name: 'empty', readme: '', df: '{}' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'empty', size: 0, columns: [] });
    const read = await fx.api.call('GET', `/v1/dataset/${res.body.id}?with_df=true`);
    expect(read.status).toBe(200);
    expect(read.body.size).toBe(0);
    expect(JSON.parse(read.body.df)).toHaveLength(0);
    const rows = await fx.api.pool.query('SELECT count(*)::int AS n FROM dataset_row WHERE dataset_id = $1', [res.body.id]);
    expect(rows.rows[0].n).toBe(0);
  });
});

describe('PATCH with a metric the experiment already has', () => {
  // Own outputs: rows 1 and 2 differ from the expected answer only by case.
  const outputs = ['answer 0', 'ANSWER 1', 'Answer 2', 'nope'];

  it('starts that metric over (observations deleted, counters reset, new params) and enqueues its observations only', async () => {
    const created = await fx.api.call('POST', '/v1/experiment', { body: { name: 'resend', dataset: { name: 'resend-ds', readme: '', df: makeDf(4) }, model: { aliased_name: 'mine', output: outputs }, metrics: ['exact_match', 'contains'] } });
    expect(created.status).toBe(200);
    const id = created.body.id;
    const [exact, contains] = created.body.results as Result[];
    // As a finished run leaves it (no runner here, so nothing races the checks).
    await fx.api.pool.query(
      `INSERT INTO observation (result_id, num_line, score) SELECT r.id, l, 1 FROM result r, generate_series(0, 3) AS l WHERE r.experiment_id = $1`,
      [id],
    );
    await fx.api.pool.query(
      `UPDATE result SET metric_status = 'finished', num_try = 4, num_success = 4, score_count = 4, score_sum = 4, score_sumsq = 4, score_min = 1, score_max = 1 WHERE experiment_id = $1`,
      [id],
    );
    await fx.api.pool.query(`UPDATE experiment SET experiment_status = 'finished' WHERE id = $1`, [id]);
    await fx.api.purge();

    const res = await fx.api.call('PATCH', `/v1/experiment/${id}`, { body: { metrics: [{ name: 'exact_match', params: { ignore_case: true } }] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ experiment_status: 'running_metrics', num_metrics: 2 });
    expect(resultNamed(res.body, 'exact_match')).toMatchObject({ id: exact.id, metric_params: { ignore_case: true }, metric_status: 'pending', num_try: 0, num_success: 0, summary: { mean: null, support: 0 } });
    expect(resultNamed(res.body, 'contains')).toMatchObject({ id: contains.id, metric_status: 'finished', num_success: 4, summary: { mean: 1, support: 4 } });
    const left = await fx.api.pool.query('SELECT result_id, count(*)::int AS n FROM observation WHERE result_id = ANY($1::int[]) GROUP BY result_id', [[exact.id, contains.id]]);
    expect(left.rows).toEqual([{ result_id: contains.id, n: 4 }]);
    expect(await fx.api.messages()).toEqual([{ type: 'fanout', experiment_id: id, stage: 'observations', result_ids: [exact.id], from: 0, missing_only: true }]);
  });

  it('reruns the metric with the params sent, counting each row once', async () => {
    const created = await fx.api.call('POST', '/v1/experiment', { body: { name: 'rerun', dataset: { name: 'rerun-ds', readme: '', df: makeDf(4) }, model: { aliased_name: 'mine', output: outputs }, metrics: ['exact_match', 'output_length'] } });
    expect(created.status).toBe(200);
    const id = created.body.id;
    fx.runner();
    const first = await terminal(fx.api, id, 60_000);
    expect(first.experiment_status).toBe('finished');
    expect(resultNamed(first, 'exact_match').summary).toMatchObject({ mean: 0.25, support: 4 });
    // At once, and to the same runner: its cached configuration (runner/experiments.ts CONFIG_TTL_MS) has the
    // result's old params, and the result's raised version makes it read them again.
    const patched = await fx.api.call('PATCH', `/v1/experiment/${id}`, { body: { metrics: [{ name: 'exact_match', params: { ignore_case: true } }] } });
    expect(patched.status).toBe(200);
    const second = await terminal(fx.api, id, 60_000);
    expect(second.experiment_status).toBe('finished');
    expect(resultNamed(second, 'exact_match')).toMatchObject({ metric_status: 'finished', num_try: 4, num_success: 4, metric_params: { ignore_case: true }, summary: { mean: 0.75, support: 4 } });
    expect(resultNamed(second, 'output_length')).toMatchObject({ num_try: 4, summary: { support: 4 } });
    const { stored, fromRows } = await tally(fx.api.pool, id);
    expect(stored).toEqual(fromRows);
  });
});
