import { BUDGET_WINDOW_MS, Limiters, ModelLimiter, type LimiterOptions, type ModelBudget } from '../../runner/limiter.js';
import { ManualClock } from '../support/manual-clock.js';

function limiterFactory(options: Partial<LimiterOptions> = {}, budget: ModelBudget = {}) {
  const clock = new ManualClock();
  const changes: Array<[string, number, string]> = [];
  const limiter = new ModelLimiter('openai/gpt-4o', budget, {
    maxConcurrency: 8,
    clock,
    onLimitChange: (key, limit, reason) => changes.push([key, limit, reason]),
    ...options,
  });
  return { limiter, clock, changes };
}

function startMany(limiter: ModelLimiter, n: number, estimatedTokens?: number): void {
  for (let i = 0; i < n; i++) limiter.start(estimatedTokens);
}

describe('ModelLimiter concurrency', () => {
  it('allows starts up to the limit, then refuses until a slot is freed', () => {
    const { limiter } = limiterFactory({ maxConcurrency: 3 });

    for (let i = 0; i < 3; i++) {
      expect(limiter.canStart()).toBe(true);
      limiter.start();
    }

    expect(limiter.inFlight).toBe(3);
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(0); // only a slot is missing: no timer to set
    limiter.succeed();
    expect(limiter.canStart()).toBe(true);
  });

  it('never lets in-flight go negative when more requests finish than started', () => {
    const { limiter } = limiterFactory();
    limiter.start();

    limiter.succeed();
    limiter.succeed();
    limiter.fail('other');

    expect(limiter.inFlight).toBe(0);
  });

  it('halves the limit on a 429 and blocks starts until Retry-After has passed', async () => {
    const { limiter, clock } = limiterFactory();
    startMany(limiter, 1);

    limiter.throttle(5_000);

    expect(limiter.limit).toBe(4);
    expect(limiter.blockedUntil).toBe(clock.now() + 5_000);
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(5_000);
    await clock.advance(3_000);
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(2_000);
    await clock.advance(2_000);
    expect(limiter.canStart()).toBe(true);
    expect(limiter.waitMs()).toBe(0);
    // One refused request out of one: the learned pace is one start a second, after the block.
    expect(limiter.stats()).toEqual({ key: 'openai/gpt-4o', limit: 4, inFlight: 0, throttled: 1, blockedUntil: clock.now(), paceMs: 1052.6 });
  });

  it('grows back to the maximum by about one per window of successes, and never above it', () => {
    const { limiter } = limiterFactory({ maxConcurrency: 8, initialConcurrency: 2 });

    let successes = 0;
    while (limiter.limit < 8) {
      limiter.start();
      limiter.succeed();
      successes += 1;
    }
    // +1 per window: 2 + 3 + … + 7 = 27 successes, give or take the fractional carry.
    expect(successes).toBeGreaterThanOrEqual(20);
    expect(successes).toBeLessThanOrEqual(30);

    for (let i = 0; i < 1_000; i++) {
      limiter.start();
      limiter.succeed();
    }
    expect(limiter.limit).toBe(8);
  });

  it('cuts only once for a burst of 429s from requests that were in flight together', () => {
    const { limiter } = limiterFactory({ maxConcurrency: 8 });
    startMany(limiter, 8);

    for (let i = 0; i < 8; i++) limiter.throttle();

    expect(limiter.limit).toBe(4);
    expect(limiter.inFlight).toBe(0);
    expect(limiter.stats().throttled).toBe(8);
  });

  it('cuts again for a 429 from a request that started after the last cut', () => {
    const { limiter } = limiterFactory({ maxConcurrency: 8 });
    startMany(limiter, 2);
    limiter.throttle();
    limiter.start();

    limiter.throttle(); // started before the cut: same congestion
    expect(limiter.limit).toBe(4);
    limiter.throttle(); // started after the cut: new congestion
    expect(limiter.limit).toBe(2);
  });

  it('never cuts below the minimum concurrency', () => {
    const { limiter } = limiterFactory({ maxConcurrency: 8, minConcurrency: 3 });

    for (let i = 0; i < 5; i++) {
      limiter.start();
      limiter.throttle();
    }

    expect(limiter.limit).toBe(3);
  });

  it.each(['timeout', 'server'] as const)('halves the limit without blocking on a %s failure', (kind) => {
    const { limiter } = limiterFactory();
    startMany(limiter, 2);

    limiter.fail(kind);
    limiter.fail(kind); // in flight with the first: no second cut

    expect(limiter.limit).toBe(4);
    expect(limiter.blockedUntil).toBe(0);
    expect(limiter.canStart()).toBe(true);
  });

  it("frees the slot without changing the limit on an 'other' failure", () => {
    const { limiter, changes } = limiterFactory();
    limiter.start();

    limiter.fail('other');

    expect(limiter.limit).toBe(8);
    expect(limiter.inFlight).toBe(0);
    expect(changes).toEqual([]);
  });

  it('reports each change of the integer limit to onLimitChange, and nothing when it stays the same', () => {
    const { limiter, changes } = limiterFactory({ maxConcurrency: 4 });

    limiter.start();
    limiter.succeed(); // already at max: no change
    expect(changes).toEqual([]);

    limiter.start();
    limiter.throttle(); // 4 → 2
    limiter.start();
    limiter.succeed(); // 2.5: still 2
    limiter.start();
    limiter.succeed(); // 2.9: still 2
    limiter.start();
    limiter.succeed(); // 3.24: 3
    limiter.start();
    limiter.fail('timeout'); // 1.62: 1

    expect(changes).toEqual([
      ['openai/gpt-4o', 2, 'throttle'],
      ['openai/gpt-4o', 3, 'success'],
      ['openai/gpt-4o', 1, 'timeout'],
    ]);
  });

  it('rejects options that name an impossible limit', () => {
    expect(() => limiterFactory({ maxConcurrency: 0 })).toThrow(/maxConcurrency/);
    expect(() => limiterFactory({ maxConcurrency: 4, minConcurrency: 5 })).toThrow(/minConcurrency/);
    expect(() => limiterFactory({ maxConcurrency: 4, initialConcurrency: 9 })).toThrow(/initialConcurrency/);
    expect(() => limiterFactory({}, { requestsPerMinute: 0 })).toThrow(/requestsPerMinute/);
  });
});

