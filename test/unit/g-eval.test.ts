/**
 * g_eval as DeepEval's GEval scores it: the probability-weighted score
 * (hand-computed here), its fallbacks to the judge's integer, the steps
 * written once and shared, strict mode, the scale pinned at launch (so old
 * experiments keep their 1–5 scale), and the params a launch refuses.
 */
import { ValidationError } from '../../core/errors.js';
import { runJudge, type JudgeCall } from '../../core/metrics/judges.js';
import { weightedScore } from '../../core/metrics/logprob-score.js';
import { getMetric, requiredFields } from '../../core/metrics/registry.js';
import { checkMetrics } from '../../core/metrics/requirements.js';
import type { ChatAnswer, ChatModel, TokenLogprob } from '../../core/providers/openai.js';

const ln = Math.log;
/** A token whose alternatives are given as probabilities. */
const tok = (token: string, alternatives: [string, number][] = [[token, 1]]): TokenLogprob => ({
  token,
  logprob: ln(alternatives.find(([t]) => t === token)?.[1] ?? 1),
  top_logprobs: alternatives.map(([t, p]) => ({ token: t, logprob: ln(p) })),
});

describe('the probability-weighted score', () => {
  it("gives DeepEval's own figure on a reply recorded from OpenAI", () => {
    // The score token and its 20 alternatives as a gpt-4o reply gave them, recorded in DeepEval's
    // tests (confident-ai/deepeval, tests/test_g_eval.py, test_generate_logprobs_based_score), which
    // asserts generate_logprobs_based_score(9, reply) == 0.8893309402242041 * 10. Only 9 and 8 are
    // above 1% ("10" is 0.16%): (9·e^-0.11450484 + 8·e^-2.2395048) / (e^-0.11450484 + e^-2.2395048).
    const alternatives: [string, number][] = [
      ['9', -0.11450484], ['8', -2.2395048], ['10', -6.44263], ['7', -9.333255], [' ', -14.708255], ['6', -17.083256], ['5', -20.16138],
      ['09', -20.94263], ['0', -21.489506], [' nine', -21.794193], ['08', -22.427006], ['4', -22.591068], ['\uff19', -22.614506],
      ['<|end|>', -23.044193], ['\u00a0', -23.075443], ['90', -23.497318], ['3', -23.606693], [' eight', -23.895756], ['\uff18', -24.419193], ['\n\n', -24.450443],
    ];
    const plain = (token: string, logprob = 0): TokenLogprob => ({ token, logprob, top_logprobs: [{ token, logprob }] });
    const reply: TokenLogprob[] = [
      plain('```'), plain('json'), plain('\n'), plain('{\n'), plain('  '), plain('"'), plain('score'), plain('":'), plain(' '),
      { token: '9', logprob: -0.11450484, top_logprobs: alternatives.map(([token, logprob]) => ({ token, logprob })) },
      plain(',\n'),
    ];
    const out = weightedScore(9, reply, [0, 10]) as { weighted: number };
    expect(out.weighted).toBeCloseTo(0.8893309402242041 * 10, 8);
  });

  it('weights the digits among the score token’s alternatives by their probabilities, as DeepEval does', () => {
    // The reason says "7" too, with other alternatives: the last "7" is the score.
    const logprobs = [
      tok('{"'),
      tok('reason'),
      tok(' only'),
      tok('7', [['7', 0.5], ['2', 0.5]]),
      tok(' steps'),
      tok('score'),
      tok('":'),
      tok(' '),
      tok('7', [
        ['7', 0.6],
        ['8', 0.3],
        ['6', 0.08],
        [' 9', 0.015], // not all digits: left out
        ['5', 0.005], // below 1%: left out
        ['x', 0.0001],
      ]),
      tok('}'),
    ];
    // (7 × 0.6 + 8 × 0.3 + 6 × 0.08) / (0.6 + 0.3 + 0.08) = 7.08 / 0.98 = 7.224489795918367
    const out = weightedScore(7, logprobs, [0, 10]);
    expect(out).toEqual({ weighted: expect.any(Number) });
    expect((out as { weighted: number }).weighted).toBeCloseTo(7.224489795918367, 12);
  });

  it('adds up alternatives spelling the same integer, and leaves out those off the scale', () => {
    // "07" counts as 7; "100" is no score on 0–10. (7 × (0.5 + 0.2) + 9 × 0.2) / 0.9 = 6.7 / 0.9
    const logprobs = [tok('7', [['7', 0.5], ['07', 0.2], ['9', 0.2], ['100', 0.1]])];
    expect((weightedScore(7, logprobs, [0, 10]) as { weighted: number }).weighted).toBeCloseTo(6.7 / 0.9, 12);
  });

  it('falls back to the judge’s score, saying why, when it cannot weight it', () => {
    expect(weightedScore(7, null, [0, 10])).toEqual({ fallback: 'no logprobs' });
    expect(weightedScore(7, [], [0, 10])).toEqual({ fallback: 'no logprobs' });
    // A tokenizer that glues the space to the digit: no token spells "7" exactly.
    expect(weightedScore(7, [tok(' 7', [[' 7', 0.9], [' 8', 0.1]])], [0, 10])).toEqual({ fallback: 'score token not found' });
    // A fractional score is never one token.
    expect(weightedScore(7.5, [tok('7'), tok('.'), tok('5')], [0, 10])).toEqual({ fallback: 'score token not found' });
    expect(weightedScore(7, [tok('7', [['7', 0.005], ['seven', 0.9]])], [0, 10])).toEqual({ fallback: 'no usable alternative' });
  });
});

