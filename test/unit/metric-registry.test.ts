/**
 * The metric registry: every plug-in under core/metrics/builtin/ is listed
 * once, validated by its own params schema, and scored by its own scorer or
 * judge.
 */
import { ValidationError } from '../../core/errors.js';
import { judgeOf } from '../../core/metrics/judges.js';
import { getMetric, listMetrics, METRICS } from '../../core/metrics/registry.js';
import { checkMetrics } from '../../core/metrics/requirements.js';
import { isInline, scoreInline } from '../../core/metrics/score.js';

/** Params that make a use of each metric valid; the others take none. */
const VALID_PARAMS: Record<string, Record<string, unknown>> = {
  regex: { pattern: 'Par' },
  json_schema: { schema: { type: 'string' } },
  judge_adhoc: { prompt: 'Grade {{ output }}.' },
  g_eval: { criteria: 'Is it correct?' },
  prompt_alignment: { prompt_instructions: ['Answer in French.'] },
};
/** Params a launch stores differently from those given: g_eval's scale, pinned to the default in force (core/metrics/builtin/g-eval.ts). */
const STORED_PARAMS: Record<string, Record<string, unknown>> = {
  g_eval: { criteria: 'Is it correct?', scale: 'deepeval' },
};
const everyColumn = { columns: new Set(['query', 'output_true', 'context', 'retrieval_context']), path: 'metrics' };
const names = METRICS.map((m) => m.name);
/** Metrics a launch can use: all but those listed only as Evalap lists them. */
const usable = METRICS.filter((m) => !m.unavailable).map((m) => m.name);

describe('the metric registry', () => {
  it('lists each metric once, under a name it can be found by', () => {
    expect(new Set(names).size).toBe(names.length);
    expect(listMetrics().map((m) => m.name)).toEqual(names);
    for (const name of names) expect(getMetric(name)?.name).toBe(name);
  });

  it.each(usable)('accepts %s with valid params', (name) => {
    expect(checkMetrics([{ name, params: VALID_PARAMS[name] ?? null }], everyColumn)).toEqual([{ name, params: STORED_PARAMS[name] ?? VALID_PARAMS[name] ?? null, aliasedName: name }]);
  });

  it.each(usable)('refuses a misspelt param of %s, naming where it is', (name) => {
    let error: unknown;
    try {
      checkMetrics([{ name, params: { ...VALID_PARAMS[name], no_such_param: 1 } }], everyColumn);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path: 'metrics.0.params', message: expect.stringMatching(new RegExp(`^metric ${name}: .*no_such_param`)) }]);
  });

  it('lists the fields each metric requires sorted, as Evalap lists them', () => {
    const listed = new Map(listMetrics().map((m) => [m.name, m.require]));
    expect(listed.get('contextual_precision')).toEqual(['output_true', 'query', 'retrieval_context']);
    expect(listed.get('hallucination')).toEqual(['context', 'output', 'query']);
    for (const [name, require] of listed) expect([name, require]).toEqual([name, [...require].sort()]);
  });

  it("lists Evalap's DeepEval metrics with their params", () => {
    const listed = new Map(listMetrics().map((m) => [m.name, m]));
    expect(listed.get('prompt_alignment')).toMatchObject({ require: ['output', 'query'], required_params: ['prompt_instructions'], optional_params: ['include_reason', 'strict_mode', 'threshold'] });
    expect(listed.get('summarization')).toMatchObject({ require: ['output', 'query'], required_params: [], optional_params: ['assessment_questions', 'include_reason', 'n', 'strict_mode', 'threshold', 'truths_extraction_limit'] });
    expect(listed.get('pii_leakage')).toMatchObject({ require: ['output', 'query'], optional_params: ['include_reason', 'strict_mode', 'threshold'], higher_is_better: true });
    expect(listed.get('faithfulness')).toMatchObject({ optional_params: ['include_reason', 'penalize_ambiguous_claims', 'strict_mode', 'threshold', 'truths_extraction_limit'] });
    expect(listed.get('ragas')).toMatchObject({ require: ['output_true', 'query', 'retrieval_context'], optional_params: ['embeddings', 'threshold'], score_range: [0, 1] });
  });

  it('refuses a launch using ragas, saying why, however it is named', () => {
    for (const ref of ['ragas', { name: 'ragas', params: { threshold: 0.5 } }]) {
      let error: unknown;
      try {
        checkMetrics([ref], everyColumn);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([{ path: 'metrics.0', message: expect.stringMatching(/^metric ragas: .*cannot be scored here: .*embedding model/) }]);
    }
  });

  it('scores a metric inline exactly when it has no judge, and judges every llm and rag metric', () => {
    for (const m of METRICS) {
      expect([m.name, isInline(m.name)]).toEqual([m.name, m.type === 'deterministic' || m.type === 'ops']);
      expect([m.name, judgeOf(m.name) !== undefined]).toEqual([m.name, !isInline(m.name)]);
    }
    // What the UI's launch form reads to offer a judge: rag metrics need one as llm ones do.
    const listed = new Map(listMetrics().map((m) => [m.name, m.needs_judge]));
    expect(listed.get('faithfulness')).toBe(true);
    expect(listed.get('judge_exactness')).toBe(true);
    expect(listed.get('bleu')).toBe(false);
    for (const m of METRICS) expect([m.name, listed.get(m.name)]).toEqual([m.name, !isInline(m.name)]);
  });

  it('gives each judge prompt its own version, so observations of different prompts never mix', () => {
    const versions = names.filter((n) => !isInline(n)).map((n) => judgeOf(n)!.version);
    expect(new Set(versions).size).toBe(versions.length);
  });

  it.each(names.filter(isInline))('scores an ordinary row with %s within its range, or gives no score', (name) => {
    const row = { output: 'Paris has 2 100 000 inhabitants.', output_true: 'Paris, 2.1 million', execution_time: 1200, nb_tokens_prompt: 12, nb_tokens_completion: 5, nb_tool_calls: 0 };
    const out = scoreInline(name, VALID_PARAMS[name] ?? null, row);
    expect(out).not.toHaveProperty('error');
    const { score } = out as { score: number | null };
    if (score === null) return;
    const [lo, hi] = getMetric(name)!.range;
    expect(score).toBeGreaterThanOrEqual(lo);
    expect(score).toBeLessThanOrEqual(hi);
  });

  it('refuses to score an unknown or judged metric inline', () => {
    expect(scoreInline('telepathy', null, { output: 'x' })).toEqual({ error: 'metric telepathy cannot be computed by this version yet' });
    expect(scoreInline('judge_notator', null, { output: 'x' })).toEqual({ error: 'metric judge_notator cannot be computed by this version yet' });
  });
});