describe('ModelLimiter budgets', () => {
  it('refuses the 61st start within 60 s at 60 requests per minute, until the oldest start leaves the window', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 100 }, { requestsPerMinute: 60 });
    const first = clock.now();
    for (let i = 0; i < 60; i++) {
      expect(limiter.canStart()).toBe(true);
      limiter.start();
      limiter.succeed(); // slots are not what stops it
      await clock.advance(500);
    }

    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(first + BUDGET_WINDOW_MS - clock.now());
    await clock.advance(limiter.waitMs() - 1);
    expect(limiter.canStart()).toBe(false);
    await clock.advance(1);
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.canStart()).toBe(false); // the second start, 500 ms later, is next to leave
    expect(limiter.waitMs()).toBe(500);
  });

  it('counts a request by its estimate while in flight and by its actual tokens once it succeeds', async () => {
    const { limiter, clock } = limiterFactory({}, { tokensPerMinute: 10_000 });
    limiter.start(4_000);
    await clock.advance(10_000);
    limiter.start(4_000);

    expect(limiter.canStart(3_000)).toBe(false); // 8,000 estimated + 3,000 > 10,000
    expect(limiter.waitMs(3_000)).toBe(50_000); // when the first start leaves the window

    limiter.succeed(1_000); // the first request used far less than estimated

    expect(limiter.canStart(3_000)).toBe(true); // 1,000 + 4,000 + 3,000
    expect(limiter.canStart(6_000)).toBe(false);
    expect(limiter.waitMs(6_000)).toBe(50_000);
    await clock.advance(50_000);
    expect(limiter.canStart(6_000)).toBe(true);
  });

  it('keeps the estimate of a failed request, since the provider may have counted it', () => {
    const { limiter } = limiterFactory({}, { tokensPerMinute: 10_000 });
    limiter.start(6_000);

    limiter.fail('server');

    expect(limiter.canStart(5_000)).toBe(false);
  });

  it('lets a request larger than the whole token budget start once the window is empty', async () => {
    const { limiter, clock } = limiterFactory({}, { tokensPerMinute: 1_000 });
    limiter.start(100);
    limiter.succeed(100);

    expect(limiter.canStart(5_000)).toBe(false);
    expect(limiter.waitMs(5_000)).toBe(BUDGET_WINDOW_MS);
    await clock.advance(BUDGET_WINDOW_MS);
    expect(limiter.canStart(5_000)).toBe(true);
  });

  it('waits for the later of Retry-After and the budget window', async () => {
    const { limiter, clock } = limiterFactory({}, { requestsPerMinute: 1 });
    limiter.start();
    await clock.advance(1_000);

    limiter.throttle(2_000);

    expect(limiter.waitMs()).toBe(BUDGET_WINDOW_MS - 1_000);
  });
});

