/**
 * Fuzz test of two of the API's rules: no input, however malformed, produces a
 * 500; and nothing is written when a request is rejected.
 *
 * Every request is generated up front from a seeded PRNG (SEED below), so a
 * failure replays exactly by running this file again. Requests hit every route
 * of the route table, with junk and real ids, junk query strings, junk content
 * types and junk bodies. Bodies sent to POST and PATCH routes are always
 * invalid: either structurally (an unknown field, a wrong root, broken JSON, a
 * wrong media type) or semantically (a valid shape that the core must refuse
 * before it writes: a dataset that does not exist, a duplicate name, an
 * unknown metric, a dataset already used by experiments). So the footprint
 * (row counts and queued messages) must not move, whatever the statuses.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import type { Logger } from '../../core/logger.js';
import { createApiHandler, resourceRoutes, type ApiHandler } from '../../functions/api/handler.js';
import type { Route } from '../../functions/api/http.js';
import { createApiServer, listen } from '../../local/http-server.js';
import { makeDf, startApi, type TestApi } from '../support/api.js';

/** Change to explore other inputs; a failure names the seed it was found with. */
const SEED = 0x5eed1234;
const TOTAL = 4000;
const CONCURRENCY = 8;
/** A body limit below the default, so a few generated bodies exceed it (413). */
const MAX_BODY = 256 * 1024;

// ------------------------------------------------------------------ PRNG

/** mulberry32: tiny, fast, and good enough to pick inputs. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** One of the values, by weight. */
  weighted<T>(pairs: readonly (readonly [number, T])[]): T {
    const total = pairs.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, v] of pairs) {
      if ((r -= w) < 0) return v;
    }
    return pairs[pairs.length - 1][1];
  }
  hex(n = 8): string {
    let s = '';
    for (let i = 0; i < n; i++) s += this.int(0, 15).toString(16);
    return s;
  }
}

// ------------------------------------------------------- a tiny JSON AST
// Plain JS objects cannot hold an own "__proto__" key built by assignment, nor
// numbers like 1e999: the AST can, and serializes them verbatim.

/** JSON text written as is (1e999, -0, big integers, whole sub-documents). */
class Raw {
  constructor(readonly text: string) {}
}
/** An object as a list of entries: duplicate and "__proto__" keys allowed. */
class Obj {
  constructor(public entries: [string, J][] = []) {}
  get(key: string): J | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i][0] === key) return this.entries[i][1];
    return undefined;
  }
  /** Replaces every entry of `key` with one, last: JSON.parse keeps the last duplicate. */
  set(key: string, value: J): this {
    this.delete(key);
    this.entries.push([key, value]);
    return this;
  }
  delete(key: string): this {
    this.entries = this.entries.filter(([k]) => k !== key);
    return this;
  }
  keys(): string[] {
    return this.entries.map(([k]) => k);
  }
}
type J = null | boolean | number | string | Raw | Obj | J[];

