/**
 * The stub model's gateway-style rate limits over HTTP, as a client sees
 * them: status, headers and body of each style, with a plain fetch.
 */
import { performance } from 'node:perf_hooks';
import { startModelServer, type StubModelServer, type StubRateLimit } from '../support/model-server.js';

let server: StubModelServer;
beforeAll(async () => {
  server = await startModelServer();
});
afterEach(() => {
  server.setBehaviour({});
  server.reset();
});
afterAll(() => server.close());

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function chat(content = 'hello there', extra: Record<string, unknown> = {}): Promise<Answer> {
  const res = await fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stub-model', messages: [{ role: 'user', content }], ...extra }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const limited = (rateLimit: StubRateLimit, latencyMs = 0) => server.setBehaviour({ latencyMs, rateLimit });

/** One request allowed per minute, so the second is refused. */
const onePerMinute: StubRateLimit['limits'] = [{ unit: 'requests', perWindow: 1 }];
/** A 50 req/s bucket with no burst to speak of: the second request must wait 20 ms. */
const fiftyPerSecond: StubRateLimit['limits'] = [{ unit: 'requests', perSecond: 50, burst: 1 }];

describe('when a refusal is sent', () => {
  it('refuses at once, while an accepted request is still waiting out the latency', async () => {
    limited({ limits: onePerMinute }, 1500);
    const accepted = chat().then((a) => ['accepted', a.status] as const);
    await waitForRequests(1);
    const refused = chat().then((a) => ['refused', a.status] as const);

    expect(await Promise.race([accepted, refused])).toEqual(['refused', 429]);
    expect(await accepted).toEqual(['accepted', 200]);
  });

  it('refuses after the latency when asked to, as the stub always did', async () => {
    limited({ limits: onePerMinute, refuse: 'after-latency' }, 300);
    expect((await chat()).status).toBe(200);

    const t0 = performance.now();
    const refused = await chat();

    expect(refused.status).toBe(429);
    // A lower bound only: a busy machine can make it later, never earlier.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
  });
});

describe('how a refusal says when to retry', () => {
  it('sends Retry-After in whole seconds, at least 1, by default', async () => {
    limited({ limits: fiftyPerSecond });
    await chat();
    const refused = await chat();

    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('retry-after-ms')).toBeNull();
  });

  it('sends Retry-After as an HTTP-date no earlier than the budget is back', async () => {
    limited({ limits: onePerMinute, retryHints: ['http-date'] });
    await chat();
    const before = Date.now();
    const refused = await chat();

    const value = refused.headers.get('retry-after')!;
    expect(value).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
    // The window opened with the first request, within the last minute: it closes within 60 s, rounded up to the second.
    expect(Date.parse(value)).toBeGreaterThan(before);
    expect(Date.parse(value)).toBeLessThanOrEqual(before + 61_000);
  });

  it('sends retry-after-ms with the exact delay, and Retry-After beside it as Azure does', async () => {
    limited({ limits: fiftyPerSecond, retryHints: ['seconds', 'ms'] });
    await chat();
    const refused = await chat();

    const ms = Number(refused.headers.get('retry-after-ms'));
    expect(ms).toBeGreaterThanOrEqual(1);
    expect(ms).toBeLessThanOrEqual(20);
    expect(refused.headers.get('retry-after')).toBe('1');
  });

  it('says it only in the body, in OpenAI’s words, when no header is wanted', async () => {
    limited({ limits: fiftyPerSecond, retryHints: ['body'] });
    await chat();
    const refused = await chat();

    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(refused.headers.get('retry-after-ms')).toBeNull();
    expect(refused.body.error.code).toBe('rate_limit_exceeded');
    expect(refused.body.error.message).toMatch(/^Rate limit reached for stub-model .*: Limit 1, Used 1, Requested 1\. Please try again in ([1-9]|1\d|20)ms\.$/);
  });

  it('answers 503 for an overload and 529 with Anthropic’s overloaded_error', async () => {
    limited({ limits: onePerMinute, status: 503, retryHints: [] });
    await chat();
    const overloaded = await chat();
    expect(overloaded.status).toBe(503);
    expect(overloaded.body.error.type).toBe('server_error');
    expect(overloaded.headers.get('retry-after')).toBeNull();

    limited({ limits: onePerMinute, status: 529, retryHints: [] });
    await chat();
    const anthropic = await chat();
    expect(anthropic.status).toBe(529);
    expect(anthropic.body).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });
});

