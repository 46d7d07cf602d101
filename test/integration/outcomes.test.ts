/**
 * Group commit (core/store/outcomes.ts and its SQL function, migration 004)
 * against the real PostgreSQL: idempotent upserts, exact counters and
 * aggregates, a success replacing a stored failure but never the reverse,
 * stopped experiments skipped, statuses moved on by the commit that reaches
 * the total, and concurrent committers neither deadlocking nor double counting.
 */
import { createLogger } from '../../core/logger.js';
import { commitOutcomes, type AnswerOutcome, type ObservationOutcome } from '../../core/store/outcomes.js';
import { Committer, type CommitItem } from '../../runner/committer.js';
import { makeDf, sqsClient, startApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

let n = 0;
/** An experiment on `rows` rows with two metrics (launched; no runner drains its queue here). */
async function experiment(rows: number): Promise<{ id: number; results: number[] }> {
  const name = `ds-${++n}`;
  expect((await api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await api.call('POST', '/v1/experiment', { body: { name: `exp-${n}`, dataset: name, model: { name: 'm', base_url: 'http://127.0.0.1:9' }, metrics: ['exact_match', 'bleu'] } });
  expect(res.status).toBe(200);
  const { rows: results } = await api.pool.query<{ id: number }>('SELECT id FROM result WHERE experiment_id = $1 ORDER BY id', [res.body.id]);
  return { id: res.body.id, results: results.map((r) => r.id) };
}

const answer = (experiment_id: number, num_line: number, over: Partial<AnswerOutcome> = {}): AnswerOutcome => ({
  experiment_id, num_line, answer: `a${num_line}`, nb_tokens_prompt: 3, nb_tokens_completion: 4, execution_time: 10, error_msg: null, num_try: 1, ...over,
});
const observation = (experiment_id: number, result_id: number, num_line: number, score: number | null, over: Partial<ObservationOutcome> = {}) => ({
  experiment_id, result_id, num_line, score, observation: null, error_msg: null, execution_time: 1, num_try: 1, ...over,
});

async function state(id: number) {
  const db = api.pool;
  const e = (await db.query('SELECT experiment_status, num_try, num_success FROM experiment WHERE id = $1', [id])).rows[0];
  const results = (await db.query('SELECT metric_status, num_try, num_success, score_count, score_sum, score_sumsq, score_min, score_max, corpus_stats FROM result WHERE experiment_id = $1 ORDER BY id', [id])).rows;
  const answers = (await db.query('SELECT num_line, answer, error_msg, num_try FROM answer WHERE experiment_id = $1 ORDER BY num_line', [id])).rows;
  return { e, results, answers };
}

describe('commitOutcomes', () => {
  it('stores answers and observations once, with exact counters, aggregates and corpus sums, however often it is repeated', async () => {
    const { id, results: [em, bleu] } = await experiment(3);
    const answers = [answer(id, 0), answer(id, 1)];
    const observations = [
      observation(id, em, 0, 1), observation(id, em, 1, 0),
      observation(id, bleu, 0, 0.5, { observation: { corpus_stats: [1, 2, 3] } }), observation(id, bleu, 1, 0.25, { observation: { corpus_stats: [10, 20, 30] } }),
    ];
    for (let i = 0; i < 3; i++) expect(await commitOutcomes(api.pool, answers, observations)).toEqual({ skippedExperiments: [], finished: [], budgetStopped: [] });
    const s = await state(id);
    expect(s.e).toEqual({ experiment_status: 'running_answers', num_try: 2, num_success: 2 });
    expect(s.answers.map((a) => a.num_try)).toEqual([1, 1]);
    expect(s.results[0]).toMatchObject({ metric_status: 'running', num_try: 2, num_success: 2, score_count: 2, score_sum: 1, score_sumsq: 1, score_min: 0, score_max: 1, corpus_stats: null });
    expect(s.results[1]).toMatchObject({ num_try: 2, score_count: 2, score_sum: 0.75, score_sumsq: 0.3125, corpus_stats: [11, 22, 33] });
  });

  it('lets a success replace a stored failure, never the reverse, and counts the row once', async () => {
    const { id, results: [em, bleu] } = await experiment(1);
    await commitOutcomes(api.pool, [answer(id, 0, { answer: null, error_msg: 'HTTP 500', num_try: 5 })], [observation(id, em, 0, null, { error_msg: 'no answer: HTTP 500' })]);
    let s = await state(id);
    expect(s.e).toMatchObject({ num_try: 1, num_success: 0 });
    expect(s.results[0]).toMatchObject({ num_try: 1, num_success: 0, score_count: 0 });

    // A retry succeeds: the failure is replaced, attempts add up, the row still counts once.
    await commitOutcomes(api.pool, [answer(id, 0, { num_try: 1 })], [observation(id, em, 0, 1), observation(id, bleu, 0, 0.5)]);
    s = await state(id);
    expect(s.answers).toEqual([{ num_line: 0, answer: 'a0', error_msg: null, num_try: 6 }]);
    expect(s.e).toEqual({ experiment_status: 'finished', num_try: 1, num_success: 1 });
    expect(s.results.map((r) => [r.metric_status, r.num_try, r.num_success, r.score_sum])).toEqual([['finished', 1, 1, 1], ['finished', 1, 1, 0.5]]);

    // A late failure of the same row changes nothing.
    await commitOutcomes(api.pool, [answer(id, 0, { answer: null, error_msg: 'late' })], [observation(id, em, 0, null, { error_msg: 'late' })]);
    expect(await state(id)).toEqual(s);
  });

  it('reports the experiment the commit finished, and only in that commit', async () => {
    const { id, results: [em, bleu] } = await experiment(2);
    const row = (i: number) => [observation(id, em, i, 1), observation(id, bleu, i, 1)];
    expect((await commitOutcomes(api.pool, [answer(id, 0)], row(0))).finished).toEqual([]);
    expect((await commitOutcomes(api.pool, [answer(id, 1)], row(1))).finished).toEqual([id]);
    expect((await commitOutcomes(api.pool, [answer(id, 1)], row(1))).finished).toEqual([]);
    expect((await state(id)).e.experiment_status).toBe('finished');
  });

  it('skips the outcomes of stopped and missing experiments and stores the others of the batch', async () => {
    const live = await experiment(1);
    const stopped = await experiment(1);
    await api.pool.query(`UPDATE experiment SET experiment_status = 'stopped' WHERE id = $1`, [stopped.id]);
    const out = await commitOutcomes(
      api.pool,
      [answer(live.id, 0), answer(stopped.id, 0), answer(999_999, 0)],
      [observation(live.id, live.results[0], 0, 1), observation(stopped.id, stopped.results[0], 0, 1)],
    );
    expect(out.skippedExperiments).toEqual([stopped.id, 999_999]);
    expect((await state(stopped.id)).answers).toEqual([]);
    expect((await state(stopped.id)).results[0].num_try).toBe(0);
    expect((await state(live.id)).answers).toHaveLength(1);
    expect((await state(live.id)).results[0].num_try).toBe(1);
  });

  it('keeps one outcome per row from a batch that names a row twice, preferring the success', async () => {
    const { id, results: [em] } = await experiment(1);
    await commitOutcomes(api.pool, [answer(id, 0, { answer: null, error_msg: 'x' }), answer(id, 0)], [observation(id, em, 0, null, { error_msg: 'x' }), observation(id, em, 0, 1)]);
    const s = await state(id);
    expect(s.answers).toEqual([{ num_line: 0, answer: 'a0', error_msg: null, num_try: 1 }]);
    expect(s.results[0]).toMatchObject({ num_try: 1, num_success: 1, score_sum: 1 });
  });

  it('lets concurrent committers of overlapping batches count every row exactly once', async () => {
    const rows = 60;
    const { id, results: [em, bleu] } = await experiment(rows);
    const batch = (from: number, to: number) => {
      const lines = Array.from({ length: to - from }, (_, i) => from + i);
      return [lines.map((l) => answer(id, l)), lines.flatMap((l) => [observation(id, em, l, 1), observation(id, bleu, l, 0.5)])] as const;
    };
    // Overlapping ranges, committed at once from separate connections.
    await Promise.all([batch(0, 30), batch(20, 50), batch(40, 60), batch(0, 60)].map(([a, o]) => commitOutcomes(api.pool, a, o)));
    const s = await state(id);
    expect(s.e).toEqual({ experiment_status: 'finished', num_try: rows, num_success: rows });
    expect(s.results.map((r) => [r.num_try, r.score_count, r.score_sum])).toEqual([[rows, rows, rows], [rows, rows, rows / 2]]);
  });
});

describe('the group committer', () => {
  it('stores model output with NUL characters and unpaired surrogates, replaced by U+FFFD, in answers and observations', async () => {
    const { id, results: [em] } = await experiment(1);
    await commitOutcomes(api.pool, [answer(id, 0, { answer: 'a\u0000b', think: '\udc00x', context: { 'k\u0000': ['\ud83d'] } })], [observation(id, em, 0, 1, { observation: { why: 'x\u0000' }, error_msg: null })]);
    const { rows } = await api.pool.query('SELECT answer, think, context FROM answer WHERE experiment_id = $1', [id]);
    expect(rows[0]).toEqual({ answer: 'a\ufffdb', think: '\ufffdx', context: { 'k\ufffd': ['\ufffd'] } });
    const obs = await api.pool.query('SELECT observation FROM observation WHERE result_id = $1', [em]);
    expect(obs.rows[0].observation).toEqual({ why: 'x\ufffd' });
  });

  it('stores the rest of a batch when the database refuses one item, and rejects only that item', async () => {
    const { id } = await experiment(5);
    const outcome: Record<number, string> = {};
    const item = (line: number, over: Partial<AnswerOutcome> = {}): CommitItem => ({
      answers: [answer(id, line, over)],
      observations: [],
      followUps: [],
      done: () => (outcome[line] = 'done'),
      failed: () => (outcome[line] = 'failed'),
      rejected: (err) => (outcome[line] = `rejected: ${err.message}`),
    });
    const committer = new Committer({ pool: api.pool, sqs: sqsClient(), queueUrl: api.queueUrl, logger: createLogger({ level: 'silent' }), onSkipped: () => undefined, moreComing: () => true });
    // A token count past PostgreSQL's integer range: the whole statement fails for it.
    for (const i of [0, 1, 2, 3, 4]) committer.add(item(i, i === 3 ? { nb_tokens_prompt: 2 ** 40 } : {}));
    await committer.idle();
    expect(outcome).toEqual({ 0: 'done', 1: 'done', 2: 'done', 3: expect.stringMatching(/^rejected: .*out of range/), 4: 'done' });
    const { rows } = await api.pool.query('SELECT num_line FROM answer WHERE experiment_id = $1 ORDER BY num_line', [id]);
    expect(rows.map((r) => r.num_line)).toEqual([0, 1, 2, 4]);
  });
});