const JUDGE: ChatModel = { name: 'judge', base_url: 'http://judge.invalid/v1' };
const input = { query: 'Capital of France?', output: 'Paris.', output_true: 'Paris', context: ['France is in Europe.'], retrieval_context: ['Paris is the capital of France.', 'Lyon is a city.'] };
const STEPS = ['Check the capital named', 'Compare with the context'];

/** A judge answering steps requests with STEPS and evaluation requests with `evaluation`, with `logprobs` when asked and given. */
function scripted(evaluation: string, logprobs: TokenLogprob[] | null) {
  const calls: { prompt: string; topLogprobs?: number }[] = [];
  const call: JudgeCall = async (_model, messages, options) => {
    const prompt = String(messages.at(-1)!.content);
    calls.push({ prompt, topLogprobs: options?.topLogprobs });
    const answer = /evaluation steps that put these criteria into practice/.test(prompt) ? JSON.stringify({ steps: STEPS }) : evaluation;
    const reply: ChatAnswer & { logprobs: TokenLogprob[] | null } = { answer, think: null, nb_tokens_prompt: 100, nb_tokens_completion: 10, nb_tool_calls: null, execution_time: 1, logprobs: options?.topLogprobs ? logprobs : null };
    return reply;
  };
  return { call, calls };
}

/** The params as a launch stores them (the scale pinned). */
function launched(params: Record<string, unknown>) {
  return checkMetrics([{ name: 'g_eval', params }], { columns: new Set(['query', 'output_true']), path: 'metrics' })[0].params!;
}