describe('budget headers', () => {
  it('sends OpenAI’s x-ratelimit headers on successes and refusals, remaining counting down with the requests and tokens used', async () => {
    limited({
      limits: [
        { unit: 'requests', perWindow: 3 },
        { unit: 'tokens', perWindow: 1000 },
      ],
      budgetHeaders: 'openai',
      retryHints: ['body'],
    });
    let tokensUsed = 0;
    for (const left of [2, 1, 0]) {
      const ok = await chat();
      tokensUsed += ok.body.usage.total_tokens;
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(ok.headers.get('x-ratelimit-remaining-requests')).toBe(String(left));
      expect(ok.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
      expect(ok.headers.get('x-ratelimit-remaining-tokens')).toBe(String(1000 - tokensUsed));
      expectResetWithinAMinute(ok.headers.get('x-ratelimit-reset-requests')!);
    }
    const refused = await chat();

    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe(String(1000 - tokensUsed));
    expectResetWithinAMinute(refused.headers.get('x-ratelimit-reset-tokens')!);
  });

  it('sends Anthropic’s headers with RFC 3339 resets, and retry-after on the refusal', async () => {
    limited({ limits: [{ unit: 'requests', perWindow: 2 }, { unit: 'input-tokens', perWindow: 100 }], budgetHeaders: 'anthropic' });
    const before = Date.now();
    const ok = await chat('one two three');

    expect(ok.headers.get('anthropic-ratelimit-requests-limit')).toBe('2');
    expect(ok.headers.get('anthropic-ratelimit-requests-remaining')).toBe('1');
    expect(ok.headers.get('anthropic-ratelimit-input-tokens-remaining')).toBe('97');
    const reset = ok.headers.get('anthropic-ratelimit-requests-reset')!;
    expect(reset).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(reset)).toBeGreaterThan(before);
    expect(Date.parse(reset)).toBeLessThanOrEqual(Date.now() + 61_000);

    await chat();
    const refused = await chat();
    expect(refused.status).toBe(429);
    expect(refused.body.error.type).toBe('rate_limit_error');
    expect(refused.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('reserves max_tokens on admission, as OpenAI counts a request against its tokens per minute', async () => {
    limited({ limits: [{ unit: 'tokens', perWindow: 100 }], budgetHeaders: 'openai' });

    const first = await chat('hello there', { max_tokens: 90 });
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe('8');
    expect((await chat('hello there', { max_tokens: 10 })).status).toBe(429);
  });
});

describe('limits', () => {
  it('refuses the 3,001st request in a minute at 3,000 requests per minute', async () => {
    limited({ limits: [{ unit: 'requests', perWindow: 3000 }] });
    const statuses: number[] = [];
    for (let i = 0; i < 3000; i += 100) statuses.push(...(await Promise.all(Array.from({ length: 100 }, () => chat().then((a) => a.status)))));

    expect(statuses.filter((s) => s === 200)).toHaveLength(3000);
    expect((await chat()).status).toBe(429);
  });

  it('follows a limit raised by hand mid-run, keeping what was already used', async () => {
    limited({ limits: [{ unit: 'requests', perWindow: 2 }] });
    expect([(await chat()).status, (await chat()).status, (await chat()).status]).toEqual([200, 200, 429]);

    server.changeLimits([{ unit: 'requests', perWindow: 4 }]);

    expect([(await chat()).status, (await chat()).status, (await chat()).status]).toEqual([200, 200, 429]);
    expect(server.limitStates()[0]).toMatchObject({ limit: 4, remaining: 0 });
  });

  it('follows a schedule given at the start, timed from the first request', async () => {
    limited({ limits: [{ unit: 'requests', perWindow: 1 }], schedule: [{ afterMs: 300, limits: [{ unit: 'requests', perWindow: 3 }] }] });
    expect([(await chat()).status, (await chat()).status]).toEqual([200, 429]);

    await new Promise((r) => setTimeout(r, 400));

    expect([(await chat()).status, (await chat()).status, (await chat()).status]).toEqual([200, 200, 429]);
  });
});

/** OpenAI's reset text (`59.998s`, `1m0s`) read back: at most a minute. */
function expectResetWithinAMinute(value: string): void {
  expect(value).toMatch(/^((\d+)m)?\d+(\.\d+)?s$|^\d+ms$/);
  const m = /^(?:(\d+)m)?([\d.]+)(ms|s)$/.exec(value)!;
  const ms = Number(m[1] ?? 0) * 60_000 + Number(m[2]) * (m[3] === 'ms' ? 1 : 1000);
  expect(ms).toBeGreaterThan(0);
  expect(ms).toBeLessThanOrEqual(60_000);
}

async function waitForRequests(n: number): Promise<void> {
  while (server.requests.length < n) await new Promise((r) => setTimeout(r, 5));
}
