import { BUDGET_WINDOW_MS, GENTLE_PROBE_GROWTH, PROBE_GROWTH, probeStep, Limiters, ModelLimiter, type LimiterOptions, type ModelBudget } from '../../runner/limiter.js';
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

/** One probing step from `pace`, as PROBE_GROWTH sets it: about 1% at 50 a second. */
const probed = (pace: number) => pace * probeStep(pace, PROBE_GROWTH);

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

  it('halves the limit on a first 429 with no pace in force, and leaves the other starts unblocked by its Retry-After', () => {
    const { limiter, clock } = limiterFactory();
    startMany(limiter, 1);

    limiter.throttle(5_000);

    expect(limiter.limit).toBe(4);
    expect(limiter.blockedUntil).toBe(0);
    expect(limiter.canStart()).toBe(true);
    expect(limiter.waitMs()).toBe(0);
    // One refused request out of one: nothing accepted, no rate to keep to.
    expect(limiter.stats()).toEqual({ key: 'openai/gpt-4o', limit: 4, inFlight: 0, throttled: 1, blockedUntil: 0, paceMs: 0, share: 1 });
    expect(clock.now()).toBe(1_000_000);
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

  it('cuts again for a timeout from a request that started after the last cut', () => {
    const { limiter } = limiterFactory({ maxConcurrency: 8 });
    startMany(limiter, 2);
    limiter.fail('timeout');
    limiter.start();

    limiter.fail('timeout'); // started before the cut: same congestion
    expect(limiter.limit).toBe(4);
    limiter.fail('timeout'); // started after the cut: new congestion
    expect(limiter.limit).toBe(2);
  });

  it('does not cut the limit for a 429 while a learned pace is in force: the pace holds the rate', () => {
    const { limiter } = limiterFactory({ maxConcurrency: 8 });
    startMany(limiter, 4);
    limiter.throttle(); // 3 of 4 accepted: a pace, and the one cut of a 429 with no pace before it
    expect(limiter.pace).toBeGreaterThan(0);
    expect(limiter.limit).toBe(4);
    startMany(limiter, 2);

    for (let i = 0; i < 5; i++) limiter.throttle();

    expect(limiter.limit).toBe(4);
    expect(limiter.stats().throttled).toBe(6);
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

  it("counts every request of a task that sent several (a tool loop, a judge's steps) against the budget", async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 100 }, { requestsPerMinute: 10 });
    const first = clock.now();
    // Three tasks of three model calls each: nine requests of the ten.
    for (let i = 0; i < 3; i++) {
      expect(limiter.canStart()).toBe(true);
      limiter.start();
      await clock.advance(100);
      limiter.succeed();
      limiter.moreCalls(2);
    }
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    limiter.succeed();
    // Ten requests in the window: the next start waits for the first task's start to leave it.
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(first + BUDGET_WINDOW_MS - clock.now());
    // The first task's other two calls, made by its end, leave the window a call's time later.
    await clock.advance(limiter.waitMs());
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(100);
    limiter.moreCalls(0); // nothing more: nothing changes
    expect(limiter.waitMs()).toBe(100);
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
  it('spaces starts to 95% of the rate the model accepted when it began refusing, without waiting for the Retry-After', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    // A burst of 64 fast calls against a model that takes 50 a second: 14 are refused at once,
    // before the accepted ones answer; the estimate tightens with each refusal of the burst.
    startMany(limiter, 64);
    await clock.advance(1);
    limiter.throttle(1000);
    expect(limiter.pace).toBeCloseTo(1000 / (63 * 0.95), 9);
    for (let i = 0; i < 13; i++) limiter.throttle(1000);
    expect(limiter.pace).toBeCloseTo(1000 / (50 * 0.95), 9);
    await clock.advance(59);
    for (let i = 0; i < 50; i++) limiter.succeed();
    expect(limiter.pace).toBeCloseTo(1000 / (50 * 0.95), 9); // the answers change nothing
    // No block: one start per pace.
    expect(limiter.blockedUntil).toBe(0);
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBeCloseTo(1000 / (50 * 0.95), 9);
    await clock.advance(22);
    expect(limiter.canStart()).toBe(true);
  });

  it('learns a pace from a 429 that states no wait, as from one that does', () => {
    const { limiter } = limiterFactory({ maxConcurrency: 16 });
    startMany(limiter, 10);
    limiter.throttle();
    expect(limiter.pace).toBeCloseTo(1000 / (9 * 0.95), 9);
    expect(limiter.blockedUntil).toBe(0);
  });

  it('probes upward after a calm second: the spacing shrinks 1% per success until the next 429 re-learns it', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 16 });
    startMany(limiter, 10);
    limiter.throttle(200);
    const learned = limiter.pace;
    await clock.advance(999);
    limiter.succeed();
    expect(limiter.pace).toBe(learned); // not calm for a second yet
    await clock.advance(1);
    limiter.succeed();
    expect(limiter.pace).toBeCloseTo(probed(learned), 9);
    limiter.succeed();
    expect(limiter.pace).toBeCloseTo(probed(probed(learned)), 9);
    for (let i = 0; i < 6; i++) limiter.succeed(); // the rest of the first burst answers
    // The probe refused (a new episode, after the first one's Retry-After): back to the pace the
    // calm was kept at, which the model accepted, since nothing measured is faster.
    startMany(limiter, 5);
    limiter.throttle(200);
    expect(limiter.pace).toBe(learned);
    expect(limiter.blockedUntil).toBe(0);
  });

  it('does not probe before the Retry-After of the refusal that taught the pace has passed', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 16 });
    startMany(limiter, 10);
    limiter.throttle(30_000);
    const learned = limiter.pace;
    await clock.advance(29_000);
    limiter.succeed();
    expect(limiter.pace).toBe(learned);
    await clock.advance(1000);
    limiter.succeed();
    expect(limiter.pace).toBeCloseTo(probed(learned), 9);
  });

  it('probing raises the rate by about two thirds a second, whether the model takes 25 or 500 a second', async () => {
    for (const burst of [25, 500]) {
      const { limiter, clock } = limiterFactory({ maxConcurrency: 1000 });
      startMany(limiter, burst + 1);
      await clock.advance(1);
      limiter.throttle(100);
      for (let i = 0; i < burst; i++) limiter.succeed();
      await clock.advance(1000);
      const start = limiter.pace;
      // A second of successes, one per spacing, as a paced run has them.
      for (let elapsed = 0; elapsed < 1000; elapsed += limiter.pace) {
        limiter.start();
        await clock.advance(limiter.pace);
        limiter.succeed();
      }
      expect(start / limiter.pace).toBeGreaterThan(1.55);
      expect(start / limiter.pace).toBeLessThan(1.75);
    }
  });

  it('stops pacing once probing has brought the spacing under half a millisecond', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    startMany(limiter, 64);
    limiter.throttle(100);
    await clock.advance(1000);
    // About 7 s of probing at 65% a second, from 63 a second to 2,000.
    let successes = 0;
    while (limiter.pace > 0 && successes < 100_000) {
      limiter.succeed();
      successes++;
    }
    expect(limiter.pace).toBe(0);
  });
});

