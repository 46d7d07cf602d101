/**
 * A deterministic stub of an OpenAI-compatible API (node:http on 127.0.0.1,
 * a free port): POST /v1/chat/completions and GET /v1/models, with latency,
 * a sliding-window rate limit (429 + Retry-After) and scripted failures.
 * Built to serve thousands of requests per second in benchmarks: no logging,
 * one small record per chat request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

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
  /** The model ids GET /v1/models lists (default: stub-model, stub-judge). */
  models?: readonly string[];
  /** GET /v1/models answers 503 instead of the list. */
  modelsDown?: boolean;
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
  /** Every chat-completions request received, in arrival order. */
  requests: StubRequest[];
  /** The request headers of every GET /v1/models, in arrival order. */
  listings: Record<string, string | string[] | undefined>[];
  /** Clears `requests` (so script indexes restart at 0), `listings` and the rate-limit window. */
  reset(): void;
  /** Closes the server, dropping open connections (hanging 'timeout' ones included). */
  close(): Promise<void>;
}

const modelsBody = (ids: readonly string[] = ['stub-model', 'stub-judge']) =>
  JSON.stringify({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'stub' })) });

const ERRORS: Record<string, { status: number; type: string; message: string }> = {
  '400': { status: 400, type: 'invalid_request_error', message: "Invalid value for 'messages': the stub was scripted to reject this request." },
  '429': { status: 429, type: 'rate_limit_error', message: 'Rate limit reached for requests. Please try again later.' },
  '500': { status: 500, type: 'server_error', message: 'The server had an error while processing your request.' },
  '503': { status: 503, type: 'server_error', message: 'The engine is currently overloaded, please try again later.' },
};

export async function startModelServer(initial: StubBehaviour = {}): Promise<StubModelServer> {
  let behaviour = initial;
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

  function sendError(res: http.ServerResponse, outcome: '400' | '429' | '500' | '503'): void {
    const e = ERRORS[outcome];
    const body = JSON.stringify({ error: { message: e.message, type: e.type, param: null, code: null } });
    if (outcome !== '429') return sendJson(res, e.status, body);
    const seconds = behaviour.retryAfterSeconds ?? 1;
    sendJson(res, 429, body, { 'retry-after': String(Math.max(1, Math.ceil(seconds))), 'retry-after-ms': String(Math.round(seconds * 1000)) });
  }

  function complete(res: http.ServerResponse, body: any): void {
    const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
    const content = behaviour.reply ? behaviour.reply(body) : `answer to: ${lastUserContent(messages)}`;
    const promptTokens = messages.reduce((n: number, m: any) => n + words(textOf(m?.content)), 0);
    const reasoning = behaviour.reasoning?.(body);
    const message = reasoning === undefined ? { role: 'assistant', content } : { role: 'assistant', content, reasoning_content: reasoning };
    const completionTokens = words(content) + (reasoning === undefined ? 0 : words(reasoning));
    sendJson(
      res,
      200,
      JSON.stringify({
        id: `chatcmpl-stub${++completionId}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message, finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      }),
    );
  }

  function act(req: http.IncomingMessage, res: http.ServerResponse, outcome: StubOutcome, body: any): void {
    if (res.destroyed) return;
    switch (outcome) {
      case 'ok':
        return complete(res, body);
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
    const outcome: StubOutcome = rateLimited(now) ? '429' : (behaviour.script?.(index, body) ?? 'ok');
    record.status = outcome === 'ok' ? 200 : outcome === 'garbage' ? 200 : outcome === 'timeout' || outcome === 'reset' ? 0 : Number(outcome);
    const latency = behaviour.latencyMs ?? 0;
    if (latency <= 0 || outcome === 'timeout') return act(req, res, outcome, body);
    const timer = setTimeout(() => {
      timers.delete(timer);
      act(req, res, outcome, body);
    }, latency);
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
    },
    reset() {
      requests.length = 0;
      listings.length = 0;
      window = [];
      head = 0;
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
