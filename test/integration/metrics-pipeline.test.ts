/**
 * Issue 4's acceptance run: five metrics of different types on a 200-row
 * dataset, through the real runner and a stub judge, finishing with the
 * aggregates computed by hand from what the stubs answer.
 */
import { jest } from '@jest/globals';
import { corpusBleu, bleuStats, sentenceBleu } from '../../core/metrics/reference/bleu.js';
import { startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, waitUntil } from '../support/runner.js';

jest.setTimeout(120_000);

let api: TestApi;
let stub: StubModelServer;
const N = 200;
const rowOf = (text: string) => Number(/(?:question|document) (\d+)/.exec(text)?.[1]);
const answerOf = (i: number) => (i % 4 === 0 ? `no idea about ${i}` : `answer ${i}`);

beforeAll(async () => {
  api = await startApi();
  stub = await startModelServer({
    reply: (body) => {
      const last = body.messages.at(-1);
      const i = rowOf(String(last.content));
      // The judge is called by its name; Evalap's judges (judge_notator) send no system message.
      if (body.model !== 'judge') return answerOf(i);
      if (String(last.content).includes('factual claims')) {
        return '```json\n' + JSON.stringify({ claims: i % 2 ? [{ claim: 'a', verdict: 'yes' }, { claim: 'b', verdict: 'no' }] : [{ claim: 'a', verdict: 'yes' }] }) + '\n```';
      }
      return `Here is my grade: {"reason": "row ${i}", "score": "${(i % 10) + 1}"}`;
    },
  });
});
afterAll(async () => {
  await stub.close();
  await api.close();
});

const sampleStd = (mean: number, values: number[]) => Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));

it('computes deterministic, ops, judge and RAG metrics over 200 rows with the right aggregates', async () => {
  const df = JSON.stringify(Array.from({ length: N }, (_, i) => ({ query: `question ${i}`, output_true: `answer ${i}`, retrieval_context: [`document ${i}`] })));
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'rag', readme: '', df } })).status).toBe(200);
  const created = await api.call('POST', '/v1/experiment', {
    body: {
      name: 'five-metrics',
      dataset: 'rag',
      model: { name: 'gen', base_url: stub.url },
      judge_model: { name: 'judge', base_url: stub.url },
      metrics: ['exact_match', 'bleu', 'generation_time', 'judge_notator', 'faithfulness'],
    },
  });
  expect(created.status).toBe(200);
  const runner = startRunner(api, { MAX_CONCURRENT_TASKS: '16' });
  try {
    const exp = await waitUntil(async () => {
      const e = (await api.call('GET', `/v1/experiment/${created.body.id}?with_results=true`)).body;
      return e.experiment_status === 'finished' ? e : undefined;
    }, 90_000, 'the experiment to finish');
    const by = Object.fromEntries(exp.results.map((r: { metric_name: string }) => [r.metric_name, r]));
    for (const r of exp.results) expect(r).toMatchObject({ metric_status: 'finished', num_try: N, num_success: N, summary: { support: N } });

    const exact = Array.from({ length: N }, (_, i) => (i % 4 === 0 ? 0 : 1));
    expect(by.exact_match.summary.mean).toBeCloseTo(0.75, 12);
    expect(by.exact_match.summary.std).toBeCloseTo(sampleStd(0.75, exact), 12);

    const grades = Array.from({ length: N }, (_, i) => (i % 10) + 1);
    expect(by.judge_notator.summary.mean).toBeCloseTo(5.5, 12);
    expect(by.judge_notator.summary.std).toBeCloseTo(sampleStd(5.5, grades), 12);
    expect(by.judge_notator.summary).toMatchObject({ min: 1, max: 10 });

    const faith = Array.from({ length: N }, (_, i) => (i % 2 ? 0.5 : 1));
    expect(by.faithfulness.summary.mean).toBeCloseTo(0.75, 12);
    expect(by.faithfulness.summary.std).toBeCloseTo(sampleStd(0.75, faith), 12);

    const bleus = Array.from({ length: N }, (_, i) => sentenceBleu(answerOf(i), [`answer ${i}`]).score);
    const bleuMean = bleus.reduce((a, b) => a + b, 0) / N;
    expect(by.bleu.summary.mean).toBeCloseTo(bleuMean, 9);
    expect(by.bleu.corpus_score).toBeCloseTo(corpusBleu(Array.from({ length: N }, (_, i) => bleuStats(answerOf(i), [`answer ${i}`]))).score, 9);

    expect(by.generation_time.summary.mean).toBeGreaterThan(0);

    // Every judged observation keeps its audit trail.
    const full = (await api.call('GET', `/v1/experiment/${created.body.id}?with_results=true`)).body;
    const { rows } = await api.pool.query(
      `SELECT o.observation FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1 AND r.metric_name = 'judge_notator' LIMIT 1`,
      [full.id],
    );
    expect(rows[0].observation).toMatchObject({ prompt_version: 'notator-2', judge_usage: { prompt_tokens: expect.any(Number) }, reason: expect.stringMatching(/^row \d+$/) });
    // One generation and two judge calls per row, nothing more.
    expect(stub.requests).toHaveLength(3 * N);
  } finally {
    runner.kill();
    await runner.exited;
  }
});