describe('g_eval, scored as DeepEval scores it', () => {
  const reply = '{"reason": "Names the right capital.", "score": 7}';
  const scoreTokens = [tok('{"'), tok('reason'), tok('":'), tok(' "Names'), tok('score'), tok('":'), tok(' '), tok('7', [['7', 0.6], ['8', 0.3], ['6', 0.08]]), tok('}')];

  it('writes the steps from the criteria, asks for 20 alternatives per token, and stores the weighted score ÷ 10', async () => {
    const params = launched({ criteria: 'Is the capital right, given the context?', evaluation_params: ['input', 'actual_output', 'retrieval_context'] });
    const { call, calls } = scripted(reply, scoreTokens);
    const out = await runJudge('g_eval', params, input, JUDGE, call);
    expect(calls.map((c) => c.topLogprobs)).toEqual([undefined, 20]);
    expect(calls[0].prompt).toContain('Is the capital right, given the context?');
    expect(calls[0].prompt).toContain('Input, Actual Output, and Retrieval Context');
    // The evaluation shows the chosen fields and follows the written steps, numbered.
    expect(calls[1].prompt).toContain('1. Check the capital named\n2. Compare with the context');
    expect(calls[1].prompt).toContain('## Retrieval Context\n[1] Paris is the capital of France.\n[2] Lyon is a city.');
    expect(calls[1].prompt).not.toContain('## Expected Output');
    expect(out).toMatchObject({
      score: expect.closeTo(0.7224489795918367, 12),
      madeSteps: STEPS,
      observation: {
        scale: 'deepeval',
        raw_score: 7,
        weighted_score: expect.closeTo(7.224489795918367, 12),
        logprobs_used: true,
        steps: STEPS,
        steps_from: 'judge',
        evaluation_params: ['input', 'actual_output', 'retrieval_context'],
        threshold: 0.5,
        success: true,
        reason: expect.stringContaining('Names the right capital.'),
        prompt_version: 'geval-2',
        judge_calls: 2,
        // The steps call counts in this row's usage.
        judge_usage: { prompt_tokens: 200, completion_tokens: 20 },
      },
    });
  });

  it('judges with the experiment’s shared steps when given them, writing none', async () => {
    const { call, calls } = scripted(reply, scoreTokens);
    const out = await runJudge('g_eval', launched({ criteria: 'Right capital?' }), input, JUDGE, call, { steps: ['Shared step'] });
    expect(calls).toHaveLength(1);
    expect(calls[0].prompt).toContain('1. Shared step');
    expect(out).not.toHaveProperty('madeSteps');
    expect(out).toMatchObject({ observation: { steps: ['Shared step'], steps_from: 'judge' } });
  });

  it('scores the judge’s integer ÷ 10 when the provider returns no log-probabilities', async () => {
    const { call } = scripted(reply, null);
    const out = await runJudge('g_eval', launched({ evaluation_steps: ['Check it'] }), input, JUDGE, call);
    expect(out).toMatchObject({ score: 0.7, observation: { raw_score: 7, weighted_score: null, logprobs_used: false, logprobs_fallback: 'no logprobs', steps: ['Check it'], steps_from: 'params' } });
    expect(out).not.toHaveProperty('madeSteps');
  });

  it('scores on a rubric’s range, normalized by it', async () => {
    const rubric = [
      { score_range: [5, 10], expected_outcome: 'Right' },
      { score_range: [2, 4], expected_outcome: 'Wrong' },
    ];
    const { call, calls } = scripted('{"reason": "ok", "score": 8}', null);
    const out = await runJudge('g_eval', launched({ evaluation_steps: ['Check it'], rubric }), input, JUDGE, call);
    expect(calls[0].prompt).toContain('## Rubric\n2-4: Wrong\n5-10: Right');
    expect(out).toMatchObject({ score: 0.75, observation: { score_range: [2, 10] } });
  });

  it('in strict mode, asks for 0 or 1 without log-probabilities and needs 1 to succeed', async () => {
    const { call, calls } = scripted('{"reason": "Almost.", "score": 0}', null);
    const out = await runJudge('g_eval', launched({ evaluation_steps: ['Check it'], strict_mode: true }), input, JUDGE, call);
    expect(calls[0].topLogprobs).toBeUndefined();
    expect(out).toMatchObject({ score: 0, observation: { raw_score: 0, weighted_score: null, threshold: 1, success: false, strict_mode: true, prompt_version: 'geval-2-strict' } });
  });

  it('records a score off the scale as the judge’s error, not a score', async () => {
    const { call } = scripted('{"reason": "great", "score": 11}', null);
    expect(await runJudge('g_eval', launched({ evaluation_steps: ['Check it'] }), input, JUDGE, call)).toMatchObject({ error: expect.stringMatching(/score 11 is outside 0–10/) });
  });

  it('keeps a use stored without a scale (launched before it existed) on the 1–5 scale and its prompt', async () => {
    const { call, calls } = scripted('{"steps": [], "reason": "good", "score": 4}', null);
    const out = await runJudge('g_eval', { criteria: 'Correctness', use_output_true: true }, input, JUDGE, call);
    expect(calls).toHaveLength(1);
    expect(calls[0].prompt).toContain('score from 1 (does not meet the criteria) to 5');
    expect(out).toMatchObject({ score: 0.75, observation: { raw_score: 4, prompt_version: 'geval-1' } });
  });
});

