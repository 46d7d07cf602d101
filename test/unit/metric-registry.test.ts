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
};
const everyColumn = { columns: new Set(['query', 'output_true', 'context', 'retrieval_context']), path: 'metrics' };
const names = METRICS.map((m) => m.name);

describe('the metric registry', () => {
  it('lists each metric once, under a name it can be found by', () => {
    expect(new Set(names).size).toBe(names.length);
    expect(listMetrics().map((m) => m.name)).toEqual(names);
    for (const name of names) expect(getMetric(name)?.name).toBe(name);
  });

  it.each(names)('accepts %s with valid params', (name) => {
    expect(checkMetrics([{ name, params: VALID_PARAMS[name] ?? null }], everyColumn)).toEqual([{ name, params: VALID_PARAMS[name] ?? null, aliasedName: name }]);
  });

  it.each(names)('refuses a misspelt param of %s, naming where it is', (name) => {
    let error: unknown;
    try {
      checkMetrics([{ name, params: { ...VALID_PARAMS[name], no_such_param: 1 } }], everyColumn);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path: 'metrics.0.params', message: expect.stringMatching(new RegExp(`^metric ${name}: .*no_such_param`)) }]);
  });

  it('scores a metric inline exactly when it has no judge, and judges every llm and rag metric', () => {
    for (const m of METRICS) {
      expect([m.name, isInline(m.name)]).toEqual([m.name, m.type === 'deterministic' || m.type === 'ops']);
      expect([m.name, judgeOf(m.name) !== undefined]).toEqual([m.name, !isInline(m.name)]);
    }
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
