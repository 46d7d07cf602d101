/**
 * Dataset uploads turned into rows: a pandas `DataFrame.to_json` string (any
 * orient that carries column names), JSON Lines, or CSV. Every problem with
 * the input is a `DataFrameError` whose message says where it is; rows in `df`
 * are counted from 0 like a pandas index, lines of JSONL and CSV from 1.
 *
 * Column order is order of first appearance, with one caveat inherited from
 * `JSON.parse`: JavaScript objects list integer-like keys ("0", "2024") first,
 * in ascending order, so such column names come before the others.
 */
import { ValidationError, type FieldIssue } from './errors.js';

export type Row = Record<string, unknown>;
export interface ParsedFrame {
  columns: string[];
  rows: Row[];
}

export class DataFrameError extends ValidationError {
  override name = 'DataFrameError';
  constructor(message: string, issues: FieldIssue[] = []) {
    super(message, issues);
  }
}

type JsonObject = Record<string, unknown>;

const NON_NEGATIVE_INTEGER = /^(0|[1-9]\d*)$/;
const INTEGER = /^-?(0|[1-9]\d*)$/;

function fail(message: string): never {
  throw new DataFrameError(message);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function stripBom(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

function checkColumnName(name: unknown, where: string): string {
  if (typeof name !== 'string' || name === '') fail(`${where}: column names must be non-empty strings`);
  return name;
}

/** Keys of all `objects`, in order of first appearance. */
function unionKeys(objects: JsonObject[]): string[] {
  const keys = new Set<string>();
  for (const object of objects) for (const key of Object.keys(object)) keys.add(key);
  return [...keys];
}

/** Index labels in numeric order when they are all integers, else as given. */
function orderIndex(keys: string[]): string[] {
  if (!keys.every((key) => INTEGER.test(key))) return keys;
  // BigInt so that epoch-nanosecond labels beyond 2^53 still sort exactly.
  return [...keys].sort((a, b) => {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
}

function cell(source: JsonObject, key: string): unknown {
  // hasOwn, not `in` or a plain read: keys like "toString" or "__proto__" must not reach Object.prototype.
  return Object.hasOwn(source, key) ? source[key] : null;
}

/** Rows with exactly `columns`, missing cells null. fromEntries because assigning "__proto__" would not create a key. */
function buildFrame(columns: string[], sources: JsonObject[], where: string): ParsedFrame {
  if (sources.length === 0) fail(`${where} has no rows`);
  const rows = sources.map((source) => Object.fromEntries(columns.map((column) => [column, cell(source, column)])));
  return { columns, rows };
}

function fromRecords(records: unknown[]): ParsedFrame {
  records.forEach((record, i) => {
    if (!isObject(record)) fail(`df: row ${i} is not an object (got ${describe(record)})`);
    for (const key of Object.keys(record)) checkColumnName(key, `df: row ${i}`);
  });
  const objects = records as JsonObject[];
  return buildFrame(unionKeys(objects), objects, 'df');
}

function fromTable(table: JsonObject, data: unknown[]): ParsedFrame {
  const frame = fromRecords(data);
  const schema = table.schema;
  const primaryKey = isObject(schema) ? schema.primaryKey : undefined;
  // pandas adds the default RangeIndex as an "index" field; it is not data.
  if (Array.isArray(primaryKey) && primaryKey.length === 1 && primaryKey[0] === 'index') {
    const columns = frame.columns.filter((column) => column !== 'index');
    if (columns.length === 0) fail('df has no columns besides the index');
    for (const row of frame.rows) delete row.index;
    return { columns, rows: frame.rows };
  }
  return frame;
}

function fromSplit(split: JsonObject): ParsedFrame {
  const { columns, data } = split;
  if (!Array.isArray(columns)) fail('df: orient split needs "columns", an array of column names');
  if (!Array.isArray(data)) fail('df: orient split needs "data", an array of rows');
  const seen = new Set<string>();
  columns.forEach((name, i) => {
    checkColumnName(name, `df: columns[${i}]`);
    if (seen.has(name)) fail(`df: duplicate column name ${JSON.stringify(name)}`);
    seen.add(name);
  });
  const names = columns as string[];
  // The row order is the order of "data"; "index" labels are not kept.
  const sources = data.map((values, i) => {
    if (!Array.isArray(values)) fail(`df: data row ${i} is not an array (got ${describe(values)})`);
    if (values.length !== names.length) {
      fail(`df: data row ${i} has ${values.length} values but there are ${names.length} columns`);
    }
    return Object.fromEntries(names.map((name, j) => [name, values[j]])) as JsonObject;
  });
  return buildFrame(names, sources, 'df');
}

/** Orient columns `{col: {index: value}}` or index `{index: {col: value}}`. */
function fromNested(outer: JsonObject): ParsedFrame {
  const outerKeys = Object.keys(outer);
  for (const key of outerKeys) {
    const inner = outer[key];
    if (!isObject(inner)) {
      fail(
        `df: ${JSON.stringify(key)} maps to ${describe(inner)}, but in orient columns or index every ` +
          'top-level value must be an object; use orient records, columns or split',
      );
    }
  }
  const inners = outerKeys.map((key) => outer[key] as JsonObject);
  const innerKeys = unionKeys(inners);
  const isIndexOrient =
    outerKeys.every((key) => NON_NEGATIVE_INTEGER.test(key)) && !innerKeys.every((key) => NON_NEGATIVE_INTEGER.test(key));

  if (isIndexOrient) {
    const rowKeys = orderIndex(outerKeys);
    rowKeys.forEach((rowKey) => {
      for (const column of Object.keys(outer[rowKey] as JsonObject)) checkColumnName(column, `df: row ${JSON.stringify(rowKey)}`);
    });
    return buildFrame(innerKeys, rowKeys.map((rowKey) => outer[rowKey] as JsonObject), 'df');
  }

  for (const column of outerKeys) checkColumnName(column, 'df');
  const rowKeys = orderIndex(innerKeys);
  const sources = rowKeys.map((rowKey) => Object.fromEntries(outerKeys.map((column) => [column, cell(outer[column] as JsonObject, rowKey)])));
  return buildFrame(outerKeys, sources, 'df');
}

/** Parses `df`, a JSON string as produced by pandas DataFrame.to_json in any of the orients Evalap clients send. */
export function parseDataFrameJson(df: string): ParsedFrame {
  if (typeof df !== 'string') fail(`df must be a string holding JSON, got ${describe(df)}`);
  let value: unknown;
  try {
    value = JSON.parse(stripBom(df));
  } catch (error) {
    fail(`df: invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }

  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((row) => Array.isArray(row))) {
      fail('df looks like orient "values", which has no column names; send it with orient records, columns or split');
    }
    return fromRecords(value);
  }
  if (!isObject(value)) {
    fail(`df: expected a JSON object or array as written by pandas DataFrame.to_json, got ${describe(value)}`);
  }
  // What pandas writes for a DataFrame with no columns and no rows; Evalap stores it as an empty dataset.
  if (Object.keys(value).length === 0) return { columns: [], rows: [] };
  // In orient columns/index every top-level value is an object, so an array under
  // "data" or "columns" can only mean orient split or table.
  if (Array.isArray(value.data) && Object.hasOwn(value, 'schema')) return fromTable(value, value.data);
  if (Array.isArray(value.data) || Array.isArray(value.columns)) return fromSplit(value);
  return fromNested(value);
}

/** One JSON object per non-blank line. */
export function parseJsonl(text: string): ParsedFrame {
  if (typeof text !== 'string') fail(`JSONL must be a string, got ${describe(text)}`);
  const records: JsonObject[] = [];
  stripBom(text)
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        fail(`line ${i + 1}: invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (!isObject(value)) fail(`line ${i + 1}: expected a JSON object, got ${describe(value)}`);
      for (const key of Object.keys(value)) checkColumnName(key, `line ${i + 1}`);
      records.push(value);
    });
  return buildFrame(unionKeys(records), records, 'JSONL');
}

interface CsvRecord {
  /** Line on which the record starts. */
  line: number;
  /** null for an empty unquoted field. */
  fields: (string | null)[];
}

function isLineEnd(text: string, i: number): boolean {
  return text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n');
}

/** RFC 4180 records; a line break is `\n` or `\r\n`, and completely empty lines are skipped as pandas does. */
function* csvRecords(text: string): Generator<CsvRecord> {
  const n = text.length;
  let i = 0;
  let line = 1;
  const skipLineEnd = () => {
    i += text[i] === '\n' ? 1 : 2;
    line++;
  };

  while (i < n) {
    if (isLineEnd(text, i)) {
      skipLineEnd();
      continue;
    }
    const start = line;
    const fields: (string | null)[] = [];
    for (;;) {
      if (text[i] === '"') {
        const quoteLine = line;
        let value = '';
        i++;
        for (;;) {
          const close = text.indexOf('"', i);
          if (close === -1) fail(`CSV line ${quoteLine}: unterminated quoted field`);
          const chunk = text.slice(i, close);
          value += chunk;
          for (const ch of chunk) if (ch === '\n') line++;
          if (text[close + 1] === '"') {
            value += '"';
            i = close + 2;
          } else {
            i = close + 1;
            break;
          }
        }
        if (i < n && text[i] !== ',' && !isLineEnd(text, i)) {
          fail(`CSV line ${line}: unexpected ${JSON.stringify(text[i])} after a closing quote`);
        }
        fields.push(value);
      } else {
        // A quote inside an unquoted field is kept literally, as Python's csv module does.
        let end = i;
        while (end < n && text[end] !== ',' && !isLineEnd(text, end)) end++;
        fields.push(end === i ? null : text.slice(i, end));
        i = end;
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (i < n) skipLineEnd();
      break;
    }
    yield { line: start, fields };
  }
}

/** CSV with a header row; cells stay strings, an empty unquoted cell is null. */
export function parseCsv(text: string): ParsedFrame {
  if (typeof text !== 'string') fail(`CSV must be a string, got ${describe(text)}`);
  const records = csvRecords(stripBom(text));
  const first = records.next();
  if (first.done) fail('CSV is empty: a header row is required');
  const header = first.value;
  const columns: string[] = [];
  header.fields.forEach((name, i) => {
    if (name === null || name === '') fail(`CSV line ${header.line}: column ${i + 1} has an empty name`);
    if (columns.includes(name)) fail(`CSV line ${header.line}: duplicate column name ${JSON.stringify(name)}`);
    columns.push(name);
  });

  const sources: JsonObject[] = [];
  for (const { line, fields } of records) {
    if (fields.length !== columns.length) {
      fail(`CSV line ${line}: expected ${columns.length} fields as in the header, found ${fields.length}`);
    }
    sources.push(Object.fromEntries(columns.map((column, j) => [column, fields[j]])));
  }
  return buildFrame(columns, sources, 'CSV');
}
