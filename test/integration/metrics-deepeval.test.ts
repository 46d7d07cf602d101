/**
 * DeepEval's metrics of several judge calls, end to end: launched through
 * the API, answered and judged by the real runner against the stub model
 * server, each judge call answered from what its prompt asks; the stored
 * scores, breakdowns and audits are what those replies give, and the judge
 * is called exactly as often as the metrics' steps say.
 */
import { jest } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, waitUntil } from '../support/runner.js';

jest.setTimeout(120_000);

let api: TestApi;
let stub: StubModelServer;
const N = 20;
const rowOf = (text: string) => Number(/document (\d+)/.exec(text)?.[1]);

/** The judge's replies, by the step its prompt asks for. */
function judgeReply(prompt: string): string {
  const i = rowOf(prompt);
  if (/one verdict per instruction/.test(prompt)) return JSON.stringify({ verdicts: [{ verdict: 'yes' }, { verdict: 'no', reason: 'not in French' }] });
  // summarization: alignment depends on the row (even rows fully supported), coverage is full.
  if (/factual claims the summary makes/.test(prompt)) return JSON.stringify({ claims: i % 2 ? [{ verdict: 'yes' }, { verdict: 'idk', reason: 'not in the original' }] : [{ verdict: 'yes' }] });
  if (/closed questions about the text/.test(prompt)) return JSON.stringify({ questions: ['Is it about a document?', 'Does it have a number?'] });
  if (/holds enough information to answer it/.test(prompt)) return JSON.stringify({ answers: ['yes', 'yes'] });
  if (/Split the retrieval context below/.test(prompt)) return JSON.stringify({ verdicts: [{ statement: `document ${i}`, verdict: 'yes' }] });
  return 'unexpected prompt';
}

beforeAll(async () => {
  api = await startApi();
  stub = await startModelServer({ reply: (body) => (body.model === 'judge' ? judgeReply(String(body.messages.at(-1).content)) : `summary of document ${rowOf(String(body.messages.at(-1).content))}`) });
});
afterAll(async () => {
  await stub.close();
  await api.close();
});

it('scores summarization, prompt_alignment and contextual_relevancy through the runner from the judge replies of each step', async () => {
  // Each row has one real chunk and one empty one: contextual_relevancy judges the first and counts the second irrelevant without a call.
  const df = JSON.stringify(Array.from({ length: N }, (_, i) => ({ query: `document ${i}: a long text to summarize.`, retrieval_context: [`document ${i} content`, ''] })));
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'to-summarize', readme: '', df } })).status).toBe(200);
  const created = await api.call('POST', '/v1/experiment', {
    body: {
      name: 'deepeval-steps',
      dataset: 'to-summarize',
      model: { name: 'gen', base_url: stub.url },
      judge_model: { name: 'judge', base_url: stub.url },
      metrics: [
        { name: 'summarization', params: { n: 2 } },
        { name: 'prompt_alignment', params: { prompt_instructions: ['Be brief.', 'Answer in French.'], threshold: 0.6 } },
        'contextual_relevancy',
      ],
    },
  });
  expect(created.status).toBe(200);
  const runner = startRunner(api, { MAX_CONCURRENT_TASKS: '8' });
  try {
    const exp = await waitUntil(async () => {
      const e = (await api.call('GET', `/v1/experiment/${created.body.id}?with_results=true`)).body;
      return e.experiment_status === 'finished' ? e : undefined;
    }, 90_000, 'the experiment to finish');
    for (const r of exp.results) expect(r).toMatchObject({ metric_status: 'finished', num_try: N, num_success: N });
    const by = Object.fromEntries(exp.results.map((r: { metric_name: string }) => [r.metric_name, r]));
    // min(alignment, coverage 1): 1 on even rows, 0.5 on odd ones.
    expect(by.summarization.summary.mean).toBeCloseTo(0.75, 12);
    expect(by.prompt_alignment.summary.mean).toBeCloseTo(0.5, 12);
    expect(by.contextual_relevancy.summary.mean).toBeCloseTo(0.5, 12);

    const { rows } = await api.pool.query(
      `SELECT r.metric_name, o.num_line, o.observation FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1 AND o.num_line = 1`,
      [created.body.id],
    );
    const obs = Object.fromEntries(rows.map((r) => [r.metric_name, r.observation]));
    expect(obs.summarization).toMatchObject({
      score_breakdown: { Alignment: 0.5, Coverage: 1 },
      assessment_questions: ['Is it about a document?', 'Does it have a number?'],
      judge_calls: 4,
      judge_usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
      prompt_version: 'summarization-1',
    });
    expect(obs.prompt_alignment).toMatchObject({ threshold: 0.6, success: false, reason: 'The score is 0.50 because: not in French' });
    expect(obs.contextual_relevancy).toMatchObject({ chunks: [{ verdicts: [{ verdict: 'yes' }] }, { verdicts: [{ verdict: 'no', reason: 'No statements found in provided context.' }] }] });

    // Per row: one generation; summarization's four calls; one for prompt_alignment; one for the non-empty chunk.
    expect(stub.requests).toHaveLength(N * (1 + 4 + 1 + 1));
  } finally {
    runner.kill();
    await runner.exited;
  }
});

it('refuses with a 400 saying why an experiment using ragas, which GET /v1/metrics lists, and writes nothing', async () => {
  const listed = (await api.call('GET', '/v1/metrics')).body.find((m: { name: string }) => m.name === 'ragas');
  expect(listed).toMatchObject({ type: 'rag', require: ['output_true', 'query', 'retrieval_context'] });
  const before = (await api.pool.query('SELECT count(*)::int AS n FROM experiment')).rows[0].n;
  const res = await api.call('POST', '/v1/experiment', {
    body: { name: 'with-ragas', dataset: 'to-summarize', model: { name: 'gen', base_url: stub.url }, judge_model: { name: 'judge', base_url: stub.url }, metrics: ['faithfulness', 'ragas'] },
  });
  expect(res.status).toBe(400);
  expect(JSON.stringify(res.body)).toMatch(/metric ragas: ragas is listed as Evalap lists it but cannot be scored here: .*embedding model/);
  expect((await api.pool.query('SELECT count(*)::int AS n FROM experiment')).rows[0].n).toBe(before);
});
