/**
 * Python's string and truth rules, for the metrics that must score exactly
 * as Evalap's Python code does (JS's trim() and \s differ from str.isspace()).
 */

/** Python's str.isspace() characters, as a regular-expression class body. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'u');
const PY_SPACE_ENDS = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');

/** Python's str.strip() with no argument. */
export const pyStrip = (s: string): string => s.replace(PY_SPACE_ENDS, '');

/** Python's str.split() with no argument: no empty words. */
export const pySplit = (s: string): string[] => s.split(PY_SPACE_RUN).filter(Boolean);

/** Python's truthiness of a JSON value: None, False, 0, '', [] and {} are false. */
export const pyFalsy = (v: unknown): boolean =>
  v === null || v === undefined || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
