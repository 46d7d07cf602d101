/**
 * qcm_exactness exactly as Evalap computes it (evalap/api/metrics/qcm.py):
 * the output, stripped of spaces, newlines, quotes and dots at both ends,
 * must be a single word, else there is no score; then the output's first
 * character (of the output as given, not stripped) must equal the expected
 * output. So "B." scores 1 against "B", but " B", "b" and "(B)" score 0.
 */

/** Python's str.isspace() characters, on which str.split() cuts. */
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** Python truthiness of a JSON value: Evalap's runner refuses a row whose output or output_true is falsy. */
const falsy = (v: unknown): boolean =>
  v === null || v === undefined || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

export function qcmExactnessEvalap(output: string, expected: unknown): { score: 0 | 1 | null; observation: null } | { error: string } {
  // evalap/runners/tasks.py checks these before calling the metric.
  if (falsy(output)) return { error: 'the metric qcm_exactness requires a non-empty output' };
  if (falsy(expected)) return { error: 'the metric qcm_exactness requires a non-empty output_true' };
  const words = output.replace(/^[ \n"'.]+|[ \n"'.]+$/g, '').split(PY_SPACE).filter(Boolean);
  if (words.length > 1) return { score: null, observation: null };
  const first = String.fromCodePoint(output.codePointAt(0)!);
  return { score: typeof expected === 'string' && first === expected ? 1 : 0, observation: null };
}