function ser(v: J): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Obj) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${ser(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(ser).join(',')}]`;
  return JSON.stringify(v) ?? 'null';
}

/** Plain JS to the AST; undefined fields are dropped. */
function js(v: unknown): J {
  if (v === undefined || v === null) return null;
  if (v instanceof Raw || v instanceof Obj) return v;
  if (Array.isArray(v)) return v.map(js);
  if (typeof v === 'object') return new Obj(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).map(([k, x]) => [k, js(x)]));
  return v as J;
}

// ------------------------------------------------------------ generators

/** Field names of the schemas, and keys that trip naive code. */
const FIELD_NAMES = [
  'name', 'df', 'model', 'metrics', 'dataset', 'cv', 'grid_params', 'common_params', 'repeat', 'output', 'sample', 'base_url',
  'readme', 'default_metric', 'columns_map', 'compliance', 'judge_model', 'experiment_set_id', 'experiments', 'rerun_answers',
  'aliased_name', 'api_key', 'params', 'sampling_params', 'extra_params', 'system_prompt', 'prelude_prompt', 'execution_time',
  'nb_tokens_prompt', 'context', 'retrieval_context', 'think', 'requests_per_minute', 'query', 'output_true', 'columns', 'data',
  'index', 'schema', 'primaryKey', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'name ',
  'NAME', '\u0000', 'ñ', '🙂', '0', '-1', '1e3',
] as const;

const NASTY_STRINGS = [
  '', ' ', '   ', '\u0000', 'a\u0000b', 'fuzz\u0000', '\ud800', 'x\udfff\ud800y', '🙂', '\u202eevil', '\u200b', 'ñ', 'Ω≈ç√∫', '中文名',
  '\r\n', '\t', '\u0007\u001b[31m', 'NaN', 'Infinity', '-Infinity', 'null', 'undefined', 'true', '1e999', '-1', '0x10', '0',
  "'; DROP TABLE dataset; --", '<script>alert(1)</script>', '{{query}}', '{{ output }} {{nope}}', '${process.env}', '%s%s%n',
  '../../etc/passwd', 'http://', 'https://[::1', 'ftp://example.com', 'javascript:alert(1)', 'http://127.0.0.1:9/v1',
  'exact_match', 'regex', 'judge_adhoc', 'fuzz_nope_metric', '__proto__', 'constructor', '[]', '{}', '[{"query":"q"}]', '[[1,2]]',
  '{"columns":["a"],"data":[[1]]}', 'query,output_true\n"a",b', '(a+)+$', '[', '\\', '"', "'", 'x'.repeat(201),
] as const;

const EDGE_NUMBERS: readonly J[] = [
  0, 1, -1, 2.5, -0.5, 100, 1000, 1001, 2147483647, 2147483648, -2147483649, 4294967296, 9007199254740991, 1e308, -1e308,
  5e-324, new Raw('-0'), new Raw('1e999'), new Raw('-1e999'), new Raw('1E-400'), new Raw('123456789012345678901234567890'),
  new Raw('9007199254740993'), new Raw('0.1e1'), new Raw('1.0'),
];

/** Tokens that make the whole document invalid JSON. */
const INVALID_TOKENS = [new Raw('NaN'), new Raw('undefined'), new Raw("'x'"), new Raw('01'), new Raw('+1'), new Raw('.5'), new Raw('tru')];

function randomChars(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const kind = rng.int(0, 9);
    if (kind < 5) s += String.fromCharCode(rng.int(0x20, 0x7e));
    else if (kind === 5) s += String.fromCharCode(rng.int(0, 0x1f));
    else if (kind === 6) s += String.fromCharCode(rng.int(0xa0, 0x24f));
    else if (kind === 7) s += String.fromCharCode(rng.int(0x4e00, 0x9fff));
    else if (kind === 8) s += String.fromCodePoint(rng.int(0x1f300, 0x1faff));
    else s += String.fromCharCode(rng.int(0xd800, 0xdfff)); // a lone surrogate
  }
  return s;
}

function nastyString(rng: Rng): string {
  return rng.weighted<() => string>([
    [5, () => rng.pick(NASTY_STRINGS)],
    [4, () => randomChars(rng, rng.int(1, 24))],
    [1, () => rng.pick(NASTY_STRINGS) + randomChars(rng, 3)],
    // ~100 KB
    [0.3, () => (rng.chance(0.5) ? 'x'.repeat(100_000) : randomChars(rng, 64).repeat(1600))],
  ])();
}

/** Arrays nested `depth` deep around `inner`, as raw text. */
const deepArray = (depth: number, inner = 'null') => new Raw('['.repeat(depth) + inner + ']'.repeat(depth));
const deepObject = (depth: number, key = 'a') => new Raw(`{${JSON.stringify(key)}:`.repeat(depth) + 'null' + '}'.repeat(depth));

function deepValue(rng: Rng): J {
  const depth = rng.weighted([
    [8, 50],
    [1, 1000],
    [1, 5000],
    [0.4, 60_000],
  ] as const);
  return rng.chance(0.6) ? deepArray(depth, rng.chance(0.5) ? 'null' : ser(nastyString(rng))) : deepObject(depth, rng.pick(FIELD_NAMES));
}

function randomScalar(rng: Rng): J {
  return rng.weighted<() => J>([
    [4, () => nastyString(rng)],
    [3, () => rng.pick(EDGE_NUMBERS)],
    [1, () => rng.chance(0.5)],
    [1, () => null],
  ])();
}

function randomObj(rng: Rng, depth: number): Obj {
  const o = new Obj();
  const n = rng.int(0, 6);
  for (let i = 0; i < n; i++) o.entries.push([rng.chance(0.75) ? rng.pick(FIELD_NAMES) : nastyString(rng).slice(0, 64), randomJson(rng, depth + 1)]);
  return o;
}

function randomJson(rng: Rng, depth = 0): J {
  if (depth > 4) return randomScalar(rng);
  return rng.weighted<() => J>([
    [10, () => randomScalar(rng)],
    [4, () => Array.from({ length: rng.int(0, 5) }, () => randomJson(rng, depth + 1))],
    [5, () => randomObj(rng, depth)],
    [0.7, () => deepValue(rng)],
  ])();
}

/** A value of about the same type as `v`: keeps more requests past the schema. */
function typedLike(rng: Rng, v: J | undefined): J {
  if (typeof v === 'string') return nastyString(rng);
  if (typeof v === 'number' || v instanceof Raw) return rng.pick(EDGE_NUMBERS);
  if (Array.isArray(v)) return v.length && rng.chance(0.7) ? v.map((x) => (rng.chance(0.5) ? typedLike(rng, x) : x)) : rng.pick<J>([[], [null], [nastyString(rng)], deepArray(50)]);
  if (v instanceof Obj) {
    const copy = new Obj([...v.entries]);
    mutate(rng, copy, new Set(), true, 1);
    return copy;
  }
  return randomScalar(rng);
}

/** Applies `times` random edits to `o`, never touching the `protect`ed keys. */
function mutate(rng: Rng, o: Obj, protect: ReadonlySet<string>, typed: boolean, times: number): void {
  for (let i = 0; i < times; i++) {
    const keys = o.keys().filter((k) => !protect.has(k));
    const op = rng.weighted([
      [5, 'replace'],
      [1, 'delete'],
      [2, 'add'],
      [2, 'nested'],
    ] as const);
    if (op === 'replace' && keys.length) {
      const k = rng.pick(keys);
      o.set(k, typed && rng.chance(0.8) ? typedLike(rng, o.get(k)) : randomJson(rng, 2));
    } else if (op === 'delete' && keys.length) {
      o.delete(rng.pick(keys));
    } else if (op === 'add') {
      const k = rng.pick(FIELD_NAMES);
      if (!protect.has(k)) o.entries.push([k, randomJson(rng, 2)]);
    } else if (keys.length) {
      const v = o.get(rng.pick(keys));
      if (v instanceof Obj) mutate(rng, v, new Set(), typed, 1);
      else if (Array.isArray(v) && v.length) {
        const j = rng.int(0, v.length - 1);
        const x = v[j];
        if (x instanceof Obj) mutate(rng, x, new Set(), typed, 1);
        else v[j] = typedLike(rng, x);
      }
    }
  }
}

/** A pandas-style `df` string: valid, hostile or broken, in every orient. */
function dfText(rng: Rng): string {
  const cell = (): J => (rng.chance(0.6) ? nastyString(rng) : randomJson(rng, 3));
  const column = () => rng.pick(['query', 'output_true', 'query', 'output_true', '', '__proto__', 'constructor', 'index', '0', '\u0000', 'ñ', nastyString(rng).slice(0, 40)]);
  const label = () => rng.pick(['0', '1', '2', '-1', '99999999999999999999', '1e3', 'a', '__proto__', '00', String(rng.int(0, 5))]);
  const nRows = rng.int(0, 4);
  const cols = Array.from({ length: rng.int(0, 4) }, column);
  const text = rng.weighted<() => string>([
    [4, () => ser(Array.from({ length: nRows }, () => new Obj(cols.map((c) => [c, cell()]))))],
    [2, () => ser(new Obj(cols.map((c) => [c, new Obj(Array.from({ length: nRows }, () => [label(), cell()] as [string, J]))])))],
    [2, () => ser(new Obj(Array.from({ length: nRows }, () => [label(), new Obj(cols.map((c) => [c, cell()]))] as [string, J])))],
    [2, () => ser(js({ columns: rng.chance(0.8) ? cols : cell(), index: [0, 1], data: Array.from({ length: nRows }, () => (rng.chance(0.8) ? cols.map(cell) : cell())) }))],
    [1, () => ser(js({ schema: { fields: [], primaryKey: rng.chance(0.7) ? ['index'] : cell() }, data: Array.from({ length: nRows }, (_, i) => new Obj([['index', i], ...cols.map((c) => [c, cell()] as [string, J])])) }))],
    [1, () => ser([[1, 2], [3, 4]])],
    [2, () => ser(randomJson(rng))],
    [1, () => rng.pick(['', '[]', '{}', '[{}]', '{"a":{}}', 'null', '"[]"', '[[]]', '{"data":[],"schema":{}}', '{"columns":[],"data":[]}'])],
    [1, () => makeDf(rng.int(1, 3))],
  ])();
  if (rng.chance(0.1)) return text.slice(0, rng.int(0, Math.max(0, text.length - 1)));
  if (rng.chance(0.05)) return '\uFEFF' + text;
  return text;
}

function csvText(rng: Rng): string {
  const field = () =>
    rng.weighted<() => string>([
      [5, () => rng.pick(['query', 'output_true', 'a', 'b', '', 'query', 'x y'])],
      [3, () => nastyString(rng).slice(0, 200).replace(/[",\r\n]/g, '')],
      [2, () => `"${nastyString(rng).slice(0, 200).replaceAll('"', '""')}"`],
      [1, () => `"unterminated ${randomChars(rng, 5)}`],
      [1, () => `"closed"junk`],
      [1, () => `a"b`],
    ])();
  const eol = () => rng.pick(['\n', '\r\n', '\r', '\n\n']);
  const width = rng.int(0, 4);
  const lines = Array.from({ length: rng.int(0, 5) }, (_, i) => Array.from({ length: i === 0 || rng.chance(0.8) ? width : rng.int(0, 6) }, field).join(','));
  let text = lines.map((l) => l + eol()).join('');
  if (rng.chance(0.3)) text = text.replace(/\r?\n$/, '');
  if (rng.chance(0.05)) text = '\uFEFF' + text;
  return text;
}

