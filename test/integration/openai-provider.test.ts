import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ProviderClientError,
  ProviderConnectionError,
  ProviderError,
  ProviderResponseError,
  ProviderServerError,
  ProviderTimeoutError,
  RateLimitedError,
} from '../../core/providers/errors.js';
import { generateAnswer, renderTemplate, splitThink, type ChatModel } from '../../core/providers/openai.js';
import { parseRetryAfter } from '../../core/providers/rate-limits.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';

const API_KEY = 'sk-test-4f9c2e7a1b3d5e6f';

let server: StubModelServer;
beforeAll(async () => {
  server = await startModelServer();
});
afterEach(() => {
  server.setBehaviour({});
  server.reset();
});
afterAll(() => server.close());

const model = (overrides: Partial<ChatModel> = {}): ChatModel => ({ name: 'stub-model', base_url: server.url, api_key: API_KEY, ...overrides });

/** The error `promise` rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** A one-off server answering every request with `handler`, for provider behaviours the stub does not script. */
async function rawServer(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const s = http.createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1`,
    close: () => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); }),
  };
}

describe('generateAnswer', () => {
  it('returns the answer with the usage token counts and an integer execution time', async () => {
    server.setBehaviour({ latencyMs: 50 });

    const out = await generateAnswer(model(), 'What is 2+2?', {});

    expect(out).toEqual({
      answer: 'answer to: What is 2+2?',
      think: null,
      nb_tokens_prompt: 3,
      nb_tokens_completion: 5,
      nb_tokens_cached: null, // the stub's usage says nothing of a cache unless told to
      nb_tool_calls: 0, // as Evalap stores a plain answer
      execution_time: expect.any(Number),
    });
    expect(Number.isInteger(out.execution_time)).toBe(true);
    expect(out.execution_time).toBeGreaterThanOrEqual(45);
    expect(out.execution_time).toBeLessThan(1000);
  });

  it('returns the prompt tokens the provider served from its cache, as OpenAI reports them', async () => {
    server.setBehaviour({ cachedTokens: (_body, prompt) => prompt - 1 });
    expect(await generateAnswer(model(), 'What is 2+2?', {})).toMatchObject({ nb_tokens_prompt: 3, nb_tokens_cached: 2 });
  });

  it('sends the system prompt, the prelude rendered from the row before the query, then sampling and extra params (extra last)', async () => {
    await generateAnswer(
      model({
        base_url: `${server.url}/`,
        system_prompt: 'You are terse.',
        prelude_prompt: 'Context: {{context}} ({{ year }}){{missing}}',
        sampling_params: { temperature: 0.2, max_tokens: 50 },
        extra_params: { max_tokens: 99, seed: 7 },
      }),
      'Where is Paris?',
      { context: 'Paris is in France', year: 2024 },
    );

    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].body).toEqual({
      model: 'stub-model',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Context: Paris is in France (2024)\n\nWhere is Paris?' },
      ],
      temperature: 0.2,
      max_tokens: 99,
      seed: 7,
    });
    expect(server.requests[0].status).toBe(200);
  });

  it('sends the query alone as the only message when the model has neither system prompt nor prelude', async () => {
    await generateAnswer(model({ system_prompt: null, prelude_prompt: '' }), 'Hi', { unused: 1 });

    expect(server.requests[0].body).toEqual({ model: 'stub-model', messages: [{ role: 'user', content: 'Hi' }] });
  });

  it('sends the API key as a bearer token, and no authorization header when the model has no key', async () => {
    await generateAnswer(model(), 'q1', {});
    await generateAnswer(model({ api_key: null }), 'q2', {});

    expect(server.requests.map((r) => r.authorization)).toEqual([`Bearer ${API_KEY}`, undefined]);
  });

  it("sends a Claude model's key as Anthropic's x-api-key with its anthropic-version, as Evalap does, and no bearer token", async () => {
    await generateAnswer(model({ name: 'claude-3-5-haiku-latest' }), 'q', {});
    const [req] = server.requests;
    expect(req.authorization).toBeUndefined();
    expect(req.headers).toMatchObject({ 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01' });
  });

  it('splits a <think> block out of the answer into think', async () => {
    server.setBehaviour({ reply: () => '<think>\n 2 and 2 make 4 \n</think>\n\nFour.' });

    const out = await generateAnswer(model(), 'What is 2+2?', {});

    expect(out).toMatchObject({ answer: 'Four.', think: '2 and 2 make 4' });
  });

  it('takes think from the reasoning_content field when the server sends one', async () => {
    server.setBehaviour({ reply: () => 'Four.', reasoning: () => ' adding two and two ' });

    const out = await generateAnswer(model(), 'What is 2+2?', {});

    expect(out).toMatchObject({ answer: 'Four.', think: 'adding two and two' });
  });

  it('rejects with RateLimitedError carrying retryAfterMs 2000 on a 429 with Retry-After: 2', async () => {
    server.setBehaviour({ script: () => '429', retryAfterSeconds: 2 });

    const err = await failure(generateAnswer(model(), 'q', {}));

    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err).toMatchObject({ name: 'RateLimitedError', status: 429, retryable: true, retryAfterMs: 2000 });
    expect(err.message).toContain('Rate limit reached');
  });

  it.each(['500', '503'] as const)('rejects with a retryable ProviderServerError on a %s', async (status) => {
    server.setBehaviour({ script: () => status });

    const err = await failure(generateAnswer(model(), 'q', {}));

    expect(err).toBeInstanceOf(ProviderServerError);
    expect(err).toMatchObject({ status: Number(status), retryable: true });
    expect(err.message).toContain(`HTTP ${status}`);
  });

  it('rejects with ProviderTimeoutError within about a second when the server never answers and timeoutMs is 200', async () => {
    server.setBehaviour({ script: () => 'timeout' });
    const started = Date.now();

    const err = await failure(generateAnswer(model(), 'q', {}, { timeoutMs: 200 }));

    expect(err).toBeInstanceOf(ProviderTimeoutError);
    expect(err).toMatchObject({ retryable: true });
    expect(err.message).toContain('200 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects with a non-retryable ProviderResponseError when a 200 body is not JSON', async () => {
    server.setBehaviour({ script: () => 'garbage' });

    const err = await failure(generateAnswer(model(), 'q', {}));

    expect(err).toBeInstanceOf(ProviderResponseError);
    expect(err).toMatchObject({ status: 200, retryable: false });
    expect(err.message).toContain('not JSON');
  });

  it('rejects with a retryable ProviderConnectionError when the server resets the connection', async () => {
    server.setBehaviour({ script: () => 'reset' });

    const err = await failure(generateAnswer(model(), 'q', {}));

    expect(err).toBeInstanceOf(ProviderConnectionError);
    expect(err).toMatchObject({ retryable: true });
    expect(server.requests[0].status).toBe(0);
  });

  it('rejects with a non-retryable ProviderClientError quoting the status and the provider message on a 400', async () => {
    server.setBehaviour({ script: () => '400' });

    const err = await failure(generateAnswer(model(), 'q', {}));

    expect(err).toBeInstanceOf(ProviderClientError);
    expect(err).toMatchObject({ status: 400, retryable: false });
    expect(err.message).toContain('HTTP 400');
    expect(err.message).toContain("Invalid value for 'messages'");
  });

  it('rejects with a retryable ProviderConnectionError when nothing listens on the port', async () => {
    const closed = await rawServer((_, res) => res.end());
    await closed.close();

    const err = await failure(generateAnswer(model({ base_url: closed.url }), 'q', {}));

    expect(err).toBeInstanceOf(ProviderConnectionError);
    expect(err).toMatchObject({ retryable: true });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('keeps the API key out of every error message', async () => {
    const messages: string[] = [];
    for (const outcome of ['429', '500', '503', 'garbage', 'reset', '400'] as const) {
      server.setBehaviour({ script: () => outcome });
      messages.push((await failure(generateAnswer(model(), 'q', {}))).message);
    }
    server.setBehaviour({ script: () => 'timeout' });
    messages.push((await failure(generateAnswer(model(), 'q', {}, { timeoutMs: 50 }))).message);
    // A provider that echoes the key back, and a key undici refuses as a header value (its message quotes the value).
    const echo = await rawServer((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${req.headers.authorization}` } }));
    });
    const echoed = await failure(generateAnswer(model({ base_url: echo.url }), 'q', {}));
    await echo.close();
    const badKey = `${API_KEY}\nx`;
    const refused = await failure(generateAnswer(model({ api_key: badKey }), 'q', {}));

    expect(echoed).toBeInstanceOf(ProviderClientError);
    expect(echoed.message).toContain('Incorrect API key provided: Bearer ***');
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused.retryable).toBe(false);
    expect(refused.message).not.toContain(badKey);
    for (const message of [...messages, echoed.message, refused.message]) expect(message).not.toContain(API_KEY);
  });

  it('truncates the provider error message to 500 characters', async () => {
    const verbose = await rawServer((_, res) => {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'x'.repeat(5000) } }));
    });

    const err = await failure(generateAnswer(model({ base_url: verbose.url }), 'q', {}));
    await verbose.close();

    expect(err).toBeInstanceOf(ProviderClientError);
    expect(err.message).toContain('HTTP 422');
    expect(err.message).toContain(`${'x'.repeat(500)}…`);
    expect(err.message).not.toContain('x'.repeat(501));
  });

  it('classifies a 200 carrying an error object with a 429 code as a rate limit', async () => {
    const gateway = await rawServer((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 429, message: 'Provider returned error' } }));
    });

    const err = await failure(generateAnswer(model({ base_url: gateway.url }), 'q', {}));
    await gateway.close();

    expect(err).toBeInstanceOf(RateLimitedError);
  });

  it("rethrows the caller's abort reason, not a provider error, when the caller's signal aborts", async () => {
    server.setBehaviour({ script: () => 'timeout' });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 50);

    const err = await failure(generateAnswer(model(), 'q', {}, { signal: controller.signal, timeoutMs: 5000 }));

    expect(err).toBe(reason);
  });
});

