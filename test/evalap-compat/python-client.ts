/**
 * What Evalap's Python clients put on the wire, so the replay sends exactly
 * that: `requests` query strings (Python's str(True) is "True"), the
 * Streamlit UI's hand-built query strings, pandas' DataFrame.to_json shapes,
 * and bodies sent with `json=` (a JSON content type) or `data=` (no content
 * type at all). Plus the fixtures of a replay file: a stub model server that
 * stands in for every model and judge endpoint, an API whose judges given by
 * name resolve to that stub, and runners started on demand.
 */
import { startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, stopRunners, terminal, type RunningRunner } from '../support/runner.js';

/** A Python value as `str(v)` prints it: what both requests and the UI put in a query string. */
function pyStr(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  return String(v);
}

/** `requests.get(url, params=...)`: urlencoded, booleans as True/False, lists as repeated keys. */
export function requestsQuery(params: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, pyStr(one));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * The Streamlit UI's `fetch("get", endpoint, data)` (evalap/ui/demo_streamlit/utils.py):
 * `"?" + "&".join(f"{k}={v}")`, not encoded, and nothing when `data` is empty.
 */
export function uiQuery(data: Record<string, unknown> = {}): string {
  const parts = Object.entries(data).map(([k, v]) => `${k}=${pyStr(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** `pd.DataFrame(rows).to_json()`: pandas' default orient for a DataFrame is "columns", keyed by the row index as a string. */
export function toJsonColumns(rows: Record<string, unknown>[]): string {
  const out: Record<string, Record<string, unknown>> = {};
  rows.forEach((row, i) => {
    for (const [k, v] of Object.entries(row)) (out[k] ??= {})[String(i)] = v;
  });
  return JSON.stringify(out);
}

/** `df.to_json(orient="records")`. */
export const toJsonRecords = (rows: Record<string, unknown>[]) => JSON.stringify(rows);

/**
 * Rows back from a `df` string the way the clients read them:
 * `pd.read_json(StringIO(df))` (notebooks) or `pd.DataFrame(json.loads(df))`
 * (the UI) both accept records and columns orients.
 */
export function readDf(df: string): Record<string, unknown>[] {
  const parsed = JSON.parse(df);
  if (Array.isArray(parsed)) return parsed;
  const columns = Object.keys(parsed);
  const index = columns.length ? Object.keys(parsed[columns[0]]) : [];
  return index.map((i) => Object.fromEntries(columns.map((c) => [c, parsed[c][i]])));
}

export interface PyResponse {
  status: number;
  /** `response.json()`; undefined when the body is not JSON. */
  body: any;
  text: string;
}

/** One `requests` call: `json` sends JSON with its content type; `data` sends a string with no content type (as requests does). */
export async function pyRequest(
  api: TestApi,
  method: 'get' | 'post' | 'patch' | 'delete',
  path: string,
  o: { json?: unknown; data?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<PyResponse> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  let body: Uint8Array | undefined;
  if (o.json !== undefined) {
    body = Buffer.from(JSON.stringify(o.json));
    // requests sets it only when the caller's headers have none (in any case).
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  } else if (o.data !== undefined) {
    // Bytes, not a string: fetch adds text/plain to a string body, requests adds nothing.
    body = typeof o.data === 'string' ? Buffer.from(o.data) : o.data;
  }
  const res = await fetch(api.url + path, { method: method.toUpperCase(), headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

/** The response a client goes on with (Evalap answers 200; the UI's fetch also takes 201); otherwise fails with what the API said. */
export function accepted(res: PyResponse, statuses = [200]): void {
  if (!statuses.includes(res.status)) throw new Error(`HTTP ${res.status}: ${res.text.slice(0, 600)}`);
}

/** `obj[k]` in Python: a missing key is a KeyError, not undefined. */
export function key(obj: any, k: string): any {
  if (obj === null || typeof obj !== 'object' || !(k in obj)) throw new Error(`KeyError: '${k}' (the Python client would crash here)`);
  return obj[k];
}

/** The Authorization header every notebook sends (`headers = {"Authorization": f"Bearer {EVALAP_API_KEY}"}`); the test API runs open, so any key passes. */
export const HEADERS = { Authorization: 'Bearer evalap-compat-client-key' };

/**
 * The stub judge answers what the prompt it is given asks for: JSON when the
 * prompt asks for JSON, else a bare number (as a real judge does with
 * Evalap-style "answer with a number only" prompts). Answers to non-judge
 * calls echo the question.
 */
function stubReply(body: any): string {
  const text = (body?.messages ?? []).map((m: any) => (typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content))).join('\n');
  if (!JUDGE_MODELS.has(body?.model)) return `answer to: ${body?.messages?.at(-1)?.content}`;
  return /json/i.test(text) ? '{"reason": "stub judge", "score": 1}' : '1';
}

/** The model name the API resolves judges given by name (and the default judge) to: the stub. */
export const JUDGE_NAME = 'stub-judge';
/** Judge names the replayed code uses; the stub answers these as a judge (never used as generation models in runs). */
const JUDGE_MODELS = new Set([JUDGE_NAME, 'gpt-4.1', 'gpt-4o', 'gpt-4-turbo', 'gpt-5-mini', 'claude-3-opus-20240229']);

export interface CompatFixtures {
  api: TestApi;
  model: StubModelServer;
  /** The stub's base URL: what every real provider URL of the replayed code is replaced by. */
  readonly stubUrl: string;
  runner(): RunningRunner;
  /** Experiment `id` once finished or stopped (with its results). */
  finished(id: number, timeoutMs?: number): Promise<any>;
}

/**
 * Registers the hooks of a replay file: a stub model server first (its URL
 * is the judge endpoint of the API's configuration: `judge_model: "gpt-4o"`
 * in Evalap resolves the name against configured providers, which need the
 * internet; here EVALAP_JUDGE_BASE_URL is the stub, whose GET /models lists
 * the judge names the replayed code uses),
 * then one API on a fresh database and queue; runners stopped after each test.
 */
export function compatFixtures(): CompatFixtures {
  const runners: RunningRunner[] = [];
  const env = () => ({ EVALAP_JUDGE_BASE_URL: fixtures.model.url, EVALAP_JUDGE_MODEL: JUDGE_NAME, EVALAP_JUDGE_API_KEY: 'stub-judge-key' });
  const fixtures = {
    get stubUrl() {
      return fixtures.model.url;
    },
    runner() {
      const r = startRunner(fixtures.api, { ...env(), MAX_CONCURRENT_TASKS: '16' });
      runners.push(r);
      return r;
    },
    finished: (id: number, timeoutMs = 20_000) => terminal(fixtures.api, id, timeoutMs),
  } as CompatFixtures;
  beforeAll(async () => {
    // It lists the judge names the replayed code uses, so the API resolves each through GET /models as it would a provider's.
    fixtures.model = await startModelServer({ reply: stubReply, models: [...JUDGE_MODELS] });
    fixtures.api = await startApi(env());
  });
  afterAll(async () => {
    await stopRunners(runners);
    await fixtures.api?.close();
    await fixtures.model?.close();
  });
  afterEach(() => stopRunners(runners));
  return fixtures;
}

/** Small datasets the replayed code names, created as `query`/`output_true` rows (records orient). */
export function qaRows(n: number, prefix = 'q'): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ query: `${prefix} question ${i}`, output_true: `${prefix} answer ${i}` }));
}