function jsonlText(rng: Rng): string {
  const line = () =>
    rng.weighted<() => string>([
      [6, () => ser(randomObj(rng, 2))],
      [2, () => ser(js({ query: nastyString(rng), output_true: nastyString(rng) }))],
      [2, () => ser(randomJson(rng, 2))],
      [1, () => rng.pick(['', '   ', 'not json', '{', '{"a":1}{"b":2}', '[1]', 'null'])],
    ])();
  return Array.from({ length: rng.int(0, 5) }, line).join(rng.pick(['\n', '\r\n', '\n\n']));
}

function binaryGarbage(rng: Rng): Buffer {
  return Buffer.from(Array.from({ length: rng.int(1, 2000) }, () => rng.int(0, 255)));
}

/** Bodies that can never pass a body schema (no valid object among them). */
function garbageBody(rng: Rng, template: J): Buffer {
  return rng.weighted<() => Buffer>([
    [3, () => {
      const text = ser(rng.chance(0.5) ? template : randomObj(rng, 0));
      // A proper prefix of an object's text is never valid JSON.
      return Buffer.from(text.slice(0, rng.int(0, text.length - 1)));
    }],
    [2, () => binaryGarbage(rng)],
    [2, () => Buffer.from(rng.pick(['', ' ', '\n', 'null', 'true', '0', '-0', '1e999', '"x"', '[]', '[{}]', '{}', '\uFEFF{}', '{"a":1,}', "{'name':'x'}", '{"name":"x"', 'NaN', '{}{}', '{"name":"x"} trailing']))],
    [2, () => Buffer.from(ser(rng.pick<J>([randomJson(rng), [randomObj(rng, 1)], nastyString(rng), deepValue(rng), rng.pick(EDGE_NUMBERS)])))],
    [1, () => Buffer.from(ser(new Obj([['name', 'x'], ['readme', rng.pick(INVALID_TOKENS)]])))],
    [0.3, () => Buffer.from('x'.repeat(MAX_BODY + rng.int(1, 10_000)))],
  ])();
}

// --------------------------------------------------------- query strings

const cursorOf = (n: number | string) => Buffer.from(`id:${n}`).toString('base64url');

const QUERY_KEYS_JUNK = ['__proto__', 'constructor', 'toString', '', 'a[b]', 'name[]', 'NAME', 'limit ', '%00', 'fuzz'];

function queryValue(rng: Rng, names: readonly string[]): string {
  return rng.weighted<() => string>([
    [4, () => rng.pick(['true', 'false', '1', '0', 'TRUE', 'yes', '', '-1', '1001', '1000', '100', '99999999999', '1e3', 'abc', '%201', '0001'])],
    [3, () => rng.pick(['%00', 'a%00b', '%ff', '%E2%80%AE', '%', '%zz', '%2F', '+', 'a+b', '%F0%9F%99%82', '%ED%A0%80', 'x'.repeat(300), '%0D%0A'])],
    [2, () => cursorOf(rng.pick<number | string>([0, 1, 5, 1000, 2147483647, 2147483648, 9999999999, -1, 'x', '']))],
    [1, () => rng.pick(['aWQ6', 'garbage', '====', Buffer.from(randomChars(rng, 8)).toString('base64url')])],
    [2, () => encodeURIComponent(rng.pick([...names, 'exact_match', 'judge-model', nastyString(rng).slice(0, 300)]).replace(/[\ud800-\udfff]/g, '?'))],
  ])();
}