describe('generateAnswer rate-limit observer', () => {
  it('is told what every reply states about the rate limits, answers and refusals alike, with the time its request was sent', async () => {
    let replies = 0;
    const raw = await rawServer((_req, res) => {
      replies++;
      const budget = { 'x-ratelimit-limit-requests': '50', 'x-ratelimit-remaining-requests': String(50 - replies), 'x-ratelimit-reset-requests': '20ms' };
      if (replies === 1) {
        res.writeHead(200, { 'content-type': 'application/json', ...budget });
        res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'ok' } }] }));
      } else {
        res.writeHead(429, { 'content-type': 'application/json', ...budget });
        res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests. Please try again in 120ms.' } }));
      }
    });
    try {
      const seen: Array<[unknown, number]> = [];
      const onRateLimits = (limits: unknown, sentAt: number) => seen.push([limits, sentAt]);
      const before = Date.now();
      await generateAnswer(model({ base_url: raw.url }), 'q', {}, { onRateLimits });
      const err = await failure(generateAnswer(model({ base_url: raw.url }), 'q', {}, { onRateLimits }));

      expect(err).toBeInstanceOf(RateLimitedError);
      expect(err.retryAfterMs).toBe(120); // the body's hint, no header giving the wait
      expect(seen.map(([limits]) => limits)).toEqual([
        { requests: { limit: 50, remaining: 49, resetMs: 20 } },
        { requests: { limit: 50, remaining: 48, resetMs: 20 }, retryAfterMs: 120 },
      ]);
      for (const [, sentAt] of seen) expect(sentAt).toBeGreaterThanOrEqual(before);
    } finally {
      await raw.close();
    }
  });

  it('does not turn an answer into a failure when the observer throws', async () => {
    const out = await generateAnswer(model(), 'q', {}, { onRateLimits: () => { throw new Error('observer bug'); } });
    expect(out.answer).toBe('answer to: q');
  });
});