describe('Limiters', () => {
  it('returns the same limiter for the same key and a separate one per key', () => {
    const limiters = new Limiters({ maxConcurrency: 4 });

    const a = limiters.get('a');

    expect(limiters.get('a')).toBe(a);
    expect(limiters.get('b')).not.toBe(a);
    expect(limiters.all()).toEqual([a, limiters.get('b')]);
  });

  it('applies a new budget given on a later call to the existing limiter', () => {
    const clock = new ManualClock();
    const limiters = new Limiters({ maxConcurrency: 4, clock });
    const limiter = limiters.get('a', { requestsPerMinute: 2 });
    limiter.start();
    expect(limiter.canStart()).toBe(true);

    limiters.get('a', { requestsPerMinute: 1 });

    expect(limiter.canStart()).toBe(false);
  });

  it('keeps a budget while tasks without one use the same endpoint', () => {
    const clock = new ManualClock();
    const limiters = new Limiters({ maxConcurrency: 8, clock });
    const limiter = limiters.get('a', { requestsPerMinute: 2 });
    limiter.start();
    limiter.succeed();
    // Another experiment's task, no budget declared: the endpoint's budget still holds.
    limiters.get('a', { requestsPerMinute: null, tokensPerMinute: null });
    limiter.start();
    limiter.succeed();
    limiters.get('a', {});
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(BUDGET_WINDOW_MS);
  });

  it('applies the strictest of the budgets declared within a window; a budget lapses a window after its last declaration', async () => {
    const clock = new ManualClock();
    const limiters = new Limiters({ maxConcurrency: 8, clock });
    const limiter = limiters.get('a', { requestsPerMinute: 3, tokensPerMinute: 1000 });
    limiters.get('a', { requestsPerMinute: 1 });
    limiter.start();
    expect(limiter.canStart()).toBe(false); // 1 per minute, from the second declaration
    limiter.succeed();

    // The loose budget keeps being declared; the strict one is not declared again.
    await clock.advance(BUDGET_WINDOW_MS / 2);
    limiters.get('a', { requestsPerMinute: 3 });
    expect(limiter.canStart()).toBe(false);
    await clock.advance(BUDGET_WINDOW_MS / 2);
    limiters.get('a', { requestsPerMinute: 3 });
    // The strict one has lapsed: 3 per minute, and the start a minute ago has left the window.
    startMany(limiter, 3);
    expect(limiter.canStart()).toBe(false);
  });

  it('lets a lapsed budget stop holding back starts still in its window', async () => {
    const clock = new ManualClock();
    const limiters = new Limiters({ maxConcurrency: 8, clock });
    const limiter = limiters.get('a', { tokensPerMinute: 100 });
    await clock.advance(BUDGET_WINDOW_MS * 0.9);
    limiters.get('a', {});
    limiter.start(100);
    expect(limiter.canStart(50)).toBe(false);
    await clock.advance(BUDGET_WINDOW_MS * 0.2);
    // The start is still in the window, but nothing has declared the budget for a window.
    limiters.get('a', {});
    expect(limiter.canStart(50)).toBe(true);
  });

  it('counts the starts made before a budget was declared: a budget declared later sees them', async () => {
    const clock = new ManualClock();
    const limiters = new Limiters({ maxConcurrency: 4, clock });
    // One experiment without a budget uses the endpoint…
    const limiter = limiters.get('a');
    limiter.start();
    limiter.succeed();
    await clock.advance(BUDGET_WINDOW_MS / 2);
    // …then another declares 1 request a minute: the start half a minute ago fills it.
    limiters.get('a', { requestsPerMinute: 1 });
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(BUDGET_WINDOW_MS / 2);
    await clock.advance(BUDGET_WINDOW_MS / 2);
    expect(limiter.canStart()).toBe(true);
  });

  it('rejects invalid options when built, before any limiter exists', () => {
    expect(() => new Limiters({ maxConcurrency: 0 })).toThrow(/maxConcurrency/);
  });
});

describe('ModelLimiter pacing learned from 429s', () => {
  it('spaces starts to 95% of the rate the model accepted when it began refusing', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    // A burst of 64 fast calls against a model that takes 50 a second: 14 are refused.
    startMany(limiter, 64);
    await clock.advance(60);
    for (let i = 0; i < 50; i++) limiter.succeed();
    for (let i = 0; i < 14; i++) limiter.throttle(1000);
    expect(limiter.pace).toBeCloseTo(1000 / (50 * 0.95), 9);
    // Retry-After first, then one start per pace.
    expect(limiter.waitMs()).toBe(1000);
    await clock.advance(1000);
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBeCloseTo(1000 / (50 * 0.95), 9);
    await clock.advance(22);
    expect(limiter.canStart()).toBe(true);
  });

  it('learns nothing from a 429 without Retry-After, and probes for more after a calm half-minute', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 16 });
    startMany(limiter, 10);
    limiter.throttle();
    expect(limiter.pace).toBe(0);
    limiter.throttle(500);
    const learned = limiter.pace;
    expect(learned).toBeGreaterThan(0);
    await clock.advance(31_000);
    limiter.succeed();
    expect(limiter.pace).toBeCloseTo(learned * 0.98, 9);
  });
});

