/**
 * What PostgreSQL can store: text without NUL characters, JSON without
 * unpaired UTF-16 surrogates, and (for our own serializers' sake) nesting of
 * bounded depth. Checked on every request before anything is written, so
 * such input is a 400 naming the field, never a database error.
 */
import type { FieldIssue } from './errors.js';

export const MAX_DEPTH = 64;

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (UNPAIRED_SURROGATE.test(s)) return 'contains an unpaired UTF-16 surrogate, which is not valid Unicode';
  return undefined;
}

/** The first unstorable string, key or nesting in `value`, with its path; iterative, so any depth is safe to inspect. */
export function findUnstorable(value: unknown, root = ''): FieldIssue | undefined {
  const stack: [unknown, string, number][] = [[value, root, 0]];
  while (stack.length) {
    const [v, path, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return { path, message: problem };
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_DEPTH) return { path, message: `is nested more than ${MAX_DEPTH} levels deep` };
      for (const [k, child] of Object.entries(v)) {
        const at = path ? `${path}.${k}` : k;
        const keyProblem = textProblem(k);
        if (keyProblem) return { path: at, message: `its name ${keyProblem}` };
        stack.push([child, at, depth + 1]);
      }
    }
  }
  return undefined;
}

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/**
 * `value` with every NUL character and unpaired surrogate (in strings and
 * keys) replaced by U+FFFD. For what a model, a judge or a provider's error
 * returns: the API refuses such input, but output is not ours to refuse, and
 * one such string must not make a whole group commit fail. Returns `value`
 * itself when there was nothing to replace.
 */
export function toStorable<T>(value: T): T {
  return clean(value, 0) as T;
}

function clean(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return UNSTORABLE.test(v) ? v.replace(UNSTORABLE_ALL, '\ufffd') : v;
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    v.forEach((item, i) => {
      const c = clean(item, depth + 1);
      if (c !== item) (out ??= [...v])[i] = c;
    });
    return out ?? v;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, item] of Object.entries(v)) {
    const ck = clean(k, depth + 1) as string;
    const c = clean(item, depth + 1);
    if (c !== item || ck !== k) {
      out ??= { ...(v as Record<string, unknown>) };
      if (ck !== k) delete out[k];
      out[ck] = c;
    }
  }
  return out ?? v;
}