describe('stub model server', () => {
  it('answers 429 with Retry-After above maxRequestsPerSecond and accepts again once the 1 s window has slid', async () => {
    server.setBehaviour({ maxRequestsPerSecond: 5 });

    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => generateAnswer(model(), `q${i}`, {})));

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(7);
    for (const r of rejected) expect(r.reason).toMatchObject({ name: 'RateLimitedError', retryAfterMs: 1000 });
    expect(server.requests.filter((r) => r.status === 429)).toHaveLength(7);

    await new Promise((resolve) => setTimeout(resolve, 1050));
    await expect(generateAnswer(model(), 'again', {})).resolves.toMatchObject({ answer: 'answer to: again' });
  });

  it('lists models on GET /v1/models and answers unknown paths with a JSON 404', async () => {
    const models = await fetch(`${server.url}/models`);
    const unknown = await fetch(`${server.url}/embeddings`, { method: 'POST', body: '{}' });

    expect(models.status).toBe(200);
    expect(((await models.json()) as any).data.map((m: { id: string }) => m.id)).toContain('stub-model');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.message).toContain('/v1/embeddings');
  });

  it('decides each outcome by the script from the request index and body', async () => {
    const seen: [number, string][] = [];
    server.setBehaviour({
      script: (i, body) => {
        seen.push([i, body.messages[0].content]);
        return body.messages[0].content === 'fail' ? '503' : 'ok';
      },
    });

    const results: string[] = [];
    for (const q of ['a', 'fail', 'b']) results.push(await generateAnswer(model(), q, {}).then(() => 'ok', (e) => e.name));

    expect(results).toEqual(['ok', 'ProviderServerError', 'ok']);
    expect(seen).toEqual([[0, 'a'], [1, 'fail'], [2, 'b']]);
    expect(server.requests.map((r) => r.status)).toEqual([200, 503, 200]);
  });
});