describe('ModelLimiter Retry-After, confirmed', () => {
  it('blocks every start for the Retry-After once a request sent after the pace took effect is refused within it', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 8 });
    startMany(limiter, 4);
    limiter.throttle(1000); // first of the episode: a pace, no block
    expect(limiter.blockedUntil).toBe(0);
    await clock.advance(300);
    limiter.start(); // sent under the pace
    await clock.advance(10);
    limiter.succeed(); // (the oldest in flight answers)
    limiter.succeed();
    limiter.succeed();
    const paceBefore = limiter.pace;

    limiter.throttle(1000); // the request sent at +300, refused at +310

    expect(limiter.blockedUntil).toBe(clock.now() + 1000);
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(1000);
    expect(limiter.pace).toBe(paceBefore); // too soon to measure; the block holds starts back
    await clock.advance(1000);
    expect(limiter.canStart()).toBe(true);
  });

  it('slows the pace by a tenth when a refusal that states no wait confirms it was not enough', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 8 });
    startMany(limiter, 4);
    limiter.throttle(); // a 503 overload: a pace, no wait stated
    for (let i = 0; i < 3; i++) limiter.succeed();
    const paceBefore = limiter.pace;
    await clock.advance(100);
    limiter.start();
    await clock.advance(5);

    limiter.throttle();

    expect(limiter.blockedUntil).toBe(0);
    expect(limiter.pace).toBeCloseTo(paceBefore / 0.9, 9);
  });

  it('waits twice as long before probing again after a probe that ended in a confirmed refusal', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 8 });
    startMany(limiter, 4);
    limiter.throttle(100);
    for (let i = 0; i < 3; i++) limiter.succeed();
    await clock.advance(50);
    limiter.start();
    limiter.throttle(100); // confirmed: blocked 100 ms
    const pace = limiter.pace;
    await clock.advance(100 + 1000);
    limiter.start();
    limiter.succeed();
    expect(limiter.pace).toBe(pace); // a second of calm after the block is no longer enough
    await clock.advance(1000);
    limiter.start();
    limiter.succeed();
    expect(limiter.pace).toBeCloseTo(probed(pace), 9);
  });
});

