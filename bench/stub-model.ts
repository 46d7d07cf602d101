/**
 * A deterministic stub of an OpenAI-compatible API (node:http on 127.0.0.1,
 * a free port): POST /v1/chat/completions and GET /v1/models, with latency,
 * a sliding-window rate limit (429 + Retry-After), gateway-style rate limits
 * (`rateLimit`: buckets and windows, every way real providers announce and
 * refuse) and scripted failures.
 * Built to serve thousands of requests per second in benchmarks: no logging,
 * one small record per chat request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BenchError } from './api.js';
import {
  ANTHROPIC_OVERLOADED_BODY,
  OPENAI_OVERLOADED_BODY,
  anthropicRefusalBody,
  budgetHeaders,
  openAiRefusalBody,
  retryHeaders,
  type BudgetHeaderStyle,
  type RetryHint,
} from './stub-limit-headers.js';
import { StubLimits, type Cost, type LimitChange, type LimitSpec, type LimitState } from './stub-limits.js';

export type { BudgetHeaderStyle, RetryHint } from './stub-limit-headers.js';
export type { BucketSpec, LimitChange, LimitSpec, LimitState, LimitUnit, WindowSpec } from './stub-limits.js';

/**
 * Rate limits as gateways enforce them. Token costs: input = the words of
 * every message (the stub's token count, as in `usage`); output =
 * `max_completion_tokens` or `max_tokens` when the request sets one,
 * reserved on admission as OpenAI does; otherwise the completion's words,
 * charged when it is sent (a limit can then go below zero and delay what
 * follows, as Anthropic settles output tokens after the fact).
 */
export interface StubRateLimit {
  /** All must allow a request; a refused request costs nothing. */
  limits: LimitSpec[];
  /** Changes of `limits` at times from the first request (e.g. 50 → 25 → 75 req/s). */
  schedule?: LimitChange[];
  /** When a refusal is answered: 'at-once' (default, as gateways do) or 'after-latency'. */
  refuse?: 'at-once' | 'after-latency';
  /** The refusal's status (default 429): 503 is an overload, 529 Anthropic's overload (`overloaded_error`). */
  status?: 429 | 503 | 529;
  /** How a refusal says when to retry (default ['seconds']); [] says nothing. */
  retryHints?: RetryHint[];
  /** Budget headers on every chat answer (200s and refusals): 'openai' (x-ratelimit-*) or 'anthropic' (anthropic-ratelimit-*). */
  budgetHeaders?: BudgetHeaderStyle;
}

/** '401' answers with the caller's Authorization header quoted in the message, as some gateways echo a wrong key. */
export type StubOutcome = 'ok' | '429' | '500' | '503' | 'timeout' | 'garbage' | 'reset' | '400' | '401';

export interface StubBehaviour {
  /** Fixed delay before answering (default 0); applies to every outcome but 'timeout'. */
  latencyMs?: number;
  /**
   * Rate limit: at most this many requests per second (sliding 1 s window);
   * above it answer 429 with Retry-After (seconds, integer ≥1) and the
   * non-standard `retry-after-ms` (the exact delay). Only accepted requests
   * count towards the window. Checked before `script`.
   */
  maxRequestsPerSecond?: number;
  /** Delay announced on 429s, in seconds (default 1); fractions go exactly into `retry-after-ms`. */
  retryAfterSeconds?: number;
  /**
   * Gateway-style limits (see StubRateLimit), checked after
   * `maxRequestsPerSecond` and before `script`. Their state starts afresh
   * with each setBehaviour and reset().
   */
  rateLimit?: StubRateLimit;
  /**
   * Per-request overrides, from (requestIndex, body): 'timeout' never answers
   * (the socket stays open until close()), 'garbage' is a 200 with a non-JSON
   * body, 'reset' destroys the socket. `requestIndex` is the request's index
   * in `requests`.
   */
  script?: (index: number, body: any) => StubOutcome;
  /** The answer text; default echoes: `answer to: <last user message content>`. */
  reply?: (body: any) => string;
  /** When given and returning a string, sent as the message's `reasoning_content` (DeepSeek/vLLM style). */
  reasoning?: (body: any) => string | undefined;
  /**
   * For requests asking for token log-probabilities (`logprobs: true`): the
   * reply's tokens, sent as `choices[0].logprobs.content` (OpenAI's format);
   * or 'refuse', a 400 naming the parameter, as models without them answer.
   * Without it, such requests are answered without log-probabilities.
   */
  logprobs?: ((body: any, content: string) => StubTokenLogprob[]) | 'refuse';
  /**
   * Of the reply's prompt tokens, how many to report as served from a prompt
   * cache, in OpenAI's shape (`usage.prompt_tokens_details.cached_tokens`).
   * Without it, or when it returns undefined, the usage has no details.
   */
  cachedTokens?: (body: any, promptTokens: number) => number | undefined;
  /** The model ids GET /v1/models lists (default: stub-model, stub-judge). */
  models?: readonly string[];
  /** GET /v1/models answers 503 instead of the list. */
  modelsDown?: boolean;
}

