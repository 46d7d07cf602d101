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

/**
 * In JSON.stringify's output (well-formed: a lone surrogate is written as an
 * escape, a valid pair as itself), the escape of a NUL or of a lone
 * surrogate, not preceded by an escaping backslash.
 */
const UNSTORABLE_ESCAPE = /(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;

/**
 * `value` as JSON PostgreSQL can store: every NUL character and unpaired
 * surrogate, in strings and keys, replaced by U+FFFD. For what a model, a
 * judge or a provider's error returns: the API refuses such input, but output
 * is not ours to refuse, and one such string must not make a whole group
 * commit fail. One pass over the text that is sent anyway, no walk of the value.
 */
export function storableJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSTORABLE_ESCAPE, '\\ufffd');
}
