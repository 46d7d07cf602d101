import { describe, expect, it } from '@jest/globals';
import { anthropicBudgetHeaders, goDuration, openAiBudgetHeaders, openAiRefusalBody, retryHeaders, rfc3339Seconds, tryAgainIn } from '../../bench/stub-limit-headers.js';
import { StubLimits, type Cost, type LimitChange, type LimitSpec } from '../../bench/stub-limits.js';

/** A clock the test moves by hand. */
function clock(start = Date.UTC(2025, 7, 21, 12, 40, 0)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const ONE: Cost = { input: 0, output: 0 };

function limitsAt(specs: LimitSpec[], schedule: LimitChange[] = []) {
  const c = clock();
  return { c, limits: new StubLimits(specs, c.now, schedule) };
}

function admitted(limits: StubLimits, n: number, cost: Cost = ONE): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (limits.admit(cost).ok) ok++;
  return ok;
}

describe('token bucket', () => {
  it('admits a burst, then refuses, telling how long until one request fits', () => {
    const { limits } = limitsAt([{ unit: 'requests', perSecond: 50, burst: 50 }]);

    expect(admitted(limits, 50)).toBe(50);
    const refusal = limits.admit(ONE);

    expect(refusal).toMatchObject({ ok: false, retryAfterMs: 20, refusedBy: { unit: 'requests', limit: 50, remaining: 0, resetMs: 1000 } });
  });

  it('refills at its rate: 50/s gives one more request every 20 ms, never above the burst', () => {
    const { c, limits } = limitsAt([{ unit: 'requests', perSecond: 50, burst: 50 }]);
    admitted(limits, 50);

    c.advance(19);
    expect(limits.admit(ONE).ok).toBe(false);
    c.advance(1);
    expect(limits.admit(ONE).ok).toBe(true);
    c.advance(10_000);
    expect(limits.states()[0]).toMatchObject({ limit: 50, remaining: 50, resetMs: 0 });
    expect(admitted(limits, 51)).toBe(50);
  });

  it('reports remaining decreasing and reset as the time until the bucket is full again', () => {
    // OpenAI's bucket: 5000 requests per minute; after one request the headers read 4999 and 12ms
    // (captured answer: https://community.openai.com/t/how-to-get-rate-limit-reset-time-for-response-api/1268905).
    const { limits } = limitsAt([{ unit: 'requests', perSecond: 5000 / 60, burst: 5000 }]);

    limits.admit(ONE);
    expect(openAiBudgetHeaders(limits.tightest())).toEqual({
      'x-ratelimit-limit-requests': '5000',
      'x-ratelimit-remaining-requests': '4999',
      'x-ratelimit-reset-requests': '12ms',
    });
    limits.admit(ONE);
    expect(openAiBudgetHeaders(limits.tightest())['x-ratelimit-remaining-requests']).toBe('4998');
    expect(openAiBudgetHeaders(limits.tightest())['x-ratelimit-reset-requests']).toBe('24ms');
  });
});

describe('fixed window', () => {
  it('refuses the 3,001st request of a minute at 3,000 RPM until the minute that the first request opened is over', () => {
    const { c, limits } = limitsAt([{ unit: 'requests', perWindow: 3000 }]);

    expect(limits.admit(ONE).ok).toBe(true);
    c.advance(30_000);
    expect(admitted(limits, 2999)).toBe(2999);
    const refusal = limits.admit(ONE);
    expect(refusal).toMatchObject({ ok: false, retryAfterMs: 30_000, refusedBy: { limit: 3000, remaining: 0, resetMs: 30_000 } });

    c.advance(29_999);
    expect(limits.admit(ONE).ok).toBe(false);
    c.advance(1);
    expect(limits.admit(ONE).ok).toBe(true);
    expect(limits.states()[0]).toMatchObject({ remaining: 2999, resetMs: 60_000 });
  });
});

