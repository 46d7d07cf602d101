/**
 * A limiter shared with other runners (runner/rate-share.ts): its share of the
 * model's limits, what it adopts from the others, and when it asks to exchange.
 * The exchange itself, through PostgreSQL, is test/integration/rate-share.test.ts.
 */
import { BUDGET_WINDOW_MS, ModelLimiter, type LimiterOptions, type ModelBudget } from '../../runner/limiter.js';
import { ManualClock } from '../support/manual-clock.js';

const SHARE_WAIT_MS = 1000;

function sharedLimiter(options: Partial<LimiterOptions> = {}, budget: ModelBudget = {}) {
  const clock = new ManualClock();
  const exchanges: number[] = [];
  const limiter = new ModelLimiter('http://model/v1|m', budget, {
    maxConcurrency: 64,
    clock,
    shared: { waitMs: SHARE_WAIT_MS, exchange: () => exchanges.push(clock.now()) },
    ...options,
  });
  return { limiter, clock, exchanges };
}

const alone = { runners: 1, blockedUntil: 0 };

describe('ModelLimiter shared with other runners', () => {
  it('starts nothing until it knows its share, asking for an exchange when made; at most the wait', async () => {
    const { limiter, clock, exchanges } = sharedLimiter();
    expect(exchanges).toEqual([clock.now()]);
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(SHARE_WAIT_MS);
    limiter.share({ runners: 3, blockedUntil: 0 });
    expect(limiter.canStart()).toBe(true);
    expect(limiter.shareOfLimits).toBeCloseTo(1 / 3, 12);

    // No exchange answers (the database is down): it goes on alone after the wait.
    const late = sharedLimiter();
    await late.clock.advance(SHARE_WAIT_MS - 1);
    expect(late.limiter.canStart()).toBe(false);
    await late.clock.advance(1);
    expect(late.limiter.canStart()).toBe(true);
    expect(late.limiter.shareOfLimits).toBe(1);
  });

  it('keeps to its share of a declared budget: three runners with 30 requests a minute start 10 each', async () => {
    const { limiter, clock } = sharedLimiter({}, { requestsPerMinute: 30 });
    limiter.canStart(); // asked for a start: it wants the model
    limiter.share({ runners: 3, blockedUntil: 0 });
    for (let i = 0; i < 10; i++) {
      expect(limiter.canStart()).toBe(true);
      limiter.start();
      limiter.succeed();
      await clock.advance(100);
    }
    expect(limiter.canStart()).toBe(false);
    // The first start leaves the window a minute after it was made.
    expect(limiter.waitMs()).toBe(BUDGET_WINDOW_MS - 1000);
    // Alone again (the others stopped): the whole budget is its own.
    limiter.share(alone);
    expect(limiter.canStart()).toBe(true);
  });

  it('holds only its starts of a budget while it does not want the model, and tells the others so', async () => {
    const { limiter, clock } = sharedLimiter({}, { requestsPerMinute: 30 });
    limiter.canStart();
    limiter.share({ runners: 2, blockedUntil: 0, reserved: { requests: 12, tokens: 0 } });
    // Its fair share, half of 30, which the 18 the other does not hold allow.
    expect(limiter.sharedState().reserved.requests).toBe(15);
    for (let i = 0; i < 4; i++) {
      limiter.start();
      limiter.succeed();
    }
    await clock.advance(1000);
    limiter.share({ runners: 1, blockedUntil: 0, reserved: { requests: 12, tokens: 0 } });
    // Its 4 starts, no more: the other may take the rest.
    expect(limiter.sharedState().reserved.requests).toBe(4);
    expect(limiter.canStart()).toBe(false);
    // Asked again: at the next exchange it takes what the other does not hold (alone, its fair share is all).
    limiter.share({ runners: 1, blockedUntil: 0, reserved: { requests: 12, tokens: 0 } });
    expect(limiter.sharedState().reserved.requests).toBe(18);

    // Another holds 10 and wants the model too: this one holds its 4 and the 11 it lacks of half.
    limiter.share({ runners: 2, blockedUntil: 0, reserved: { requests: 10, tokens: 0 } });
    expect(limiter.sharedState().reserved.requests).toBe(15);
    expect(limiter.canStart()).toBe(true);
  });

  it('still starts one request when its share of a small budget is less than one', () => {
    const { limiter } = sharedLimiter({}, { requestsPerMinute: 2 });
    limiter.canStart();
    limiter.share({ runners: 5, blockedUntil: 0 });
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.canStart()).toBe(false);
  });

  it('sends its share of one first wave, tells the others when it is out, and refills once no runner has any of it out', async () => {
    const { limiter, exchanges } = sharedLimiter({ maxConcurrency: 6, firstWaveMs: 1000 });
    limiter.share({ runners: 3, blockedUntil: 0 });
    limiter.start();
    expect(limiter.sharedState().waveOpen).toBe(true);
    const before = exchanges.length;
    limiter.start();
    // 2 of 6: a third of the first wave, so that three runners together send one; the others hear at once.
    expect(exchanges.length).toBe(before + 1);
    expect(limiter.canStart()).toBe(false);
    limiter.succeed();
    limiter.succeed();
    expect(limiter.sharedState().waveOpen).toBe(false);
    // Answers in: another runner's part may still be out (and refused), so no refill yet; it says so at once.
    expect(limiter.canStart()).toBe(false);
    expect(exchanges.length).toBe(before + 2);
    expect(limiter.waitMs()).toBe(SHARE_WAIT_MS);
    limiter.share({ runners: 3, blockedUntil: 0, waveOpen: true });
    expect(limiter.canStart()).toBe(false);
    limiter.share({ runners: 3, blockedUntil: 0, waveOpen: false });
    expect(limiter.canStart()).toBe(true);
  });

  it('learns a first wave\'s pace from what all runners had accepted, not from its own part', async () => {
    const { limiter, clock } = sharedLimiter({ maxConcurrency: 9, firstWaveMs: 1000 });
    limiter.share({ runners: 3, blockedUntil: 0 });
    for (let i = 0; i < 3; i++) limiter.start();
    await clock.advance(50);
    // The model refused the last requests to arrive, all this runner's but one.
    limiter.throttle(1000);
    limiter.throttle(1000);
    limiter.succeed();
    expect(limiter.canStart()).toBe(false);
    // The others had 6 accepted: 7 of 9 in all. Its pace is its third of that, not 3 × what it had.
    limiter.share({ runners: 3, blockedUntil: 0, accepted: 6, waveOpen: false });
    expect(limiter.pace).toBeCloseTo((3 * 1000) / (7 * 0.95), 9);
    expect(limiter.sharedState().paceMs).toBeCloseTo(1000 / (7 * 0.95), 9);
    expect(limiter.sharedState().learnedAt).toBe(clock.now());
  });

  it('scales what it measured at a refusal by its part of what all runners had accepted', async () => {
    const { limiter, clock } = sharedLimiter();
    limiter.share({ runners: 2, blockedUntil: 0 });
    for (let i = 0; i < 31; i++) limiter.start();
    for (let i = 0; i < 30; i++) limiter.succeed();
    // The other runner had 10 accepted: this one had 30 of 40, more than its half.
    limiter.share({ runners: 2, blockedUntil: 0, accepted: 10 });
    await clock.advance(1);
    limiter.throttle(1000);
    // Half of 40 a second, not 30 a second.
    expect(limiter.pace).toBeCloseTo((2 * 1000) / (40 * 0.95), 6);
  });

  it('takes a refusal while another runner probes as that probe\'s: its own pace is kept', async () => {
    const run = async (probing: boolean) => {
      const { limiter, clock } = sharedLimiter();
      limiter.share({ runners: 2, blockedUntil: 0 });
      for (let i = 0; i < 20; i++) limiter.start();
      await clock.advance(1);
      limiter.throttle(1000); // a pace learned: 19 a second
      const learned = limiter.pace;
      // Well past the episode, at that pace (kept, not probing: a calm it has not had yet).
      await clock.advance(1500);
      for (let i = 0; i < 10; i++) {
        limiter.start();
        await clock.advance(learned);
      }
      limiter.share({ runners: 2, blockedUntil: 0, probing, accepted: 10 });
      limiter.throttle(1000);
      return { learned, after: limiter.pace };
    };
    const withProbe = await run(true);
    expect(withProbe.after).toBeCloseTo(withProbe.learned, 9);
    const without = await run(false);
    expect(without.after).toBeGreaterThan(without.learned * 1.05);
  });

  it('tells the others its pace as the pace of all runners together, and keeps that total when the share changes', async () => {
    const { limiter, clock, exchanges } = sharedLimiter();
    limiter.share({ runners: 2, blockedUntil: 0 });
    for (let i = 0; i < 20; i++) limiter.start();
    await clock.advance(1);
    const before = exchanges.length;
    limiter.throttle(1000);
    // A refusal that taught a pace asks for an exchange at once.
    expect(exchanges.length).toBe(before + 1);
    const local = limiter.pace;
    expect(local).toBeCloseTo(1000 / (19 * 0.95), 9);
    const told = limiter.sharedState();
    expect(told.paceMs).toBeCloseTo(local / 2, 9);
    expect(told.learnedAt).toBe(clock.now());
    expect(told.demand).toBe(true);

    // A third runner joins: each spaces its starts further, the total stays.
    limiter.share({ runners: 3, blockedUntil: 0 });
    expect(limiter.pace).toBeCloseTo((local * 3) / 2, 9);
    expect(limiter.sharedState().paceMs).toBeCloseTo(local / 2, 9);
  });

  it('adopts a pace another runner learned later than its own, not an older one', async () => {
    const { limiter, clock } = sharedLimiter();
    limiter.share({ runners: 2, blockedUntil: 0 });
    for (let i = 0; i < 10; i++) limiter.start();
    await clock.advance(1);
    limiter.throttle(1000);
    const own = limiter.pace;
    const learnedHere = clock.now();

    limiter.share({ runners: 2, paceMs: 100, learnedAt: learnedHere - 5, blockedUntil: 0 });
    expect(limiter.pace).toBe(own);

    await clock.advance(10);
    limiter.share({ runners: 2, paceMs: 40, learnedAt: clock.now() - 2, blockedUntil: 0 });
    // 40 ms between all runners' starts: 80 between this one's.
    expect(limiter.pace).toBe(80);
    expect(limiter.sharedState()).toMatchObject({ paceMs: 40, learnedAt: clock.now() - 2 });
  });

  it('holds a later block another runner was asked for, and an open limiter that closes says so', async () => {
    const { limiter, clock } = sharedLimiter({ maxConcurrency: 2 });
    limiter.share({ runners: 2, blockedUntil: 0 });
    // Open needs a calm full window of successes.
    for (let i = 0; i < 4; i++) {
      limiter.start();
      limiter.succeed();
    }
    expect(limiter.open).toBe(true);
    const until = clock.now() + 1000;
    expect(limiter.share({ runners: 2, blockedUntil: until })).toBe(true);
    expect(limiter.blockedUntil).toBe(until);
    expect(limiter.canStart()).toBe(false);
    expect(limiter.waitMs()).toBe(1000);
    // An earlier block changes nothing, and the limiter was already closed.
    expect(limiter.share({ runners: 2, blockedUntil: until - 500 })).toBe(false);
    expect(limiter.blockedUntil).toBe(until);
    await clock.advance(1000);
    expect(limiter.canStart()).toBe(true);
  });

  it('takes its share of what the provider states is left', async () => {
    const { limiter, clock } = sharedLimiter();
    limiter.share({ runners: 3, blockedUntil: 0 });
    const sentAt = clock.now();
    limiter.start();
    await clock.advance(10);
    // 3 left of 50, back in 960 ms: this runner's share is one.
    limiter.observe({ requests: { limit: 50, remaining: 3, resetMs: 960 } }, sentAt);
    limiter.succeed();
    expect(limiter.canStart()).toBe(true);
    limiter.start();
    expect(limiter.canStart()).toBe(false);
    // More than 46 missing over 960 ms, a third of it this runner's: one more in 3 × 960/46 ms.
    expect(limiter.waitMs()).toBe(Math.ceil(1 / ((46 / 960) / 3)));
  });

  it('says it wants the model while running requests, and until shortly after a start could go or a retry is due', async () => {
    const { limiter, clock } = sharedLimiter();
    limiter.share(alone);
    expect(limiter.sharedState().demand).toBe(false);
    limiter.canStart();
    expect(limiter.sharedState().demand).toBe(true);
    limiter.start();
    await clock.advance(5000);
    expect(limiter.sharedState().demand).toBe(true); // in flight
    limiter.succeed();
    // Its last request back and nothing more asked for: the others may take its share.
    expect(limiter.sharedState().demand).toBe(false);
    limiter.canStart();
    await clock.advance(299);
    expect(limiter.sharedState().demand).toBe(true);
    await clock.advance(1);
    expect(limiter.sharedState().demand).toBe(false);

    // Told to wait (here by a pace learned from refusals): wanted until shortly after the wait.
    const paced = sharedLimiter();
    paced.limiter.share(alone);
    for (let i = 0; i < 20; i++) paced.limiter.start();
    for (let i = 0; i < 10; i++) paced.limiter.succeed();
    for (let i = 0; i < 10; i++) paced.limiter.throttle(100);
    expect(paced.limiter.canStart()).toBe(false);
    const wait = paced.limiter.waitMs();
    expect(wait).toBeGreaterThan(50);
    await paced.clock.advance(wait + 299);
    expect(paced.limiter.sharedState().demand).toBe(true);
    await paced.clock.advance(1);
    expect(paced.limiter.sharedState().demand).toBe(false);

    // Not by a declared budget's wait (up to a minute): the others may take the rest meanwhile.
    const budgeted = sharedLimiter({}, { requestsPerMinute: 1 });
    budgeted.limiter.share(alone);
    budgeted.limiter.start();
    budgeted.limiter.succeed();
    expect(budgeted.limiter.canStart()).toBe(false);
    await budgeted.clock.advance(300);
    expect(budgeted.limiter.sharedState().demand).toBe(false);

    // A retry due in 5 s (the broker tells it): wanted until shortly after.
    limiter.wantUntil(clock.now() + 5000);
    await clock.advance(5299);
    expect(limiter.sharedState().demand).toBe(true);
    await clock.advance(1);
    expect(limiter.sharedState().demand).toBe(false);
  });

  it('a limiter not shared never waits for a share and never asks for an exchange', () => {
    const limiter = new ModelLimiter('k', {}, { maxConcurrency: 4, clock: new ManualClock() });
    expect(limiter.canStart()).toBe(true);
    expect(limiter.shareOfLimits).toBe(1);
  });
});