/** One reply token with its log-probability and its most likely alternatives. */
export interface StubTokenLogprob {
  token: string;
  logprob: number;
  top_logprobs: { token: string; logprob: number }[];
}

export interface StubRequest {
  /** Date.now() on arrival. */
  at: number;
  model: string;
  body: any;
  /** Status answered; 0 when none was ('timeout', 'reset'). */
  status: number;
  authorization?: string;
  /** Every request header, by lower-case name. */
  headers: Record<string, string | string[] | undefined>;
}

export interface StubModelServer {
  /** Base URL ending in /v1, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  setBehaviour(b: StubBehaviour): void;
  /** New `rateLimit.limits` from now on, keeping what was used (StubLimits.change); for a limit raised or lowered mid-run. */
  changeLimits(limits: LimitSpec[]): void;
  /** The `rateLimit` limits now, in the order given (empty without `rateLimit`). */
  limitStates(): LimitState[];
  /** Every chat-completions request received, in arrival order. */
  requests: StubRequest[];
  /** The request headers of every GET /v1/models, in arrival order. */
  listings: Record<string, string | string[] | undefined>[];
  /** Clears `requests` (so script indexes restart at 0), `listings`, the rate-limit window and the `rateLimit` state. */
  reset(): void;
  /** Closes the server, dropping open connections (hanging 'timeout' ones included). */
  close(): Promise<void>;
}

const modelsBody = (ids: readonly string[] = ['stub-model', 'stub-judge']) =>
  JSON.stringify({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'stub' })) });

const ERRORS: Record<string, { status: number; type: string; message: string }> = {
  '400': { status: 400, type: 'invalid_request_error', message: "Invalid value for 'messages': the stub was scripted to reject this request." },
  logprobs: { status: 400, type: 'invalid_request_error', message: "This model does not support the 'logprobs' parameter." },
  '429': { status: 429, type: 'rate_limit_error', message: 'Rate limit reached for requests. Please try again later.' },
  '500': { status: 500, type: 'server_error', message: 'The server had an error while processing your request.' },
  '503': { status: 503, type: 'server_error', message: 'The engine is currently overloaded, please try again later.' },
};

