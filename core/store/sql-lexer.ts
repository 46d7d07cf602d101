/**
 * Just enough of PostgreSQL's lexical rules to find what is code: string
 * literals ('…', E'…' with backslash escapes), quoted identifiers, comments
 * and dollar-quoted bodies ($$…$$, $tag$…$tag$, which may hold `$1` and `;`
 * of their own) are passed through untouched. Used to rename placeholders
 * for the Data API and to split migrations into single statements (the Data
 * API runs one statement per call).
 */

export interface Segment {
  /** 'code' is SQL outside any literal, identifier quote, comment or dollar-quoted body. */
  kind: 'code' | 'other';
  text: string;
}

/** Length of the quoted run starting at `start` (doubled quotes, and backslashes in E'' strings, escape). */
function quoted(sql: string, start: number, q: string, backslashes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    if (backslashes && sql[i] === '\\') i += 2;
    else if (sql[i] === q && sql[i + 1] === q) i += 2;
    else if (sql[i] === q) return i + 1 - start;
    else i += 1;
  }
  return sql.length - start;
}

/** Length of the non-code run starting at `i`, or 0 if code starts there. */
function nonCode(sql: string, i: number): number {
  const c = sql[i];
  if (c === "'") return quoted(sql, i, "'", /[eE]/.test(sql[i - 1] ?? '') && !/\w/.test(sql[i - 2] ?? ''));
  if (c === '"') return quoted(sql, i, '"', false);
  if (c === '-' && sql[i + 1] === '-') {
    const end = sql.indexOf('\n', i);
    return (end < 0 ? sql.length : end) - i;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2);
    return (end < 0 ? sql.length : end + 2) - i;
  }
  if (c === '$' && !/\w/.test(sql[i - 1] ?? '')) {
    const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
    if (tag) {
      const end = sql.indexOf(tag[0], i + tag[0].length);
      return (end < 0 ? sql.length : end + tag[0].length) - i;
    }
  }
  return 0;
}

/** `sql` cut into code and non-code segments, in order; joined, they give `sql` back. */
export function segments(sql: string): Segment[] {
  const out: Segment[] = [];
  // Start of the code run being scanned: it is sliced out whole when a non-code run (or the end) is met.
  let codeStart = 0;
  let i = 0;
  while (i < sql.length) {
    const skip = nonCode(sql, i);
    if (skip === 0) {
      i += 1;
      continue;
    }
    if (i > codeStart) out.push({ kind: 'code', text: sql.slice(codeStart, i) });
    out.push({ kind: 'other', text: sql.slice(i, i + skip) });
    i += skip;
    codeStart = i;
  }
  if (sql.length > codeStart) out.push({ kind: 'code', text: sql.slice(codeStart) });
  return out;
}

/** The statements of a script, without their `;`; empty ones (and comment-only ones) dropped. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let hasCode = false;
  for (const s of segments(sql)) {
    if (s.kind === 'other') {
      current += s.text;
      if (!s.text.startsWith('--') && !s.text.startsWith('/*')) hasCode = true;
      continue;
    }
    const parts = s.text.split(';');
    parts.forEach((part, i) => {
      if (i > 0) {
        if (hasCode) statements.push(current.trim());
        current = '';
        hasCode = false;
      }
      current += part;
      if (part.trim()) hasCode = true;
    });
  }
  if (hasCode && current.trim()) statements.push(current.trim());
  return statements;
}

/** `$n` placeholders as the Data API's named parameters `:pn`, in code only. */
export function namedPlaceholders(sql: string): string {
  return segments(sql)
    .map((s) => (s.kind === 'code' ? s.text.replace(/\$(\d+)/g, ':p$1') : s.text))
    .join('');
}
