/**
 * qcm_exactness and ocr_v1 under Evalap's names compute what Evalap's do;
 * our variants sit behind params.variant. Expected values worked out by hand
 * from evalap/api/metrics/qcm.py:
 *   words = output.strip(" \n\"'.").split(); None if len(words) > 1
 *   score = 1 if output[0] == output_true else 0
 * (evalap/runners/tasks.py first refuses an empty output or output_true), and
 * evalap/api/metrics/ocr_json.py: float(fuzz.ratio(text, output_true)), 0-100.
 */
import { scoreInline } from '../../core/metrics/score.js';

const qcm = (output: string, output_true: unknown, params: Record<string, unknown> | null = null) => scoreInline('qcm_exactness', params, { output, output_true });

describe("qcm_exactness, Evalap's by default", () => {
  it.each([
    ['B', 'B', 1],
    ['B.', 'B', 1],
    ['B)', 'B', 1], // one word; its first character is "B"
    ['Berlin', 'B', 1], // one word starting with B: Evalap counts it
    [' B', 'B', 0], // the first character of the unstripped output is a space
    ['"B"', 'B', 0], // ... or a quote
    ['b', 'B', 0], // case counts
    ['(B)', 'B', 0],
    ['B', 'B) Paris', 0], // output_true must be the single character
    ['B', 'b', 0],
  ])('%j against %j scores %d', (output, expected, score) => {
    expect(qcm(output, expected)).toEqual({ score, observation: null });
  });

  it.each([['The answer is B'], ['B. Paris'], ['B\nC']])('gives no score to %j, more than one word', (output) => {
    expect(qcm(output, 'B')).toEqual({ score: null, observation: null });
  });

  it('records an empty output or output_true as an error, as Evalap refuses them', () => {
    expect(qcm('', 'B')).toEqual({ error: expect.stringMatching(/non-empty output$/) });
    expect(qcm('B', '')).toEqual({ error: expect.stringMatching(/non-empty output_true$/) });
  });

  it('keeps our letter extraction behind variant "extract"', () => {
    expect(qcm('The answer is (b)', 'B) Paris', { variant: 'extract' })).toMatchObject({ score: 1 });
  });
});

describe("ocr_v1, Evalap's 0-100 by default", () => {
  it("scores rapidfuzz's ratio unscaled: ratio('this is a test', 'this is a test!') = 96.55172413793103", () => {
    expect(scoreInline('ocr_v1', null, { output: '```\nthis is a test\n```', output_true: 'this is a test!' })).toMatchObject({ score: 96.55172413793103 });
  });

  it('gives the ratio divided by 100 with variant "unit"', () => {
    const out = scoreInline('ocr_v1', { variant: 'unit' }, { output: 'this is a test', output_true: 'this is a test!' }) as { score: number };
    expect(out.score).toBeCloseTo(0.9655172413793103, 15);
  });
});

describe('GET /v1/metrics', () => {
  it("lists the variants and says which behaviour is Evalap's", async () => {
    const { listMetrics } = await import('../../core/metrics/registry.js');
    const by = Object.fromEntries(listMetrics().map((m) => [m.name, m]));
    expect(by.qcm_exactness.params).toMatchObject({ properties: { variant: { enum: ['evalap', 'extract'] } } });
    expect(by.qcm_exactness.description).toMatch(/As Evalap's by default/);
    expect(by.ocr_v1).toMatchObject({ score_range: [0, 100], params: { properties: { variant: { enum: ['evalap', 'unit'] } } } });
    expect(by.judge_adhoc).toMatchObject({ score_range: [null, null], params: { required: ['prompt'] } });
    expect(by.judge_adhoc.description).toMatch(/Jinja filters and \{% %\} blocks are refused/);
  });
});