describe('token limits', () => {
  it('counts prompt plus reserved output against a tokens limit, the input alone against input-tokens', () => {
    const { limits } = limitsAt([
      { unit: 'tokens', perWindow: 1000 },
      { unit: 'input-tokens', perWindow: 500 },
    ]);

    expect(limits.admit({ input: 100, output: 300 }).ok).toBe(true);
    expect(limits.states().map((s) => s.remaining)).toEqual([600, 400]);
    expect(limits.admit({ input: 100, output: 600 })).toMatchObject({ ok: false, refusedBy: { unit: 'tokens' } });
    expect(limits.admit({ input: 401, output: 0 })).toMatchObject({ ok: false, refusedBy: { unit: 'input-tokens' } });
  });

  it('charges output known only afterwards, so a bucket in debt refuses until it has refilled', () => {
    const { c, limits } = limitsAt([{ unit: 'tokens', perSecond: 100, burst: 100 }]);

    expect(limits.admit({ input: 10, output: 0 }).ok).toBe(true);
    limits.charge({ input: 0, output: 190 });
    expect(limits.states()[0].remaining).toBe(0);
    const refusal = limits.admit({ input: 10, output: 0 });
    // 100 tokens in debt plus the 10 asked for, at 100 per second.
    expect(refusal).toMatchObject({ ok: false, retryAfterMs: 1100 });
    c.advance(1100);
    expect(limits.admit({ input: 10, output: 0 }).ok).toBe(true);
  });

  it('refuses by the limit that frees last when several are short', () => {
    const { limits } = limitsAt([
      { unit: 'requests', perSecond: 10, burst: 1 },
      { unit: 'requests', perWindow: 1, windowMs: 5000 },
    ]);

    limits.admit(ONE);
    expect(limits.admit(ONE)).toMatchObject({ ok: false, retryAfterMs: 5000, refusedBy: { kind: 'window' } });
    // Headers report the limit closest to refusing.
    expect(limits.tightest().get('requests')).toMatchObject({ kind: 'window', resetMs: 5000 });
  });
});

describe('limits that change during a run', () => {
  it('follows a schedule from the first request: 50/s, then 25/s after 6 s, then 75/s after 12 s', () => {
    const { c, limits } = limitsAt(
      [{ unit: 'requests', perSecond: 50, burst: 50 }],
      [
        { afterMs: 6000, limits: [{ unit: 'requests', perSecond: 25, burst: 25 }] },
        { afterMs: 12_000, limits: [{ unit: 'requests', perSecond: 75, burst: 75 }] },
      ],
    );
    // A client always asking for more: 5 tries every 20 ms (steps in which the rates refill exact amounts).
    const perSecond = (): number => {
      let n = 0;
      for (let step = 0; step < 50; step++) {
        c.advance(20);
        n += admitted(limits, 5);
      }
      return n;
    };

    limits.admit(ONE);
    const counts = Array.from({ length: 15 }, perSecond);

    // The first second also drains the initial burst.
    expect(counts.slice(1)).toEqual([50, 50, 50, 50, 50, 25, 25, 25, 25, 25, 25, 75, 75, 75]);
  });

  it('keeps what was used when lowered by hand: a bucket is capped at its new burst, a window keeps its count', () => {
    const { limits } = limitsAt([
      { unit: 'requests', perSecond: 50, burst: 50 },
      { unit: 'tokens', perWindow: 1000 },
    ]);
    admitted(limits, 10, { input: 50, output: 0 });

    limits.change([
      { unit: 'requests', perSecond: 20, burst: 20 },
      { unit: 'tokens', perWindow: 600 },
    ]);

    expect(limits.states().map((s) => [s.limit, s.remaining])).toEqual([
      [20, 20],
      [600, 100],
    ]);
  });
});