describe('ModelLimiter refusals after the first: probes, echoes, confirmations', () => {
  const FIRST_PACE = 1000 / (9 * 0.95);

  /** A first burst of 10, one refused at +1 ms with Retry-After 1 s (9 accepted: a pace of 1000 / (9 × 0.95) ms), the others answered. */
  async function afterFirstRefusal() {
    const f = limiterFactory({ maxConcurrency: 64 });
    startMany(f.limiter, 10);
    await f.clock.advance(1);
    f.limiter.throttle(1000);
    expect(f.limiter.pace).toBeCloseTo(FIRST_PACE, 9);
    for (let i = 0; i < 9; i++) f.limiter.succeed();
    return f;
  }

  /** A calm of `ms`, then one success that starts probing (the calm's pace is remembered). */
  async function probeAfter(f: Awaited<ReturnType<typeof afterFirstRefusal>>, ms: number) {
    await f.clock.advance(ms);
    f.limiter.start();
    f.limiter.succeed();
    expect(f.limiter.pace).toBeCloseTo(probed(FIRST_PACE), 9);
  }

  it('a refused probe goes back to what a window allowed over the last two seconds, when that is faster than the calm', async () => {
    const f = await afterFirstRefusal();
    await probeAfter(f, 5000);
    startMany(f.limiter, 50);
    for (let i = 0; i < 49; i++) f.limiter.succeed();
    f.limiter.throttle(1000);
    // 50 accepted within the last 2 s (51 starts, one refused), taken at 93%; the average since the
    // first refusal (6 s) would be 126 ms, the calm's pace 117 ms.
    expect(f.limiter.pace).toBeCloseTo(2000 / (50 * 0.93), 9);
    expect(f.limiter.blockedUntil).toBe(0);
  });

  it('a refused probe never goes below the pace the calm was kept at, however little was sent since', async () => {
    const f = await afterFirstRefusal();
    await probeAfter(f, 5000);
    f.limiter.start();
    f.limiter.throttle(1000);
    // One accepted in 6 s would be a pace of seconds: a limit that counts windows accepts all that
    // is sent under it, so what was sent is no measure of it.
    expect(f.limiter.pace).toBeCloseTo(FIRST_PACE, 9);
  });

  it('refusals just after a refused probe are its echo: no block, and the next probe waits twice as long', async () => {
    const f = await afterFirstRefusal();
    await probeAfter(f, 5000);
    f.limiter.start();
    f.limiter.throttle(1000);
    await f.clock.advance(10);
    f.limiter.start();
    await f.clock.advance(40);
    f.limiter.throttle(1000); // sent after the probe's refusal, refused 50 ms after it
    expect(f.limiter.blockedUntil).toBe(0);
    const pace = f.limiter.pace;
    await f.clock.advance(1500);
    f.limiter.start();
    f.limiter.succeed();
    expect(f.limiter.pace).toBe(pace); // calm of 2 s, not 1
    await f.clock.advance(500);
    f.limiter.start();
    f.limiter.succeed();
    expect(f.limiter.pace).toBeCloseTo(probed(pace), 9);
  });

  it('later refusals after a refused probe are its echo while the pace is still accepted, and block once nothing is', async () => {
    // A faster model than afterFirstRefusal's: enough starts within one episode to tell.
    const refusedProbe = async () => {
      const f = limiterFactory({ maxConcurrency: 200 });
      startMany(f.limiter, 100);
      await f.clock.advance(1);
      f.limiter.throttle(1000);
      for (let i = 0; i < 99; i++) f.limiter.succeed();
      await f.clock.advance(5000);
      f.limiter.start();
      f.limiter.succeed(); // probing
      f.limiter.start();
      f.limiter.throttle(1000); // the probe refused: back to the calm's pace
      return f;
    };
    // A sliding window lets the probe's excess out a little at a time: at the pace, all accepted but one.
    const sliding = await refusedProbe();
    const pace = sliding.limiter.pace;
    expect(pace).toBeCloseTo(1000 / (99 * 0.95), 9);
    for (let i = 0; i < 40; i++) {
      await sliding.clock.advance(pace);
      sliding.limiter.start();
      if (i < 39) sliding.limiter.succeed();
    }
    sliding.limiter.throttle(1000);
    expect(sliding.limiter.blockedUntil).toBe(0);
    expect(sliding.limiter.pace).toBe(pace);

    // A fixed window refuses until its end: nothing accepted since, so the refusal confirms and blocks.
    const fixed = await refusedProbe();
    await fixed.clock.advance(300);
    fixed.limiter.start();
    fixed.limiter.throttle(1000);
    expect(fixed.limiter.blockedUntil).toBe(fixed.clock.now() + 1000);
  });

  it('a refusal the reply dates is the request sent then, not the oldest in flight: sent after the episode began, it confirms it', async () => {
    const run = async (dated: boolean) => {
      const f = await afterFirstRefusal();
      f.limiter.start(); // an older request, still in flight (its answer takes longer)
      await f.clock.advance(10);
      f.limiter.start();
      const sentAt = f.clock.now();
      await f.clock.advance(300);
      f.limiter.throttle(1000, dated ? sentAt : undefined);
      return { f };
    };
    // Dated, it is the request sent 10 ms after the episode began, and nothing since was accepted: a block.
    const dated = await run(true);
    expect(dated.f.limiter.blockedUntil).toBe(dated.f.clock.now() + 1000);
    expect(dated.f.limiter.inFlight).toBe(1);
    // Undated, it is taken to be the oldest, started with the episode: in flight with its refusal, no block.
    const undated = await run(false);
    expect(undated.f.limiter.blockedUntil).toBe(0);
  });

  it('once a refused probe is followed by refusals with nothing accepted between (a fixed window), probes climb gently', async () => {
    const f = limiterFactory({ maxConcurrency: 200 });
    startMany(f.limiter, 100);
    await f.clock.advance(1);
    f.limiter.throttle(1000);
    for (let i = 0; i < 99; i++) f.limiter.succeed();
    const probeOnce = async () => {
      await f.clock.advance(5000);
      f.limiter.start();
      const before = f.limiter.pace;
      f.limiter.succeed();
      return f.limiter.pace / before;
    };
    const first = f.limiter.pace;
    expect(await probeOnce()).toBeCloseTo(probeStep(first, PROBE_GROWTH), 9);
    f.limiter.start();
    f.limiter.throttle(1000); // the probe refused
    for (let i = 0; i < 2; i++) {
      await f.clock.advance(f.limiter.pace);
      f.limiter.start();
      f.limiter.throttle(1000, f.clock.now()); // refused at once, sent since: the window is full
    }
    const later = f.limiter.pace;
    expect(await probeOnce()).toBeCloseTo(probeStep(later, GENTLE_PROBE_GROWTH), 9);
  });

  it('a refusal under a pace, with no probe, slows it by a step, not to the average since the last episode', async () => {
    const f = await afterFirstRefusal();
    await f.clock.advance(1100);
    startMany(f.limiter, 2);
    f.limiter.throttle(1000);
    // One accepted in 1.1 s would be 1158 ms.
    expect(f.limiter.pace).toBeCloseTo(FIRST_PACE / 0.9, 9);
    expect(f.limiter.blockedUntil).toBe(0);
  });

  it('a confirming refusal that the rate accepted since explains slows the pace to it, blocking nothing', async () => {
    const f = await afterFirstRefusal();
    await f.clock.advance(10);
    startMany(f.limiter, 3);
    await f.clock.advance(300);
    f.limiter.throttle(1000);
    // 2 of 3 accepted in the 310 ms since the episode began: slower than the pace by more than a step, less than half.
    expect(f.limiter.pace).toBeCloseTo(310 / (2 * 0.95), 9);
    expect(f.limiter.blockedUntil).toBe(0);
  });

  it('a confirming refusal that nothing accepted explains (a window full, a quota spent) blocks for its Retry-After, pace kept', async () => {
    const f = await afterFirstRefusal();
    await f.clock.advance(10);
    f.limiter.start();
    await f.clock.advance(300);
    f.limiter.throttle(1000);
    expect(f.limiter.blockedUntil).toBe(f.clock.now() + 1000);
    expect(f.limiter.pace).toBeCloseTo(FIRST_PACE, 9);
  });
});