export async function startModelServer(initial: StubBehaviour = {}): Promise<StubModelServer> {
  let behaviour = initial;
  let limits = initial.rateLimit ? new StubLimits(initial.rateLimit.limits, Date.now, initial.rateLimit.schedule) : undefined;
  const requests: StubRequest[] = [];
  const listings: Record<string, string | string[] | undefined>[] = [];
  // Accepted-request times in the sliding window: window[head..] (compacted now and then).
  let window: number[] = [];
  let head = 0;
  let completionId = 0;
  const timers = new Set<NodeJS.Timeout>();

  function rateLimited(now: number): boolean {
    const max = behaviour.maxRequestsPerSecond;
    if (max === undefined) return false;
    while (head < window.length && window[head] <= now - 1000) head++;
    if (head > 1024 && head * 2 > window.length) {
      window = window.slice(head);
      head = 0;
    }
    if (window.length - head >= max) return true;
    window.push(now);
    return false;
  }

  function sendJson(res: http.ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  }

  function sendError(res: http.ServerResponse, outcome: '400' | '429' | '500' | '503' | 'logprobs'): void {
    const e = ERRORS[outcome];
    const body = JSON.stringify({ error: { message: e.message, type: e.type, param: null, code: null } });
    if (outcome !== '429') return sendJson(res, e.status, body);
    const seconds = behaviour.retryAfterSeconds ?? 1;
    sendJson(res, 429, body, { 'retry-after': String(Math.max(1, Math.ceil(seconds))), 'retry-after-ms': String(Math.round(seconds * 1000)) });
  }

  /** A refusal by `rateLimit`, sent `retryAt` (epoch ms) - now before the request would fit. */
  function sendRefusal(res: http.ServerResponse, rl: StubRateLimit, refusedBy: LimitState, retryAt: number, cost: Cost, model: string): void {
    const now = Date.now();
    const ms = Math.max(0, retryAt - now);
    const hints = rl.retryHints ?? ['seconds'];
    const headers = { ...(rl.budgetHeaders && limits ? budgetHeaders(rl.budgetHeaders, limits.tightest(), now) : {}), ...retryHeaders(hints, ms, now) };
    const status = rl.status ?? 429;
    const anthropic = rl.budgetHeaders === 'anthropic' || status === 529;
    let body: string;
    if (status === 429) {
      const requested = refusedBy.unit === 'requests' ? 1 : refusedBy.unit === 'input-tokens' ? cost.input : refusedBy.unit === 'output-tokens' ? cost.output : cost.input + cost.output;
      body = anthropic ? anthropicRefusalBody(refusedBy) : openAiRefusalBody(model, refusedBy, requested, ms, hints.includes('body'));
    } else body = anthropic ? ANTHROPIC_OVERLOADED_BODY : OPENAI_OVERLOADED_BODY;
    sendJson(res, status, body, headers);
  }

  function complete(res: http.ServerResponse, body: any, reservedOutput: boolean): void {
    const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
    const content = behaviour.reply ? behaviour.reply(body) : `answer to: ${lastUserContent(messages)}`;
    const promptTokens = promptTokensOf(messages);
    const reasoning = behaviour.reasoning?.(body);
    const message = reasoning === undefined ? { role: 'assistant', content } : { role: 'assistant', content, reasoning_content: reasoning };
    const logprobs = body.logprobs === true && typeof behaviour.logprobs === 'function' ? { content: behaviour.logprobs(body, content) } : null;
    const completionTokens = words(content) + (reasoning === undefined ? 0 : words(reasoning));
    const cached = behaviour.cachedTokens?.(body, promptTokens);
    const details = cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: cached } };
    const rl = behaviour.rateLimit;
    let extra: Record<string, string> | undefined;
    if (rl && limits) {
      if (!reservedOutput) limits.charge({ input: 0, output: completionTokens });
      if (rl.budgetHeaders) extra = budgetHeaders(rl.budgetHeaders, limits.tightest(), Date.now());
    }
    sendJson(
      res,
      200,
      JSON.stringify({
        id: `chatcmpl-stub${++completionId}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message, logprobs, finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens, ...details },
      }),
      extra,
    );
  }

  function act(req: http.IncomingMessage, res: http.ServerResponse, outcome: StubOutcome, body: any, reservedOutput = false): void {
    if (res.destroyed) return;
    switch (outcome) {
      case 'ok':
        return complete(res, body, reservedOutput);
      case 'garbage':
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      case 'reset':
        return void req.socket.destroy();
      case 'timeout':
        return; // Never answered; close() drops the socket.
      case '401':
        return sendJson(res, 401, JSON.stringify({ error: { message: `Incorrect API key provided: ${req.headers.authorization ?? '(none)'}. You can find your API key at https://example.invalid/keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
      default:
        return sendError(res, outcome);
    }
  }

  function onChat(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const now = Date.now();
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const record: StubRequest = { at: now, model: typeof body?.model === 'string' ? body.model : '', body, status: 0, authorization: req.headers.authorization, headers: req.headers };
    const index = requests.push(record) - 1;
    if (body === undefined || typeof body !== 'object' || !Array.isArray(body.messages)) {
      record.status = 400;
      return sendJson(res, 400, JSON.stringify({ error: { message: "'messages' is required and the body must be JSON", type: 'invalid_request_error', param: 'messages', code: null } }));
    }
    if (body.logprobs === true && behaviour.logprobs === 'refuse') {
      record.status = 400;
      return sendError(res, 'logprobs');
    }
    const legacyLimited = rateLimited(now);
    const rl = behaviour.rateLimit;
    let reservedOutput = false;
    if (!legacyLimited && rl && limits) {
      const maxOutput = body.max_completion_tokens ?? body.max_tokens;
      reservedOutput = typeof maxOutput === 'number' && maxOutput >= 0;
      const cost: Cost = { input: promptTokensOf(body.messages), output: reservedOutput ? maxOutput : 0 };
      const admission = limits.admit(cost);
      if (!admission.ok) {
        record.status = rl.status ?? 429;
        const retryAt = now + admission.retryAfterMs;
        const refuse = () => void (res.destroyed || sendRefusal(res, rl, admission.refusedBy, retryAt, cost, record.model));
        return later(rl.refuse === 'after-latency' ? (behaviour.latencyMs ?? 0) : 0, refuse);
      }
    }
    const outcome: StubOutcome = legacyLimited ? '429' : (behaviour.script?.(index, body) ?? 'ok');
    record.status = outcome === 'ok' ? 200 : outcome === 'garbage' ? 200 : outcome === 'timeout' || outcome === 'reset' ? 0 : Number(outcome);
    if (outcome === 'timeout') return act(req, res, outcome, body);
    later(behaviour.latencyMs ?? 0, () => act(req, res, outcome, body, reservedOutput));
  }

  /** Runs `fn` after `ms`, at once when 0; close() cancels what is pending. */
  function later(ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/v1/chat/completions' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => onChat(req, res, chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
      return;
    }
    if (path === '/v1/models' && req.method === 'GET') {
      listings.push(req.headers);
      if (behaviour.modelsDown) return sendError(res, '503');
      return sendJson(res, 200, modelsBody(behaviour.models));
    }
    const known = path === '/v1/chat/completions' || path === '/v1/models';
    sendJson(res, known ? 405 : 404, JSON.stringify({ error: { message: known ? `Method ${req.method} not allowed on ${path}` : `Unknown path: ${path}`, type: 'invalid_request_error', param: null, code: known ? null : 'unknown_url' } }));
  });
  // Longer than undici's 4 s keep-alive so the client, not the server, drops idle sockets (no reset races).
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    listings,
    setBehaviour(b) {
      behaviour = b;
      limits = b.rateLimit ? new StubLimits(b.rateLimit.limits, Date.now, b.rateLimit.schedule) : undefined;
    },
    changeLimits(next) {
      if (!limits) throw new BenchError('changeLimits: the behaviour has no rateLimit');
      limits.change(next);
    },
    limitStates() {
      return limits?.states() ?? [];
    },
    reset() {
      requests.length = 0;
      listings.length = 0;
      window = [];
      head = 0;
      const rl = behaviour.rateLimit;
      limits = rl ? new StubLimits(rl.limits, Date.now, rl.schedule) : undefined;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/** The stub's token count of a prompt: the words of every message. */
function promptTokensOf(messages: any[]): number {
  return messages.reduce((n: number, m: any) => n + words(textOf(m?.content)), 0);
}

function lastUserContent(messages: any[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user') return textOf(messages[i].content);
  return '';
}

/** Message content as text: a string, or the text parts of an array. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join(' ');
  return '';
}

function words(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || (c >= 9 && c <= 13) || c === 160;
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}
