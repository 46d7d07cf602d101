/**
 * Reads a Data API SQL string the way PostgreSQL's lexer would, to find the
 * `:name` placeholders and the statements in it. A `:` is a placeholder only
 * outside string literals ('...', E'...'), quoted identifiers, comments (--, and
 * nested /* *\/) and dollar-quoted strings, and not in the `::` cast operator.
 */

export interface Placeholder {
  name: string;
  /** Offsets of `:name` in the SQL, end exclusive. */
  start: number;
  end: number;
}

export interface ScannedSql {
  placeholders: Placeholder[];
  /** Statements with any content; a trailing `;` does not open a new one. */
  statements: number;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

export function scanSql(sql: string): ScannedSql {
  const placeholders: Placeholder[] = [];
  let statements = 0;
  let content = false;
  const mark = () => {
    if (!content) statements++;
    content = true;
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? sql.length : eol + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth++, (i += 2));
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth--, (i += 2));
        else i++;
      }
    } else if (c === "'") {
      mark();
      // E'...' (any case) takes backslash escapes; a standard string only doubles quotes.
      const escapes = i > 0 && /[eE]/.test(sql[i - 1]) && !(i > 1 && IDENT_PART.test(sql[i - 2]));
      i = skipQuoted(sql, i, "'", escapes);
    } else if (c === '"') {
      mark();
      i = skipQuoted(sql, i, '"', false);
    } else if (c === '$' && !(i > 0 && IDENT_PART.test(sql[i - 1]))) {
      mark();
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 64));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close < 0 ? sql.length : close + tag[0].length;
      } else i++;
    } else if (c === ':') {
      mark();
      if (next === ':') i += 2;
      else if (next !== undefined && IDENT_START.test(next)) {
        let end = i + 2;
        while (end < sql.length && /[A-Za-z0-9_]/.test(sql[end])) end++;
        placeholders.push({ name: sql.slice(i + 1, end), start: i, end });
        i = end;
      } else i++;
    } else if (c === ';') {
      content = false;
      i++;
    } else {
      if (!/\s/.test(c)) mark();
      // An identifier is skipped whole, so `E` in `SOME'...'` is never taken for a prefix.
      if (IDENT_START.test(c)) {
        let end = i + 1;
        while (end < sql.length && IDENT_PART.test(sql[end])) end++;
        i = end;
      } else i++;
    }
  }
  return { placeholders, statements };
}

function skipQuoted(sql: string, open: number, quote: string, backslashEscapes: boolean): number {
  let i = open + 1;
  while (i < sql.length) {
    if (backslashEscapes && sql[i] === '\\') i += 2;
    else if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return i;
}

export interface RewrittenSql {
  text: string;
  /** The parameter names, in $1.. order. */
  order: string[];
  /** A 1-based position in `text` as a position in the caller's SQL. */
  originalPosition(position: number): number;
}

/**
 * Replaces each placeholder whose name is in `bound` with `$n` (one n per name).
 * A placeholder with no parameter stays as written, so PostgreSQL rejects it as
 * it would reject any stray `:` in SQL.
 */
export function rewrite(sql: string, placeholders: Placeholder[], bound: Set<string>): RewrittenSql {
  const order: string[] = [];
  const shifts: { at: number; from: number }[] = [];
  let text = '';
  let last = 0;
  for (const p of placeholders) {
    if (!bound.has(p.name)) continue;
    let n = order.indexOf(p.name);
    if (n < 0) n = order.push(p.name) - 1;
    const replacement = `$${n + 1}`;
    text += sql.slice(last, p.start);
    shifts.push({ at: text.length + replacement.length, from: p.end });
    text += replacement;
    last = p.end;
  }
  text += sql.slice(last);
  return {
    text,
    order,
    originalPosition(position) {
      const offset = position - 1;
      let mapped = offset;
      for (const s of shifts) if (offset >= s.at) mapped = s.from + (offset - s.at);
      return mapped + 1;
    },
  };
}