describe('ModelLimiter rate measured between refusals', () => {
  it('measures a new episode\'s rate since the previous episode began, leaving out the time it blocked every start', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 8 });
    startMany(limiter, 4);
    limiter.throttle(1000);
    for (let i = 0; i < 3; i++) limiter.succeed();
    await clock.advance(50);
    limiter.start();
    limiter.throttle(1000); // confirmed: every start blocked for 1 s, from +50 ms
    await clock.advance(1000);
    for (let i = 0; i < 20; i++) {
      limiter.start();
      await clock.advance(50);
      limiter.succeed();
    }
    limiter.start();

    limiter.throttle(1000); // 2 s after the confirmation, 1 s of it blocked: 20 accepted in the 1 s offered

    expect(limiter.pace).toBeCloseTo(1000 / (20 * 0.95), 9);
    expect(limiter.blockedUntil).toBeLessThan(clock.now());
  });
});

describe('ModelLimiter look-ahead (open) and cancel', () => {
  it('is open only after a full window of successes at its maximum limit, unblocked, unpaced, without a budget and with room in what the provider states', async () => {
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

    limiter.throttle(2000); // a pace is learned
    expect(limiter.open).toBe(false);
    await clock.advance(2000);
    expect(limiter.pace).toBeGreaterThan(0);
    expect(limiter.open).toBe(false); // starts are still paced

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

  it('spreads the wave after a first wave accepted whole over half the time it took, until a refusal', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 4, firstWaveMs: 1000 });
    startMany(limiter, 4);
    await clock.advance(80);
    for (let i = 0; i < 4; i++) limiter.succeed();
    // The burst was accepted, which says nothing of how fast the model refills it: 4 starts over 40 ms.
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(10);
    await clock.advance(10);
    limiter.start();
    await clock.advance(10);
    limiter.start();
    limiter.throttle(1000); // refused at once: the pace learned now holds, not the spread
    expect(limiter.pace).toBeGreaterThan(10);
    expect(limiter.waitMs()).toBeCloseTo(limiter.pace, 9);

    // Once the spread's starts are made, the slots refill at once again.
    const whole = limiterFactory({ maxConcurrency: 2, firstWaveMs: 1000 });
    startMany(whole.limiter, 2);
    await whole.clock.advance(40);
    whole.limiter.succeed();
    whole.limiter.succeed();
    expect(whole.limiter.canStart()).toBe(true);
    whole.limiter.start();
    await whole.clock.advance(10);
    expect(whole.limiter.canStart()).toBe(true);
    whole.limiter.start();
    whole.limiter.succeed();
    expect(whole.limiter.waitMs()).toBe(0);
  });

  it('ends a lone runner\'s first wave at its last answer, not when a start is next asked for', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 4, firstWaveMs: 1000 });
    startMany(limiter, 4);
    await clock.advance(80);
    for (let i = 0; i < 4; i++) limiter.succeed();
    // Nothing asks for a start for a while (a Retry-After block, or no task): the wave took 80 ms
    // all the same, and the spread after it is measured from that, not from 300 ms.
    await clock.advance(220);
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.waitMs()).toBe(10);
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

