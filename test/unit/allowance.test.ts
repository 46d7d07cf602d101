/**
 * The allowance a provider states, against the arithmetic of the buckets
 * providers describe: continuous refill (OpenAI, Anthropic) and a fixed
 * window that refills at its reset (a gateway's requests per minute).
 */
import { StatedAllowance } from '../../runner/allowance.js';

describe('a stated allowance', () => {
  it('lets everything through until the provider states one', () => {
    const a = new StatedAllowance();
    a.spend(1000);
    expect(a.available(0)).toBe(Infinity);
    expect(a.waitMs(0, 1)).toBe(0);
  });

  it('refills at the rate implied by limit, remaining and reset, up to the limit', () => {
    const a = new StatedAllowance();
    // 3,000 requests per minute (50/s): more than 10 missing come back in 200 ms (see the next test).
    a.observe({ limit: 3000, remaining: 2989, resetMs: 200 }, 0, 1000, 0);
    expect(a.available(1000)).toBe(2989);
    expect(a.available(1100)).toBeCloseTo(2994, 9);
    expect(a.available(5000)).toBe(3000);
  });

  it('counts what was started after the request replied to, and what is started since', () => {
    const a = new StatedAllowance();
    a.observe({ limit: 50, remaining: 3, resetMs: 920 }, 0, 50, 2);
    expect(a.available(50)).toBe(1);
    a.spend(1);
    expect(a.available(50)).toBe(0);
    // 47 missing (more than 46) over 920 ms: one comes back every 20 ms at least.
    expect(a.waitMs(50, 1)).toBe(20);
    expect(a.waitMs(70, 1)).toBe(0);
  });

  it('ignores a reply to a request older than the last one observed', () => {
    const a = new StatedAllowance();
    a.observe({ limit: 50, remaining: 5, resetMs: 900 }, 100, 150, 0);
    a.observe({ limit: 50, remaining: 40, resetMs: 200 }, 90, 160, 0);
    expect(a.available(150)).toBe(5);
  });

  it('takes the rate at its lower bound, since the remaining count is whole and the reset exact', () => {
    const a = new StatedAllowance();
    // A bucket of 50 at 49.95 reads 49 left, full in 1 ms: taken as is, that is one a ms, and a burst
    // of 64 would go out at once. Only the reset is believed: 49 now, the whole 50 after it.
    a.observe({ limit: 50, remaining: 49, resetMs: 1 }, 0, 50, 0);
    a.spend(49);
    expect(a.waitMs(50, 1)).toBe(1);
    expect(a.available(51)).toBe(1);
    // 10 stated missing: more than 9 were, over the 200 ms.
    a.observe({ limit: 50, remaining: 40, resetMs: 200 }, 60, 100, 0);
    expect(a.available(200)).toBeCloseTo(44.5, 9);
  });

  it('waits for the reset where no rate can be learned (a full allowance, or no limit stated)', () => {
    const a = new StatedAllowance();
    a.observe({ remaining: 0, resetMs: 700 }, 0, 300, 0);
    expect(a.waitMs(300, 1)).toBe(700);
    expect(a.waitMs(1000, 1)).toBe(0);
  });

  it('leaves the decision to the other rules when neither rate nor reset is stated (Azure)', () => {
    const a = new StatedAllowance();
    a.observe({ remaining: 0 }, 0, 10, 0);
    expect(a.available(10)).toBe(0);
    expect(a.waitMs(10, 1)).toBe(0);
  });

  it('takes a refusal while it showed room as a fixed window, which refills only at its reset', () => {
    const a = new StatedAllowance();
    // A minute's window of 3,000 with 30 s to go, 1,500 left: a continuous refill would promise 50/s more.
    a.observe({ limit: 3000, remaining: 0, resetMs: 29_990 }, 0, 0, 0);
    expect(a.waitMs(0, 1)).toBe(10);
    a.observe({ limit: 3000, remaining: 0, resetMs: 29_980 }, 15, 20, 0);
    a.refused(40);
    expect(a.waitMs(40, 1)).toBe(29_960);
    expect(a.available(30_000)).toBe(3000);
  });

  it('makes a cost above the whole allowance wait for a whole one, not for ever', () => {
    const a = new StatedAllowance();
    a.observe({ limit: 1000, remaining: 200, resetMs: 800 }, 0, 0, 0);
    expect(a.waitMs(0, 5000)).toBe(800);
  });
});