describe('g_eval params at launch', () => {
  const columns = new Set(['query', 'output_true']);
  function issues(params: Record<string, unknown>) {
    try {
      checkMetrics([{ name: 'g_eval', params }], { columns, path: 'metrics' });
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).issues;
    }
    throw new Error('expected a ValidationError');
  }

  it('pins the DeepEval scale on a new use, keeps a chosen one', () => {
    expect(launched({ criteria: 'Right?' })).toEqual({ criteria: 'Right?', scale: 'deepeval' });
    expect(launched({ criteria: 'Right?', scale: '1-5' })).toEqual({ criteria: 'Right?', scale: '1-5' });
  });

  it('needs criteria or evaluation_steps', () => {
    expect(issues({})).toEqual([{ path: 'metrics.0.params', message: 'metric g_eval: give criteria, evaluation_steps or both: the judge needs one of them' }]);
    expect(issues({ criteria: '  ' })).toEqual([expect.objectContaining({ path: 'metrics.0.params.criteria', message: 'metric g_eval: criteria must not be empty' })]);
    expect(issues({ evaluation_steps: [] })).toEqual([expect.objectContaining({ path: 'metrics.0.params.evaluation_steps', message: expect.stringMatching(/evaluation_steps must not be empty/) })]);
  });

  it('refuses an unknown evaluation param, naming the ones it takes', () => {
    expect(issues({ criteria: 'Right?', evaluation_params: ['input', 'tools_called'] })).toEqual([
      { path: 'metrics.0.params.evaluation_params.1', message: expect.stringMatching(/^metric g_eval: unknown evaluation param; this g_eval shows input, actual_output, expected_output, context, retrieval_context/) },
    ]);
  });

  it('refuses DeepEval-only params on the 1–5 scale, and overlapping rubric ranges', () => {
    expect(issues({ criteria: 'Right?', scale: '1-5', threshold: 0.7 })).toEqual([{ path: 'metrics.0.params.threshold', message: 'metric g_eval: threshold applies to scale "deepeval" only' }]);
    const rubric = [
      { score_range: [0, 5], expected_outcome: 'Bad' },
      { score_range: [5, 10], expected_outcome: 'Good' },
    ];
    expect(issues({ criteria: 'Right?', rubric })).toEqual([{ path: 'metrics.0.params.rubric', message: 'metric g_eval: the rubric\'s score ranges overlap: [0,5] and [5,10]' }]);
  });

  it('requires the fields its evaluation params show', () => {
    const metric = getMetric('g_eval')!;
    expect(requiredFields(metric, { criteria: 'x' })).toEqual(['query', 'output']);
    expect(requiredFields(metric, { criteria: 'x', evaluation_params: ['actual_output', 'context'] })).toEqual(['output', 'context']);
    // The old flag still adds the expected output.
    expect(requiredFields(metric, { criteria: 'x', use_output_true: true })).toEqual(['query', 'output', 'output_true']);
    // A dataset without the expected output cannot launch a use that shows it.
    expect(() => checkMetrics([{ name: 'g_eval', params: { criteria: 'x', evaluation_params: ['actual_output', 'expected_output'] } }], { columns: new Set(['query']), path: 'metrics' })).toThrow(
      expect.objectContaining({ issues: [{ path: 'metrics.0', message: expect.stringMatching(/requires the field "output_true"/) }] }),
    );
  });
});