describe('ModelLimiter stated allowances', () => {
  // 940 ms: the rate is taken as (missing - 1) / reset (runner/allowance.ts), 47 over 940 ms at 2 left.
  const requests = (remaining: number, resetMs = 940, limit = 50) => ({ requests: { limit, remaining, resetMs } });

  it('paces starts to the requests the provider says are left, taking those sent after the replied request as spent', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    const sentAt = clock.now();
    limiter.start();
    await clock.advance(1);
    startMany(limiter, 2); // sent after it: the reply may not count them
    await clock.advance(49);

    // 2 left, more than 47 missing over 940 ms: one comes back every 20 ms.
    limiter.observe(requests(2), sentAt);
    limiter.succeed();

    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(20);
    await clock.advance(20);
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.waitMs()).toBe(20);
  });

  it('ignores a reply that states no allowance, and one to a request older than the last observed', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    limiter.observe({ retryAfterMs: 1000 }, clock.now());
    limiter.observe(undefined, undefined);
    expect(limiter.canStart()).toBe(true);
    limiter.observe(requests(50), clock.now());
    limiter.observe(requests(0), clock.now() - 10);
    expect(limiter.canStart()).toBe(true);
  });

  it('starts a model known to state its budget with one request, then sends what its reply says is left, and refills at once', async () => {
    const clock = new ManualClock();
    const limiters = new Limiters({ maxConcurrency: 8, firstWaveMs: 1000, clock });
    limiters.remember(new Map([['stating', true], ['silent', false]]));
    const scouted = limiters.get('stating');
    expect(scouted.canStart()).toBe(true);
    const sentAt = clock.now();
    scouted.start();
    expect(scouted.canStart()).toBe(false); // the scout is the whole first wave
    expect(scouted.waitMs()).toBe(1000);
    await clock.advance(50);
    scouted.observe(requests(3), sentAt);
    scouted.succeed();
    startMany(scouted, 3);
    expect(scouted.canStart()).toBe(false); // 3 were left: no more until the budget refills
    await clock.advance(21); // more than 46 missing over 940 ms: one back within 21 ms
    expect(scouted.canStart()).toBe(true); // no spread after a scout: the stated budget paces

    // Known not to state it, or never met: the whole first wave at once, as before.
    for (const key of ['silent', 'new']) {
      const limiter = limiters.get(key);
      startMany(limiter, 8);
      expect(limiter.inFlight).toBe(8);
    }
  });

  it('sends what a reply said was left and no more until a reply says when more comes back', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    limiter.start();
    const sentAt = clock.now();
    await clock.advance(50);
    // "50 left, full now": nothing said of how fast the 50 come back once spent.
    limiter.observe(requests(50, 0), sentAt);
    limiter.succeed();
    let n = 0;
    while (limiter.canStart()) {
      limiter.start();
      n++;
    }
    expect(n).toBe(50);
    expect(limiter.waitMs()).toBe(0); // a reply, not time, frees it
    await clock.advance(1000);
    expect(limiter.canStart()).toBe(false);
    limiter.observe(requests(5, 900), clock.now() - 50);
    limiter.succeed();
    expect(limiter.canStart()).toBe(true);

    // Nothing in flight to tell: a start goes, and its reply tells.
    const idle = limiterFactory({ maxConcurrency: 64 });
    idle.limiter.start();
    idle.limiter.observe(requests(0, 0), idle.clock.now());
    idle.limiter.succeed();
    expect(idle.limiter.canStart()).toBe(true);
  });

  it('tells whether the model states its budget: from the first reply that states it, or the first answer that does not', () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    startMany(limiter, 3);
    expect(limiter.statesBudget).toBeUndefined();
    limiter.throttle(1000); // a refusal says nothing either way
    expect(limiter.statesBudget).toBeUndefined();
    limiter.observe(undefined, clock.now());
    limiter.succeed();
    expect(limiter.statesBudget).toBe(false);
    limiter.observe(requests(10), clock.now());
    limiter.succeed();
    expect(limiter.statesBudget).toBe(true);
  });

  it('gives a start handed back unstarted back to the allowance', () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    limiter.observe(requests(1), clock.now());
    limiter.start();
    expect(limiter.canStart()).toBe(false);
    limiter.cancel();
    expect(limiter.canStart()).toBe(true);
  });

  it('charges a start without an estimate the mean tokens of the calls so far against a stated token allowance', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 64 });
    limiter.start();
    limiter.succeed(100);
    // More than 899 missing over 899 ms: one token a millisecond.
    limiter.observe({ tokens: { limit: 1000, remaining: 100, resetMs: 899 } }, clock.now());
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(100);
  });

  it('is not open while the provider says fewer requests are left than a full look-ahead needs', async () => {
    const { limiter, clock } = limiterFactory({ maxConcurrency: 4 });
    startMany(limiter, 4);
    for (let i = 0; i < 4; i++) limiter.succeed();
    expect(limiter.open).toBe(true);
    limiter.observe(requests(3, 1000, 1000), clock.now());
    expect(limiter.open).toBe(false);
    await clock.advance(1);
    limiter.observe(requests(4, 1000, 1000), clock.now());
    expect(limiter.open).toBe(true);
  });
});
