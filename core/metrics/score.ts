/**
 * Scoring of the metrics that need no model call, computed in the task that
 * produced (or read) the answer. A metric never throws: bad input is a
 * recorded error on its observation.
 */
import { getMetric } from './registry.js';

/** What a metric sees of one row: the answer and the dataset fields (after columns_map). */
export interface ScoreInput {
  output: string;
  output_true?: unknown;
  query?: unknown;
  context?: unknown;
  retrieval_context?: unknown;
  think?: string | null;
  execution_time?: number | null;
  nb_tokens_prompt?: number | null;
  nb_tokens_completion?: number | null;
  nb_tool_calls?: number | null;
  [column: string]: unknown;
}

export type ScoreOutcome = { score: number | null; observation: unknown } | { error: string };

type Scorer = (input: ScoreInput, params: Record<string, any>) => ScoreOutcome;

const text = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function normalize(s: string, p: { ignore_case?: boolean; ignore_whitespace?: boolean; ignore_punctuation?: boolean }): string {
  let out = s.trim();
  if (p.ignore_case) out = out.toLowerCase();
  if (p.ignore_punctuation) out = out.replace(/[\p{P}\p{S}]/gu, '');
  if (p.ignore_whitespace) out = out.replace(/\s+/g, ' ').trim();
  return out;
}

/** Levenshtein distance over code points, two rows of memory. */
export function levenshtein(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length];
}

const firstNumber = (s: string): number | null => {
  const m = /-?\d+(?:[.,]\d+)?(?:e[-+]?\d+)?/i.exec(s.replace(/(\d)[\s\u00a0](?=\d{3}\b)/g, '$1'));
  return m ? Number(m[0].replace(',', '.')) : null;
};

const opsField = (field: 'execution_time' | 'nb_tokens_prompt' | 'nb_tokens_completion' | 'nb_tool_calls', scale = 1): Scorer => (input) => {
  const v = input[field];
  return typeof v === 'number' ? { score: v * scale, observation: null } : { error: `the answer has no ${field}` };
};

const SCORERS: Record<string, Scorer> = {
  exact_match: (i, p) => {
    const match = normalize(i.output, p) === normalize(text(i.output_true), p);
    return { score: match ? 1 : 0, observation: null };
  },
  contains: (i, p) => ({ score: normalize(i.output, p).includes(normalize(text(i.output_true), p)) ? 1 : 0, observation: null }),
  starts_with: (i, p) => ({ score: normalize(i.output, p).startsWith(normalize(text(i.output_true), p)) ? 1 : 0, observation: null }),
  regex: (i, p) => ({ score: new RegExp(p.pattern, p.flags ?? '').test(i.output) ? 1 : 0, observation: null }),
  json_valid: (i) => {
    try {
      JSON.parse(i.output);
      return { score: 1, observation: null };
    } catch (err) {
      return { score: 0, observation: (err as Error).message };
    }
  },
  levenshtein_ratio: (i) => {
    const a = i.output;
    const b = text(i.output_true);
    const len = [...a].length + [...b].length;
    return { score: len === 0 ? 1 : 1 - levenshtein(a, b) / Math.max([...a].length, [...b].length), observation: null };
  },
  numeric_diff: (i, p) => {
    const got = firstNumber(i.output);
    const want = typeof i.output_true === 'number' ? i.output_true : firstNumber(text(i.output_true));
    if (want === null) return { error: 'output_true holds no number' };
    if (got === null) return { score: null, observation: 'the output holds no number' };
    const diff = Math.abs(got - want);
    return { score: p.relative ? (want === 0 ? diff : diff / Math.abs(want)) : diff, observation: { output: got, output_true: want } };
  },
  output_length: (i) => ({ score: i.output.split(/\s+/).filter(Boolean).length, observation: null }),
  generation_time: opsField('execution_time', 1 / 1000),
  nb_tokens_prompt: opsField('nb_tokens_prompt'),
  nb_tokens_completion: opsField('nb_tokens_completion'),
  nb_tool_calls: opsField('nb_tool_calls'),
};

/** Whether a metric is scored inline (no model call) rather than by an observation task. */
export function isInline(name: string): boolean {
  const def = getMetric(name);
  return def !== undefined && (def.type === 'deterministic' || def.type === 'ops');
}

/** Scores one inline metric on one row; never throws. */
export function scoreInline(name: string, params: Record<string, unknown> | null, input: ScoreInput): ScoreOutcome {
  const scorer = SCORERS[name];
  if (!scorer) return { error: `metric ${name} cannot be computed by this version yet` };
  try {
    return scorer(input, params ?? {});
  } catch (err) {
    return { error: `metric ${name} failed: ${(err as Error).message}` };
  }
}