function queryString(rng: Rng, keys: readonly string[], names: readonly string[]): string {
  const n = rng.int(1, 4);
  const pairs: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = keys.length && rng.chance(0.75) ? rng.pick(keys) : rng.pick(QUERY_KEYS_JUNK);
    pairs.push(rng.chance(0.05) ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${queryValue(rng, names)}`);
  }
  return '?' + pairs.join('&');
}

/** The keys a route's query schema knows (an object, or a union of objects). */
function queryKeysOf(route: Route): string[] {
  const q = route.query as unknown as { shape?: Record<string, unknown>; options?: { shape?: Record<string, unknown> }[] } | undefined;
  if (!q) return [];
  const shapes = q.shape ? [q.shape] : (q.options ?? []).map((o) => o.shape ?? {});
  return [...new Set(shapes.flatMap((s) => Object.keys(s)))];
}

// -------------------------------------------------------------- requests

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=latin1'];
const TEXT_TYPES = ['text/csv', 'application/x-ndjson', 'application/jsonl', 'application/x-jsonlines', 'text/csv; charset=utf-8'];
/** Media types no route accepts. */
const WRONG_TYPES = ['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/xml', 'text/json', '*/*', 'application/json-patch+json', 'application/octet-stream', 'application'];

const JUNK_IDS = [
  '0', '-1', '99999999999', '1e3', 'abc', '%2F', '2147483648', '1.0', '%00', '%20', '+1', '0x1', '%E2%80%8B', 'null', '__proto__',
  'constructor', '9'.repeat(400), '1%00', '%31', 'NaN', '-0', '%D9%A1', "1'", '1;', '%', '%zz', '1,2', '..', '%2e%2e', '%C2%A0',
];

const JUNK_PATHS = ['/', '/v1', '/v1/', '/v2/datasets', '/V1/DATASETS', '/v1/datasetz', '/v1/dataset/1/rows/x', '/v1/dataset/1/2', '/v1/%00', '/v1/metrics.json', '/health/x', '/v1/openapi.json/x', '//v1//datasets', '/v1/stop/experiment_set', '/v1/retry', '/v1/experiment_set/1/stop', '/%ff', '/v1/dataset/%2F/rows'];

interface FuzzRequest {
  n: number;
  method: string;
  /** Path and query string, as sent. */
  path: string;
  /** The route-table entry it aims at, `METHOD /path/{id}`, or `junk`. */
  target: string;
  contentType?: string;
  body?: Buffer;
  /** Whether the request may change state if accepted: must then be rejected. */
  mutating: boolean;
}

interface Fixtures {
  used: { id: number; name: string; size: number };
  free: { id: number; name: string };
  experiments: number[];
  sets: number[];
}

type IdKind = 'dataset' | 'experiment' | 'set';
const idKindOf = (path: string): IdKind => (path.includes('experiment_set') ? 'set' : path.includes('experiment') ? 'experiment' : 'dataset');

/** An id for the path: real, an integer that may be real, one that is surely not, or junk. */
function genId(rng: Rng, kind: IdKind, fx: Fixtures): string {
  const real = kind === 'dataset' ? [fx.used.id, fx.free.id] : kind === 'experiment' ? fx.experiments : fx.sets;
  return rng.weighted<() => string>([
    [4, () => String(rng.pick(real))],
    [1, () => String(rng.int(1, 5))],
    [1, () => '000' + rng.pick(real)],
    [2, () => String(rng.int(1_000_000, 2_147_483_647))],
    [3, () => rng.pick(JUNK_IDS)],
  ])();
}
/** Ids that may name an existing entity once the router parses them. */
const maybeReal = (id: string) => /^\d+$/.test(id) && Number(id) < 1_000_000;

const MISSING = 'fuzz-missing-dataset';
const UNKNOWN_METRIC = 'fuzz_nope_metric';

/**
 * Strings that pass a name-like schema (1 to 200 characters, not blank) yet
 * are hostile to what comes after: NUL bytes, lone surrogates, SQL, markup.
 */
const HOSTILE_STRINGS = [
  'a\u0000b', '\u0000', 'x\ud800', '\udfff', 'a\udc00\ud800b', '🙂', '\u202eevil', 'Ω≈ç√', "'; DROP TABLE dataset; --", '<script>alert(1)</script>',
  '{{query}}', '%s%n', 'x'.repeat(200), '__proto__', 'constructor', 'null', 'NaN', '中文名', 'a\r\nb', '\\u0000', '$1', '?', "O'Brien",
];
const hostileString = (rng: Rng) => (rng.chance(0.8) ? rng.pick(HOSTILE_STRINGS) : 'h' + randomChars(rng, rng.int(1, 20)));

/** Values for fields typed `z.unknown()` or records of it, stored as they are (jsonb). */
function hostileJson(rng: Rng): J {
  return rng.weighted<() => J>([
    [3, () => js({ temperature: 0, note: hostileString(rng) })],
    [2, () => js({ [hostileString(rng)]: rng.pick(EDGE_NUMBERS) })],
    [1, () => new Obj([['__proto__', js({ polluted: true })], ['constructor', js({ prototype: { polluted: true } })]])],
    [2, () => new Obj([['deep', deepValue(rng)]])],
    [2, () => randomObj(rng, 2)],
  ])();
}

function metricRefs(rng: Rng, noisy: boolean): J[] {
  const text = () => (noisy ? nastyString(rng) : hostileString(rng));
  const ref = (): J =>
    rng.weighted<() => J>([
      [3, () => rng.pick(['exact_match', 'contains', 'output_length', 'bleu', 'judge_exactness', 'faithfulness'])],
      [1, () => js({ name: 'regex', params: { pattern: rng.pick(['(a+)+$', '(', 'x', text()]), flags: rng.pick(['i', 'g', undefined]) }, aliased_name: text() })],
      [1, () => js({ name: 'judge_adhoc', params: { prompt: rng.pick(['{{query}}', '{{nope}}', 'no variable', text()]), scale: [0, noisy ? rng.pick(EDGE_NUMBERS) : 10] } })],
      [1, () => js({ name: 'json_schema', params: { schema: hostileJson(rng) } })],
      [1, () => js({ name: rng.pick(['contains', 'exact_match']), params: noisy ? randomObj(rng, 2) : { ignore_case: true }, aliased_name: noisy ? rng.pick([null, 'a', text()]) : text() })],
    ])();
  return Array.from({ length: rng.int(0, 3) }, ref);
}

function modelSpec(rng: Rng, rows: number, noisy: boolean): J {
  const text = () => (noisy ? nastyString(rng) : hostileString(rng));
  const n = noisy && rng.chance(0.3) ? rng.int(0, 6) : rows;
  const count = () => (noisy ? rng.pick(EDGE_NUMBERS) : rng.int(0, 100));
  if (rng.chance(0.6)) {
    return js({
      aliased_name: text(),
      output: Array.from({ length: n }, () => (rng.chance(0.5) ? 'answer' : text())),
      think: rng.chance(0.2) ? Array.from({ length: n }, text) : undefined,
      context: rng.chance(0.2) ? Array.from({ length: n }, () => [text()]) : undefined,
      execution_time: rng.chance(0.2) ? Array.from({ length: n }, count) : undefined,
      sampling_params: rng.chance(0.3) ? hostileJson(rng) : undefined,
    });
  }
  return js({
    name: text(),
    base_url: noisy && rng.chance(0.5) ? nastyString(rng) : rng.pick(['http://127.0.0.1:9/v1', 'https://example.com/v1?x=%00', 'http://[::1]:9/']),
    api_key: rng.chance(0.5) ? rng.pick(['sk-fuzz-0123456789', text()]) : undefined,
    system_prompt: rng.chance(0.3) ? text() : undefined,
    sampling_params: rng.chance(0.5) ? hostileJson(rng) : undefined,
    extra_params: rng.chance(0.2) ? hostileJson(rng) : undefined,
    requests_per_minute: rng.chance(0.2) ? (noisy ? rng.pick(EDGE_NUMBERS) : rng.int(1, 1000)) : undefined,
  });
}

/** An experiment body whose `dataset` makes it impossible to create. */
function poisonedExperiment(rng: Rng, fx: Fixtures, withSetId: boolean, noisy: boolean): Obj {
  const text = () => (noisy ? nastyString(rng) : hostileString(rng));
  const o = js({
    name: rng.chance(0.5) ? `fuzz-exp-${rng.hex(4)}` : text(),
    readme: rng.chance(0.3) ? text() : undefined,
    model: modelSpec(rng, fx.used.size, noisy),
    metrics: metricRefs(rng, noisy),
    judge_model: rng.chance(0.2) ? rng.pick<J>(['judge', text(), modelSpec(rng, 1, noisy)]) : undefined,
    sample: rng.chance(0.3) ? rng.pick<J>(noisy ? [[0, 1], [0, 0], [99], [], [-1], [2147483648], [rng.pick(EDGE_NUMBERS)]] : [[0, 1], [2], [0, 0], [99], [2147483648]]) : undefined,
    experiment_set_id: withSetId && rng.chance(0.3) ? rng.pick<J>([fx.sets[0], 2147483647, ...(noisy ? [0, rng.pick(EDGE_NUMBERS)] : [])]) : undefined,
  }) as Obj;
  if (noisy) mutate(rng, o, new Set(['dataset']), true, rng.int(1, 2));
  // Applied last, so no edit can undo it; each choice is refused before any write.
  const poison = rng.int(0, 2);
  if (poison === 0) {
    // No such dataset (with NUL bytes, unicode... in the name).
    o.set('dataset', rng.chance(0.4) ? MISSING : MISSING + (noisy ? nastyString(rng).slice(0, 150) : hostileString(rng).slice(0, 150)));
  } else if (poison === 1) {
    // An inline dataset named like an existing one: its df is parsed, then the insert conflicts.
    const inline = js({ name: fx.used.name, readme: rng.chance(0.5) ? text() : undefined, df: dfText(rng) }) as Obj;
    if (noisy) mutate(rng, inline, new Set(['name']), true, 1);
    o.set('dataset', inline.set('name', fx.used.name));
  } else {
    // A real dataset and an unknown metric.
    o.set('dataset', fx.used.name);
    const refs = o.get('metrics');
    o.set('metrics', [...(Array.isArray(refs) ? refs : []), UNKNOWN_METRIC]);
  }
  return o;
}

/** A grid whose every experiment names a missing dataset. */
function poisonedCv(rng: Rng, fx: Fixtures, noisy: boolean): Obj {
  const common = poisonedExperiment(rng, fx, false, noisy);
  common.delete('name');
  if (common.get('dataset') !== MISSING) common.set('dataset', MISSING + rng.pick(['', '\u0000', '\ud800', hostileString(rng).slice(0, 100)]));
  if (rng.chance(0.4)) common.entries.splice(rng.int(0, common.entries.length), 0, [rng.pick(['sampling_note', '__proto__', 'constructor', 'deep']), hostileJson(rng)]);
  const grid = new Obj();
  for (let i = rng.int(noisy ? 0 : 1, 3); i > 0; i--) {
    if (noisy) {
      const key = rng.pick(['model', 'metrics', 'sample', 'readme', 'judge_model', 'name', 'fuzz_extra', '__proto__', 'constructor', 'repeat']);
      grid.entries.push([key, rng.chance(0.85) ? Array.from({ length: rng.int(0, 4) }, () => randomJson(rng, 2)) : randomJson(rng, 1)]);
    } else {
      grid.entries.push(
        rng.pick<() => [string, J]>([
          () => ['sample', [[0], [1, 2]]],
          () => ['metrics', [['exact_match'], ['contains', hostileString(rng)]]],
          () => ['model', [js({ sampling_params: { temperature: 0 } }), js({ aliased_name: hostileString(rng) })]],
          () => ['readme', [hostileString(rng), hostileString(rng)]],
          () => ['judge_model', ['judge-a', hostileString(rng)]],
          () => ['__proto__', [js({ dataset: fx.used.name })]],
        ])(),
      );
    }
  }
  const cv = js({ common_params: common, grid_params: grid, repeat: noisy && rng.chance(0.3) ? rng.pick(EDGE_NUMBERS) : rng.chance(0.2) ? rng.int(1, 3) : undefined }) as Obj;
  // The only way a grid picks another dataset is a `dataset` grid parameter.
  grid.delete('dataset');
  return cv;
}

/**
 * A body for a POST/PATCH route that the API must refuse, before writing, for
 * its content. `noisy` adds random edits; without them most bodies pass the
 * schema and reach the core.
 */
function semanticBody(rng: Rng, target: string, id: string | undefined, fx: Fixtures, noisy: boolean): Obj | undefined {
  const idNum = id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined;
  const text = () => (noisy ? nastyString(rng) : hostileString(rng));
  const edits = (o: Obj, protect: string[]) => {
    if (noisy) mutate(rng, o, new Set(protect), true, rng.int(1, 2));
  };
  switch (target) {
    case 'POST /v1/dataset': {
      const o = js({
        name: `fuzz-new-${rng.hex(4)}`,
        readme: rng.chance(0.5) ? text() : undefined,
        default_metric: rng.pick(['exact_match', null, undefined]),
        columns_map: rng.pick<unknown>([{ output_true: 'output_true' }, { query: 'nope' }, null, undefined, { [hostileString(rng)]: 'query' }]),
        compliance: rng.pick([true, false, undefined]),
        df: dfText(rng),
      }) as Obj;
      edits(o, ['name', 'default_metric']);
      // A duplicate name (trimmed by the schema) conflicts at the insert; an unknown metric fails first.
      return rng.chance(0.6) ? o.set('name', rng.pick(['', ' ', '\t']) + fx.used.name + rng.pick(['', ' '])) : o.set('default_metric', UNKNOWN_METRIC);
    }
    case 'POST /v1/dataset/{id}/rows': {
      // Only a dataset used by experiments (409) or a missing one (404) makes a valid df harmless.
      if (idNum !== fx.used.id && !(id !== undefined && !maybeReal(id))) return undefined;
      const o = js({ df: dfText(rng) }) as Obj;
      edits(o, []);
      return o;
    }
    case 'PATCH /v1/dataset/{id}': {
      const o = js({
        name: rng.chance(0.3) ? text() : undefined,
        readme: rng.chance(0.5) ? text() : undefined,
        columns_map: rng.pick<unknown>([{ output_true: 'query' }, { query: 'gold' }, null, undefined]),
        compliance: rng.pick([true, false, undefined]),
      }) as Obj;
      edits(o, ['name', 'default_metric']);
      if (rng.chance(0.4)) return o.set('default_metric', UNKNOWN_METRIC);
      // The other real dataset's name: the update conflicts.
      return o.set('name', idNum === fx.used.id ? fx.free.name : fx.used.name);
    }
    case 'POST /v1/experiment':
      return poisonedExperiment(rng, fx, true, noisy);
    case 'PATCH /v1/experiment/{id}': {
      const o = js({
        name: rng.chance(0.6) ? text() : undefined,
        readme: rng.chance(0.5) ? rng.pick([null, text()]) : undefined,
        rerun_answers: rng.chance(0.2) ? rng.chance(0.5) : undefined,
      }) as Obj;
      edits(o, ['metrics']);
      const refs = metricRefs(rng, noisy);
      // An unknown metric is a 400 (exact_match, which every fixture experiment has, would be rerun: not a refusal).
      return o.set('metrics', rng.chance(0.5) ? ['exact_match', ...refs, UNKNOWN_METRIC] : [...refs, UNKNOWN_METRIC]);
    }
    case 'POST /v1/experiment_set':
    case 'PATCH /v1/experiment_set/{id}': {
      // Clean strings now and then: the hostile ones are refused before the core (NUL, lone surrogates).
      if (rng.chance(0.3)) return js({ experiments: [{ name: `fuzz-${rng.hex(3)}`, dataset: MISSING, model: { aliased_name: 'm', output: ['a'] }, metrics: ['exact_match'] }], ...(target.startsWith('POST') ? { name: `fuzz-set-${rng.hex(4)}`, readme: '' } : {}) }) as Obj;
      const o = js({
        name: target.startsWith('POST') || rng.chance(0.5) ? (rng.chance(0.4) ? `fuzz-set-${rng.hex(4)}` : text()) : undefined,
        readme: rng.chance(0.5) ? text() : undefined,
      }) as Obj;
      edits(o, ['experiments', 'cv']);
      if (rng.chance(0.4)) return o.delete('cv').set('experiments', Array.from({ length: rng.int(1, 2) }, () => poisonedExperiment(rng, fx, false, noisy)));
      return o.delete('experiments').set('cv', poisonedCv(rng, fx, noisy));
    }
    case 'POST /v1/schedule': {
      // Refused for its template (never a set body here), and often for its cron or time zone too.
      const o = js({
        name: rng.chance(0.5) ? `fuzz-schedule-${rng.hex(4)}` : text(),
        cron: rng.pick(['0 3 * * *', '61 * * * *', '* * *', '*/0 * * * *', text()]),
        timezone: rng.pick([undefined, 'UTC', 'Nowhere/City', text()]),
        template: rng.pick<unknown>([{ experiments: [{ name: 'x' }] }, { cv: { common_params: {}, grid_params: {} } }, { experiments: [{}] }]),
      }) as Obj;
      edits(o, ['template']);
      return o;
    }
    case 'PATCH /v1/schedule/{id}': {
      // No schedule exists (none is ever accepted): a valid body reaches the core and gets a 404.
      const o = js({ paused: rng.pick([true, false, undefined]), cron: rng.pick([undefined, '0 3 * * *', '61 * * * *']), template: rng.chance(0.3) ? { experiments: [{ name: 'x' }] } : undefined }) as Obj;
      edits(o, []);
      return o.entries.length ? o : o.set('paused', true);
    }
    default:
      return undefined;
  }
}

/** A body for a POST/PATCH route, with its media type, that the API must refuse. */
function invalidBody(rng: Rng, route: Route, target: string, id: string | undefined, fx: Fixtures, query: string): { contentType?: string; body: Buffer; query: string } {
  const jsonType = () => (route.textBodies ? rng.pick(JSON_TYPES) : rng.weighted<string | undefined>([[6, rng.pick(JSON_TYPES)], [1, undefined]]));
  const template = (): Obj => semanticBody(rng, target, id, fx, rng.chance(0.5)) ?? randomObj(rng, 0);
  const mode = rng.weighted([
    [4, 'semantic'],
    [3, 'unknown-field'],
    [1, 'wrong-root'],
    [2, 'garbage'],
    [1, 'wrong-type'],
    [route.textBodies ? 2 : 0.5, 'text'],
  ] as const);
  switch (mode) {
    case 'semantic': {
      const o = semanticBody(rng, target, id, fx, rng.chance(0.35));
      // No query string: it would be refused before the body is read.
      if (o) return { contentType: jsonType(), body: Buffer.from(ser(o)), query: '' };
      const t = randomObj(rng, 0);
      return { contentType: jsonType(), body: Buffer.from(ser(t.set(`fuzz_unknown_${rng.hex(4)}`, randomJson(rng, 2)))), query };
    }
    case 'unknown-field': {
      // Every body schema is strict: one unknown field is enough for a 400.
      const o = template();
      o.entries.splice(rng.int(0, o.entries.length), 0, [rng.chance(0.8) ? `fuzz_unknown_${rng.hex(4)}` : rng.pick(['__proto__', 'constructor', 'toString', '', 'NAME', 'name ']), randomJson(rng, 1)]);
      return { contentType: jsonType(), body: Buffer.from(ser(o)), query };
    }
    case 'wrong-root':
      return { contentType: jsonType(), body: Buffer.from(ser(rng.pick<J>([[template()], nastyString(rng), rng.pick(EDGE_NUMBERS), null, true, deepValue(rng), [randomJson(rng, 1)]]))), query };
    case 'garbage':
      return { contentType: jsonType(), body: garbageBody(rng, template()), query };
    case 'wrong-type':
      return { contentType: rng.pick(WRONG_TYPES), body: Buffer.from(ser(template())), query };
    case 'text': {
      const contentType = rng.pick(TEXT_TYPES);
      const body = Buffer.from(rng.weighted<() => string | Buffer>([
        [3, () => csvText(rng)],
        [3, () => jsonlText(rng)],
        [1, () => binaryGarbage(rng)],
        [1, () => ''],
        [1, () => ser(template())],
      ])());
      if (target === 'POST /v1/dataset') {
        // The metadata travels in the query string: make it refuse the upload, after parsing it when possible.
        const extra = () => (rng.chance(0.5) ? `&readme=${queryValue(rng, [])}` : '') + (rng.chance(0.3) ? `&compliance=${queryValue(rng, [])}` : '');
        const q = rng.weighted<() => string>([
          [4, () => `?name=${encodeURIComponent(fx.used.name)}${extra()}`],
          [3, () => `?name=fuzz-new-${rng.hex(4)}&default_metric=${rng.pick([UNKNOWN_METRIC, '%00', 'fuzz%20nope'])}${extra()}`],
          [1, () => `?readme=x${extra()}`],
          [1, () => `?name=fuzz-new-${rng.hex(4)}&fuzz_unknown=1`],
        ])();
        return { contentType, body, query: q };
      }
      if (target === 'POST /v1/dataset/{id}/rows' && (id === undefined || maybeReal(id)) && Number(id) !== fx.used.id) {
        // A dataset that could take the rows: refuse them with a query string.
        return { contentType, body, query: `?fuzz_unknown=${rng.hex(2)}` };
      }
      return { contentType, body, query };
    }
  }
}

function genRequest(rng: Rng, n: number, routes: readonly Route[], fx: Fixtures): FuzzRequest {
  const names = [fx.used.name, fx.free.name];
  // A few requests aim at paths and methods no route serves.
  if (rng.chance(0.02)) {
    const method = rng.pick(['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD']);
    const withBody = method !== 'GET' && method !== 'HEAD' && rng.chance(0.5);
    return { n, method, path: rng.pick(JUNK_PATHS) + (rng.chance(0.3) ? queryString(rng, [], names) : ''), target: 'junk', contentType: withBody ? rng.pick(JSON_TYPES) : undefined, body: withBody ? Buffer.from(ser(randomJson(rng))) : undefined, mutating: false };
  }
  const route = rng.pick(routes);
  const target = `${route.method} ${route.path}`;
  const id = route.path.includes('{id}') ? genId(rng, idKindOf(route.path), fx) : undefined;
  const basePath = (id === undefined ? route.path : route.path.replace('{id}', id)) + (rng.chance(0.04) ? '/' : '');
  const keys = queryKeysOf(route);
  // A method the path does not serve: 405 (or 404), never the route.
  if (rng.chance(0.04)) {
    const served = new Set(routes.filter((r) => r.path === route.path).map((r) => r.method));
    const method = rng.pick(['PUT', 'OPTIONS', 'HEAD', ...['GET', 'POST', 'PATCH', 'DELETE'].filter((m) => !served.has(m as Route['method']))]);
    const withBody = method !== 'HEAD' && rng.chance(0.5);
    return { n, method, path: basePath, target: `${method} ${route.path}`, contentType: withBody ? rng.pick(JSON_TYPES) : undefined, body: withBody ? Buffer.from(ser(randomJson(rng))) : undefined, mutating: false };
  }

  if (route.method === 'GET') {
    const query = rng.weighted<() => string>([
      [4, () => ''],
      [5, () => queryString(rng, keys, names)],
      [1, () => (keys.length ? `?${rng.pick(keys)}=${rng.pick(['true', '1', '10', encodeURIComponent(fx.used.name)])}` : '')],
      // Well-formed comparisons reach the core (a missing set is a 404).
      [route.path === '/v1/compare' ? 4 : 0, () => `?set_a=${rng.pick(fx.sets)}&set_b=${rng.pick([...fx.sets, 999_999])}`],
    ])();
    // GET takes no body: one is a 400, whatever its type.
    const withBody = rng.chance(0.08);
    return { n, method: 'GET', path: basePath + query, target, contentType: withBody ? rng.pick([...JSON_TYPES, ...TEXT_TYPES]) : undefined, body: withBody ? Buffer.from(ser(randomJson(rng))) : undefined, mutating: false };
  }

  if (!route.body) {
    // DELETE, stop and retry: harmless only on an id that surely names nothing, or when refused for a query string or a body.
    const usedDatasetDelete = route.method === 'DELETE' && idKindOf(route.path) === 'dataset' && Number(id) === fx.used.id && rng.chance(0.5);
    const mustRefuse = id === undefined || (maybeReal(id) && !usedDatasetDelete);
    const how = mustRefuse ? rng.pick(['query', 'body'] as const) : rng.pick(['none', 'none', 'query', 'body'] as const);
    const query = how === 'query' ? queryString(rng, [], names).replace(/^\?/, `?fuzz_unknown=${rng.hex(2)}&`) : '';
    const body = how === 'body' ? (rng.chance(0.5) ? Buffer.from(ser(randomJson(rng))) : Buffer.from(rng.pick(['x', '{}', '[]', ' ', '\u0000']))) : undefined;
    return { n, method: route.method, path: basePath + query, target, contentType: body ? rng.pick([...JSON_TYPES, ...TEXT_TYPES, ...WRONG_TYPES]) : undefined, body, mutating: true };
  }

  // POST/PATCH with a body schema: mostly no query string, so that the body is what gets judged.
  const query = rng.chance(0.8) ? '' : queryString(rng, keys, names).replace(/^\?/, `?fuzz_unknown=${rng.hex(2)}&`);
  const out = invalidBody(rng, route, target, id, fx, query);
  return { n, method: route.method, path: basePath + out.query, target, contentType: out.contentType, body: out.body, mutating: true };
}

/**
 * Hand-written requests sent before the random ones, so that the values most
 * likely to break the layers under the schemas (NUL bytes, lone surrogates,
 * deep nesting, integers beyond PostgreSQL's) always reach them, whatever the
 * seed. Each must be refused before any write (a missing dataset, a duplicate
 * name, an unknown metric, a df that does not parse).
 */
function corpus(fx: Fixtures): Omit<FuzzRequest, 'n'>[] {
  const raw = { aliased_name: 'raw', output: ['a', 'b', 'c'] };
  const missingExperiment = { name: 'e', dataset: MISSING, model: raw, metrics: ['exact_match'] };
  const cv = (common: Record<string, unknown> | Obj) => ({ common_params: common, grid_params: { sample: [[0], [1]] } });
  const json = (method: string, path: string, target: string, body: unknown): Omit<FuzzRequest, 'n'> => ({ method, path, target, contentType: 'application/json', body: Buffer.from(ser(js(body))), mutating: true });
  const get = (path: string, target: string): Omit<FuzzRequest, 'n'> => ({ method: 'GET', path, target, mutating: false });
  const [experiment] = fx.experiments;
  const [set] = fx.sets;
  return [
    get(`/v1/experiments?cursor=${cursorOf(2147483648)}`, 'GET /v1/experiments'),
    get(`/v1/experiment_sets?cursor=${cursorOf(9999999999)}`, 'GET /v1/experiment_sets'),
    get('/v1/dataset?name=a%00b', 'GET /v1/dataset'),
    get('/v1/leaderboard?metric_name=%00', 'GET /v1/leaderboard'),
    get('/v1/leaderboard?dataset_name=x%00&judge_model=%00', 'GET /v1/leaderboard'),
    json('POST', '/v1/experiment', 'POST /v1/experiment', { ...missingExperiment, dataset: 'x\u0000' }),
    json('POST', '/v1/experiment_set', 'POST /v1/experiment_set', { name: 'a\u0000b', experiments: [missingExperiment] }),
    json('POST', '/v1/experiment_set', 'POST /v1/experiment_set', { name: 'fuzz-corpus-1', cv: cv({ dataset: MISSING, note: 'x\ud800' }) }),
    json('POST', '/v1/experiment_set', 'POST /v1/experiment_set', { name: 'fuzz-corpus-2', cv: cv({ dataset: MISSING, note: 'x\u0000' }) }),
    json('POST', '/v1/experiment_set', 'POST /v1/experiment_set', { name: 'fuzz-corpus-3', cv: cv(new Obj([['dataset', MISSING], ['deep', deepArray(60_000)]])) }),
    json('PATCH', `/v1/experiment/${experiment}`, 'PATCH /v1/experiment/{id}', { name: 'a\u0000b', metrics: [UNKNOWN_METRIC] }),
    json('PATCH', `/v1/experiment_set/${set}`, 'PATCH /v1/experiment_set/{id}', { name: 'a\u0000b', experiments: [missingExperiment] }),
    json('PATCH', `/v1/dataset/${fx.free.id}`, 'PATCH /v1/dataset/{id}', { name: fx.used.name, readme: 'a\u0000b' }),
    json('POST', '/v1/dataset', 'POST /v1/dataset', { name: fx.used.name, df: JSON.stringify([{ 'q\u0000': 'a' }]) }),
    { method: 'POST', path: `/v1/dataset?name=${fx.used.name}`, target: 'POST /v1/dataset', contentType: 'text/csv', body: Buffer.from('q\u0000,a\n1,2\n'), mutating: true },
    json('POST', `/v1/dataset/${fx.used.id}/rows`, 'POST /v1/dataset/{id}/rows', { df: JSON.stringify([{ query: '\u0000', output_true: '\ud800' }]) }),
    // Valid but for a number past PostgreSQL's integer: the schemas must refuse it, or the database fails (a 500).
    json('POST', '/v1/experiment', 'POST /v1/experiment', { ...missingExperiment, dataset: fx.used.name, experiment_set_id: 2147483648 }),
    json('POST', '/v1/experiment', 'POST /v1/experiment', { ...missingExperiment, dataset: fx.used.name, model: { ...raw, execution_time: [1, 2147483648, 3] } }),
    // A set experiment whose inline df does not parse must fail the whole set, not vanish from it.
    json('POST', '/v1/experiment_set', 'POST /v1/experiment_set', { name: 'fuzz-corpus-4', experiments: [{ ...missingExperiment, dataset: { name: 'fuzz-corpus-inline', df: '[]' } }] }),
  ];
}

// -------------------------------------------------------------- sending

interface Reply {
  status: number;
  contentType: string | undefined;
  text: string;
  /** What the server logged for a 5xx. */
  cause: string | undefined;
}

function send(agent: http.Agent, port: number, req: FuzzRequest): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (req.contentType !== undefined) headers['content-type'] = req.contentType;
    if (req.body !== undefined) headers['content-length'] = req.body.length;
    const r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8'), cause: res.headers['x-fuzz-cause'] as string | undefined }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

const describeRequest = (req: FuzzRequest) =>
  `#${req.n} ${req.method} ${req.path.length > 300 ? req.path.slice(0, 300) + '…' : req.path} [content-type: ${req.contentType ?? 'none'}] ` +
  `body(${req.body?.length ?? 0} bytes): ${req.body ? JSON.stringify(req.body.toString('utf8').slice(0, 300)) : '-'}`;

/** What is wrong with the reply, if anything. */
function judge(req: FuzzRequest, res: Reply): string | undefined {
  if (res.status >= 500) return `answered ${res.status} (server-side: ${res.cause ?? 'nothing logged'})`;
  if (res.status === 200) return undefined;
  if (res.status < 400 || res.status > 499) return `answered ${res.status}; expected 200 or a 4xx`;
  if (res.contentType !== 'application/problem+json') return `a ${res.status} of type ${res.contentType ?? 'none'}, not application/problem+json`;
  if (req.method === 'HEAD') return undefined;
  let detail: unknown;
  try {
    detail = (JSON.parse(res.text) as { detail?: unknown }).detail;
  } catch {
    return `a ${res.status} whose body is not JSON`;
  }
  if (typeof detail !== 'string' || detail.trim() === '') return `a ${res.status} without a detail`;
  return undefined;
}

/** Responses that show the request got past routing and the path, query and body schemas. */
function reachedCore(res: Reply): boolean {
  if (res.status === 200 || res.status === 409) return true;
  if (res.status !== 400 && res.status !== 404) return false;
  const detail = String((JSON.parse(res.text) as { detail?: unknown }).detail ?? '');
  if (res.status === 404) return !detail.startsWith('no route');
  return !/^(invalid (path|query|JSON body|body)|missing body|unexpected body)\b/.test(detail);
}

// ------------------------------------------------------- server-side causes

/**
 * The fuzz goes through a second server around the same core, whose logger
 * captures what the API logs for a 5xx: each reply then carries the error
 * that caused it (X-Fuzz-Cause), so a failure says why without a replay.
 */
const causes = new AsyncLocalStorage<string[]>();
const capturingLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (event, fields = {}) => {
    const error = fields.error as { name?: string; message?: string; stack?: string } | undefined;
    const at = error?.stack?.split('\n').find((l) => l.includes('/core/') || l.includes('/functions/'))?.trim();
    causes.getStore()?.push(`${event}: ${error ? `${error.name}: ${error.message}${at ? ` (${at})` : ''}` : JSON.stringify(fields)}`);
  },
  child: () => capturingLogger,
};

async function startCapturingServer(api: TestApi): Promise<{ server: http.Server; port: number }> {
  const inner = createApiHandler({ config: api.core.config, core: { ...api.core, logger: capturingLogger } });
  const handler: ApiHandler = (event, context) => {
    const store: string[] = [];
    return causes.run(store, async () => {
      const out = await inner(event, context);
      // Header values must be printable ASCII.
      if (store.length) out.headers = { ...out.headers, 'x-fuzz-cause': store.join(' | ').replace(/[^\x20-\x7e]/g, '?').slice(0, 1000) };
      return out;
    });
  };
  const server = createApiServer(handler, api.core.config.EVALAP_MAX_BODY_BYTES);
  return { server, port: await listen(server, 0, '127.0.0.1') };
}

// ---------------------------------------------------------------- tests

let api: TestApi;
let fuzzServer: { server: http.Server; port: number };
let fx: Fixtures;
let baseline: Record<string, number>;
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

beforeAll(async () => {
  api = await startApi({ EVALAP_MAX_BODY_BYTES: String(MAX_BODY) });
  const ok = async (method: string, path: string, body: unknown) => {
    const res = await api.call(method, path, { body });
    if (res.status !== 200) throw new Error(`fixture ${method} ${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  const used = await ok('POST', '/v1/dataset', { name: 'fuzz-used', readme: 'used by experiments', df: makeDf(3) });
  const free = await ok('POST', '/v1/dataset', { name: 'fuzz-free', readme: 'used by nothing', df: makeDf(2) });
  const raw = { aliased_name: 'raw', output: ['answer 0', 'x', 'answer 2'] };
  const exp = await ok('POST', '/v1/experiment', { name: 'fuzz-exp', dataset: 'fuzz-used', model: raw, metrics: ['exact_match'] });
  const set = await ok('POST', '/v1/experiment_set', { name: 'fuzz-set', readme: '', experiments: [{ name: 'in-set', dataset: 'fuzz-used', model: raw, metrics: ['exact_match'] }] });
  fx = { used: { id: used.id, name: used.name, size: 3 }, free: { id: free.id, name: free.name }, experiments: [exp.id, ...set.experiments.map((e: { id: number }) => e.id)], sets: [set.id] };
  baseline = await api.footprint();
  fuzzServer = await startCapturingServer(api);
}, 60_000);

afterAll(async () => {
  agent.destroy();
  if (fuzzServer) {
    await new Promise<void>((resolve) => {
      fuzzServer.server.close(() => resolve());
      fuzzServer.server.closeAllConnections();
    });
  }
  await api?.close();
});

describe('fuzzing every route', () => {
  const routes: Route[] = [
    ...resourceRoutes,
    { method: 'GET', path: '/v1/openapi.json', summary: '', run: async () => ({ body: null }) },
    { method: 'GET', path: '/health', summary: '', run: async () => ({ body: null }) },
  ];

  it(`never answers 5xx, answers every refusal with a problem document, and writes nothing (seed ${SEED}, ${TOTAL} requests)`, async () => {
    const rng = new Rng(SEED);
    const fixed = corpus(fx).map((r, n) => ({ ...r, n }));
    const requests = [...fixed, ...Array.from({ length: TOTAL - fixed.length }, (_, i) => genRequest(rng, fixed.length + i, routes, fx))];
    const { port } = fuzzServer;

    const failures: string[] = [];
    const mutatingSuccesses: string[] = [];
    const hits = new Map<string, number>();
    const deep = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const req = requests[next++];
        let res: Reply;
        try {
          res = await send(agent, port, req);
        } catch (err) {
          failures.push(`${describeRequest(req)} -> no response: ${(err as Error).message} (seed ${SEED})`);
          continue;
        }
        hits.set(req.target, (hits.get(req.target) ?? 0) + 1);
        const problem = judge(req, res);
        if (problem) failures.push(`${describeRequest(req)} -> ${problem}: ${res.text.slice(0, 300)} (seed ${SEED})`);
        else if (req.method !== 'HEAD' && reachedCore(res)) deep.set(req.target, (deep.get(req.target) ?? 0) + 1);
        if (req.mutating && res.status >= 200 && res.status < 300) mutatingSuccesses.push(`${describeRequest(req)} -> ${res.status}: ${res.text.slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const footprint = await api.footprint();
    // Every route was hit, and hit past its schemas at least once.
    const routesNotReached = routes.map((r) => `${r.method} ${r.path}`).filter((t) => (hits.get(t) ?? 0) < 20 || !deep.get(t));
    const byOrder = (a: string, b: string) => Number(/^#(\d+)/.exec(a)?.[1]) - Number(/^#(\d+)/.exec(b)?.[1]);
    // One assertion, so that a 500 does not hide a write. Every generated POST/PATCH/DELETE is invalid:
    // one that was accepted is a generator bug or an API bug, and then the footprint cannot be compared.
    const notCompared = 'not compared: some mutating requests were accepted';
    expect({
      seed: SEED,
      unexpectedReplies: failures.sort(byOrder),
      acceptedMutations: mutatingSuccesses.sort(byOrder),
      footprint: mutatingSuccesses.length ? notCompared : footprint,
      routesNotReached,
    }).toEqual({ seed: SEED, unexpectedReplies: [], acceptedMutations: [], footprint: mutatingSuccesses.length ? notCompared : baseline, routesNotReached: [] });
  }, 120_000);
});