describe('ModelLimiter look-ahead (open) and cancel', () => {
  it('is open only after a full window of successes at its maximum limit, unblocked, unpaced and without a budget', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 4 });
    expect(limiter.open).toBe(false); // a new model shows its rate limit in its first burst
    startMany(limiter, 4);
    for (let i = 0; i < 3; i++) limiter.succeed();
    expect(limiter.open).toBe(false);
    limiter.succeed();
    expect(limiter.open).toBe(true);
    startMany(limiter, 6); // more than the limit: tasks waiting at workers count too
    expect(limiter.open).toBe(true);
    limiter.fail('server'); // a cut
    expect(limiter.limit).toBe(2);
    expect(limiter.open).toBe(false);
    for (let i = 0; i < 20 && limiter.limit < 4; i++) {
      limiter.start();
      limiter.succeed();
    }
    expect(limiter.limit).toBe(4); // the climb back took more than a window of successes
    expect(limiter.open).toBe(true);

    limiter.throttle(2000); // Retry-After blocks
    expect(limiter.open).toBe(false);
    await clock.advance(2000);
    expect(limiter.pace).toBeGreaterThan(0);
    expect(limiter.open).toBe(false); // unblocked, but starts are still paced

    const budgeted = limiterFactory({ maxConcurrency: 4 }, { requestsPerMinute: 600 }).limiter;
    expect(budgeted.open).toBe(false);
  });

  it('undoes a start handed back unstarted: its slot and its place in the budget window', () => {
    const { limiter } = limiterFactory({ maxConcurrency: 2 }, { requestsPerMinute: 2 });
    limiter.start();
    limiter.start();
    expect(limiter.canStart()).toBe(false);
    limiter.cancel();
    expect(limiter.inFlight).toBe(1);
    expect(limiter.canStart()).toBe(true); // the budget has room again too
    limiter.cancel();
    limiter.cancel(); // nothing in flight: no effect
    expect(limiter.inFlight).toBe(0);
  });
});

describe('ModelLimiter first wave and paced grid', () => {
  it('holds freed slots until a new model\'s first wave is back, or firstWaveMs at most', async () => {
    const { limiter } = limiterFactory({ maxConcurrency: 4, firstWaveMs: 1000 });
    startMany(limiter, 3);
    limiter.succeed(); // before the wave is full, a freed slot is refilled as usual
    expect(limiter.canStart()).toBe(true);
    startMany(limiter, 2); // 5 starts: the first 4 were the wave
    limiter.succeed();
    limiter.succeed();
    expect(limiter.inFlight).toBe(2);
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(1000);
    limiter.succeed();
    limiter.succeed();
    expect(limiter.canStart()).toBe(true); // all back: the wave is over for good
    startMany(limiter, 4);
    limiter.succeed();
    expect(limiter.canStart()).toBe(true);

    const slow = limiterFactory({ maxConcurrency: 2, firstWaveMs: 1000 });
    startMany(slow.limiter, 2);
    slow.limiter.succeed(); // the other hangs
    expect(slow.limiter.canStart()).toBe(false);
    await slow.clock.advance(1000);
    expect(slow.limiter.canStart()).toBe(true);
  });

  it('keeps paced starts on their grid when timers fire late, and restarts the grid after a pause', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    startMany(limiter, 20);
    for (let i = 0; i < 10; i++) limiter.succeed();
    for (let i = 0; i < 10; i++) limiter.throttle(100);
    const pace = limiter.pace; // 10 accepted in the last second: ~105 ms
    await clock.advance(100);
    limiter.start();
    // Each start happens 3 ms after it was allowed; the rate still holds to the pace.
    for (let i = 0; i < 10; i++) {
      await clock.advance(limiter.waitMs() + 3);
      expect(limiter.canStart()).toBe(true);
      limiter.start();
    }
    expect(limiter.waitMs()).toBeCloseTo(pace - 3, 6);
    await clock.advance(10 * pace); // a pause: no burst to catch up
    limiter.start();
    expect(limiter.waitMs()).toBeCloseTo(pace, 6);
  });
});