describe('header formats', () => {
  it("writes resets as OpenAI does, in Go's duration text", () => {
    // Values seen in OpenAI's rate-limits guide (`1s`, `6m0s`), captured answers (`12ms`, `14.981s`, `119ms`:
    // community.openai.com 1268905 and a captured header dump), Groq's same format (`1m26.4s`).
    expect(goDuration(12)).toBe('12ms');
    expect(goDuration(119)).toBe('119ms');
    expect(goDuration(1000)).toBe('1s');
    expect(goDuration(14_981)).toBe('14.981s');
    expect(goDuration(360_000)).toBe('6m0s');
    expect(goDuration(86_400)).toBe('1m26.4s');
    expect(goDuration(90_500)).toBe('1m30.5s');
    expect(goDuration(3_600_000)).toBe('1h0m0s');
    expect(goDuration(0)).toBe('0s');
    expect(goDuration(19.2)).toBe('20ms');
  });

  it('writes Anthropic resets as RFC 3339 whole seconds, rounded up', () => {
    // As in a captured Anthropic answer: `anthropic-ratelimit-requests-reset: 2025-08-21T12:40:59Z` (tidyllm fixture).
    expect(rfc3339Seconds(Date.UTC(2025, 7, 21, 12, 40, 59))).toBe('2025-08-21T12:40:59Z');
    expect(rfc3339Seconds(Date.UTC(2025, 7, 21, 12, 40, 58, 1))).toBe('2025-08-21T12:40:59Z');
  });

  it('sends Anthropic budget headers for each unit with the instant the budget is back', () => {
    const { c, limits } = limitsAt([
      { unit: 'requests', perWindow: 1000 },
      { unit: 'input-tokens', perSecond: 80_000 / 60, burst: 80_000 },
    ]);
    limits.admit({ input: 4000, output: 0 });

    expect(anthropicBudgetHeaders(limits.tightest(), c.now())).toEqual({
      'anthropic-ratelimit-requests-limit': '1000',
      'anthropic-ratelimit-requests-remaining': '999',
      'anthropic-ratelimit-requests-reset': '2025-08-21T12:41:00Z',
      'anthropic-ratelimit-input-tokens-limit': '80000',
      'anthropic-ratelimit-input-tokens-remaining': '76000',
      'anthropic-ratelimit-input-tokens-reset': '2025-08-21T12:40:03Z',
    });
  });

  it('leaves input/output token limits out of OpenAI headers, which have no such split', () => {
    const { limits } = limitsAt([{ unit: 'output-tokens', perWindow: 100 }]);
    expect(openAiBudgetHeaders(limits.tightest())).toEqual({});
  });

  it('writes Retry-After as whole seconds of at least 1, as an HTTP-date, and retry-after-ms exactly', () => {
    const now = Date.UTC(2025, 7, 21, 12, 40, 0, 300);
    expect(retryHeaders(['seconds'], 20, now)).toEqual({ 'retry-after': '1' });
    expect(retryHeaders(['seconds'], 1001, now)).toEqual({ 'retry-after': '2' });
    expect(retryHeaders(['http-date'], 1200, now)).toEqual({ 'retry-after': 'Thu, 21 Aug 2025 12:40:02 GMT' });
    expect(retryHeaders(['seconds', 'ms'], 120, now)).toEqual({ 'retry-after': '1', 'retry-after-ms': '120' });
    expect(retryHeaders(['body'], 120, now)).toEqual({});
  });

  it('words a body-only hint as OpenAI and Azure do', () => {
    // "… Please try again in 644ms." (BuilderIO/micro-agent#86), "… in 18.642s." (semanser/codel#72).
    expect(tryAgainIn(644)).toBe('644ms');
    expect(tryAgainIn(18_642)).toBe('18.642s');
    const { limits } = limitsAt([{ unit: 'tokens', perWindow: 30_000 }]);
    limits.admit({ input: 29_937, output: 0 });
    const refusal = limits.admit({ input: 385, output: 0 });
    if (refusal.ok) throw new Error('expected a refusal');
    const message = JSON.parse(openAiRefusalBody('gpt-4o', refusal.refusedBy, 385, 120, true)).error.message;
    expect(message).toBe('Rate limit reached for gpt-4o in organization org-stub on 30000 tokens per minute: Limit 30000, Used 29937, Requested 385. Please try again in 120ms.');
  });
});
