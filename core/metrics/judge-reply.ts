/**
 * Reading a judge's reply. Judges are asked for one JSON object, and often
 * wrap it in code fences, add prose around it, leave trailing commas or write
 * numbers as strings; all of that is accepted. A reply with no object in it
 * (a refusal, an apology) is a `JudgeReplyError`, recorded on the observation.
 */
import { pyStrip } from './python-text.js';

export class JudgeReplyError extends Error {
  override name = 'JudgeReplyError';
}

/** The first balanced `{...}` in `text`, ignoring braces inside strings. */
function firstObject(text: string): string | undefined {
  const start = text.indexOf('{');
  if (start === -1) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
}

export function parseJudgeReply(text: string): Record<string, unknown> {
  const unfenced = text.replace(/```(?:json|JSON)?\s*([\s\S]*?)```/g, '$1');
  const candidate = firstObject(unfenced) ?? firstObject(text);
  if (!candidate) throw new JudgeReplyError(`the judge did not reply with a JSON object: ${JSON.stringify(text.slice(0, 200))}`);
  for (const attempt of [candidate, candidate.replace(/,\s*([}\]])/g, '$1')]) {
    try {
      const value = JSON.parse(attempt);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // try the next repair
    }
  }
  throw new JudgeReplyError(`the judge's reply is not valid JSON: ${JSON.stringify(candidate.slice(0, 200))}`);
}

/** A number, or a numeric string ("8", "8.5", "8/10", "score: 7"), as a number. */
function toNumber(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const m = /-?\d+(?:\.\d+)?/.exec(value);
    if (m) return Number(m[0]);
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new JudgeReplyError(`the judge's ${field} is not a number: ${JSON.stringify(value)}`);
}

/** A score within [lo, hi], or a JudgeReplyError saying it is out of range. */
export function scoreIn(value: unknown, lo: number, hi: number): number {
  const n = toNumber(value, 'score');
  if (n < lo || n > hi) throw new JudgeReplyError(`the judge's score ${n} is outside ${lo}–${hi}`);
  return n;
}

type Verdict = 'yes' | 'no' | 'idk';

/** A list of objects under `key`, each with a `verdict` among `allowed` (yes/no/idk unless told). */
export function verdicts<V extends Verdict = Verdict>(
  reply: Record<string, unknown>,
  key: string,
  allowed: readonly V[] = ['yes', 'no', 'idk'] as V[],
): { verdict: V; [k: string]: unknown }[] {
  const list = reply[key];
  if (!Array.isArray(list)) throw new JudgeReplyError(`the judge's reply has no list "${key}"`);
  const expected = allowed.length === 2 ? `${allowed[0]} or ${allowed[1]}` : `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`;
  return list.map((item, i) => {
    const v = String((item as Record<string, unknown>)?.verdict ?? '').trim().toLowerCase();
    if (!(allowed as readonly string[]).includes(v)) throw new JudgeReplyError(`item ${i} of "${key}" has verdict ${JSON.stringify(v)}; expected ${expected}`);
    return { ...(item as Record<string, unknown>), verdict: v as V };
  });
}

/** A list of strings under `key` (truths, claims, questions); numbers and booleans are read as text. */
export function strings(reply: Record<string, unknown>, key: string): string[] {
  const list = reply[key];
  if (!Array.isArray(list)) throw new JudgeReplyError(`the judge's reply has no list "${key}"`);
  return list.map((item, i) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    throw new JudgeReplyError(`item ${i} of "${key}" is not a text: ${JSON.stringify(item).slice(0, 100)}`);
  });
}

/** A list of yes/no answers under `key`, lower-cased. */
export function yesNo(reply: Record<string, unknown>, key: string): ('yes' | 'no')[] {
  return strings(reply, key).map((a, i) => {
    const v = a.trim().toLowerCase().replace(/[.!]$/, '');
    if (v !== 'yes' && v !== 'no') throw new JudgeReplyError(`item ${i} of "${key}" is ${JSON.stringify(a)}; expected yes or no`);
    return v;
  });
}

/**
 * Evalap's split_think_answer (evalap/clients/llm.py): everything up to and
 * including the first `</think>` (any case), else the first `[/think]`, is
 * the judge's reasoning; the rest, stripped, is its answer.
 */
export function afterThink(text: string): string {
  for (const token of [/<\/think>/i, /\[\/think\]/i]) {
    const m = token.exec(text);
    if (m) return pyStrip(text.slice(m.index + m[0].length));
  }
  return pyStrip(text);
}

/** A finite number as Python's float() reads it: sign, digits with single underscores between them, optional fraction and exponent. */
const PY_FLOAT = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;

/**
 * The score Evalap's judges read from an answer (evalap/api/metrics/judge_*.py
 * and adhoc_judge.py): the answer stripped of spaces, newlines, quotes, dots
 * and percent signs at both ends, then read by float(); any value is kept,
 * in range or not. Null when float() would refuse it. Python's float() also
 * takes "inf" and "nan": those are refused here, as no score can hold them.
 */
export function evalapScore(answer: string): number | null {
  const core = pyStrip(answer.replace(/^[ \n"'.%]+|[ \n"'.%]+$/g, ''));
  if (!PY_FLOAT.test(core)) return null;
  const n = Number(core.replaceAll('_', ''));
  return Number.isFinite(n) ? n : null;
}

/**
 * A judge's score from its reply text: Evalap's bare number first (after its
 * think block), else our JSON object's `score`. The reason comes with the
 * JSON form only. Throws JudgeReplyError when neither reads.
 */
export function readScore(text: string): { score: number; reason?: string } {
  const answer = afterThink(text);
  const bare = evalapScore(answer);
  if (bare !== null) return { score: bare };
  const reply = parseJudgeReply(answer);
  const score = toNumber(reply.score, 'score');
  return reply.reason === undefined || reply.reason === null ? { score } : { score, reason: typeof reply.reason === 'string' ? reply.reason : JSON.stringify(reply.reason) };
}

/**
 * A judge's score as Evalap's judges read it (see `readScore`), within
 * `scale` when one is given, with the reply (and the reason, if any) kept as
 * the observation.
 */
export function readScoredReply(answer: string, scale?: readonly [number, number]): { score: number; observation: Record<string, unknown> } {
  const { score, reason } = readScore(answer);
  if (scale) scoreIn(score, scale[0], scale[1]);
  return { score, observation: { ...(reason === undefined ? {} : { reason }), reply: answer.slice(0, 2000) } };
}