describe('splitThink', () => {
  it.each([
    ['a leading block', '<think>plan</think>\nAnswer', undefined, { answer: 'Answer', think: 'plan' }],
    ['an embedded block', 'Before <think> plan </think> after', undefined, { answer: 'Before  after', think: 'plan' }],
    ['no block', '  Answer  ', undefined, { answer: 'Answer', think: null }],
    ['an empty block', '<think>\n\n</think>Answer', undefined, { answer: 'Answer', think: null }],
    ['an unclosed block (cut by max_tokens)', '<think>still thinking', undefined, { answer: '', think: 'still thinking' }],
    ['a lone closing tag (opening tag in the prompt template)', 'plan</think>Answer', undefined, { answer: 'Answer', think: 'plan' }],
    ['a reasoning field', 'Answer', ' plan ', { answer: 'Answer', think: 'plan' }],
    ['a non-string reasoning field', 'Answer', { x: 1 }, { answer: 'Answer', think: null }],
  ])('handles %s', (_, content, reasoning, expected) => {
    expect(splitThink(content, reasoning)).toEqual(expected);
  });
});

describe('renderTemplate', () => {
  it('fills {{column}} placeholders from the row, missing and null columns as empty strings, objects as JSON', () => {
    expect(renderTemplate('{{a}}|{{ b }}|{{missing}}|{{n}}|{{o}}|{{constructor}}', { a: 'x', b: 2, n: null, o: { k: [1] } })).toBe('x|2|||{"k":[1]}|');
  });
});

describe('parseRetryAfter', () => {
  it('prefers retry-after-ms, then reads Retry-After as seconds or as an HTTP-date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '1' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }), now)).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
  });
});
