/**
 * A provider's stated allowance for one model endpoint, requests or tokens,
 * as the headers of its replies state it (core/providers/rate-limits.ts):
 * what is left, when it is whole again, and so how fast it comes back.
 * Starts that would overdraw it wait, so a provider that states its budget is
 * not sent what it would refuse.
 *
 * The provider counts a request when it arrives, and its reply says what was
 * left then: requests started after the one replied to may not be counted
 * yet, so they are taken as spent (`notCounted`), which errs towards waiting.
 * Providers refill continuously (OpenAI's and Anthropic's buckets): the rate
 * is what is missing over the time until the reset. A gateway counting fixed
 * windows refills all at once at the reset instead; a refusal while the
 * allowance showed room is how it tells, and from then on nothing is taken
 * to come back before the reset.
 *
 * Runners sharing a model (runner/rate-share.ts) each take their `share` of
 * what is stated: every runner's replies state the same allowance, spent by all.
 */
import type { Allowance as Stated } from '../core/providers/rate-limits.js';

export class StatedAllowance {
  private remaining = 0;
  private limit: number | undefined;
  /** When the last observation was made, and when the request it replied to started (older replies are stale). */
  private observedAt = Number.NEGATIVE_INFINITY;
  private sentAt = Number.NEGATIVE_INFINITY;
  private resetAt: number | undefined;
  /** Refill per ms, learned from limit, remaining and reset. */
  private ratePerMs: number | undefined;
  /** Spent since the observation (starts after it, and those the provider had not counted yet). */
  private spent = 0;
  /** The provider refills at the reset only (a fixed window): learned from a refusal. */
  private windowed = false;
  /** This runner's share of the allowance (see runner/limiter.ts, share). */
  share = 1;

  /** Whether the provider ever stated this allowance. */
  get known(): boolean {
    return this.observedAt !== Number.NEGATIVE_INFINITY;
  }

  /**
   * What a reply (to a request started at `sentAt`) says, arriving at `now`;
   * `notCounted`: what was started after that request, which the provider may
   * not have counted. A reply to a request older than the last one observed is stale and ignored.
   */
  observe(stated: Stated, sentAt: number, now: number, notCounted: number): void {
    if (sentAt < this.sentAt) return;
    this.sentAt = sentAt;
    this.observedAt = now;
    this.remaining = stated.remaining;
    if (stated.limit !== undefined) this.limit = stated.limit;
    this.resetAt = stated.resetMs === undefined ? undefined : now + stated.resetMs;
    // The remaining count is whole, the reset exact: a bucket at 49.95 of 50 reads "49 left, full in
    // 1 ms", which taken as is says 1 a ms. What was missing is more than one less than stated, so the
    // rate is taken at that bound, which errs towards waiting; a reply missing fewer than two says
    // too little to measure by (the reset still refills it whole).
    const missing = this.limit === undefined ? 0 : this.limit - stated.remaining;
    if (stated.resetMs !== undefined && stated.resetMs > 0 && missing >= 2) this.ratePerMs = (missing - 1) / stated.resetMs;
    this.spent = notCounted;
  }

  /** A start spends `cost`. */
  spend(cost: number): void {
    if (this.known) this.spent += cost;
  }

  /** A refusal: if the allowance showed room, the provider does not refill continuously. */
  refused(now: number): void {
    if (this.known && this.available(now) >= 1) this.windowed = true;
  }

  /** What can be spent at `now` without the provider refusing it; Infinity when nothing was stated. */
  available(now: number): number {
    if (!this.known) return Number.POSITIVE_INFINITY;
    const whole = this.limit ?? Number.POSITIVE_INFINITY;
    let refill = 0;
    if (this.resetAt !== undefined && now >= this.resetAt) refill = whole - this.remaining;
    else if (this.ratePerMs !== undefined && !this.windowed) refill = this.ratePerMs * (now - this.observedAt);
    return Math.min(whole, this.remaining + refill) * this.share - this.spent;
  }

  /**
   * Spent, with nothing stated of when more comes back (no rate learned, and the reset past or never
   * stated): only the next reply can tell. A reply that says "50 left, full now" says nothing of
   * how fast the 50 return once spent; sent on regardless, the rest would be refused.
   */
  spentUntilTold(now: number, cost: number): boolean {
    if (!this.known || (this.ratePerMs !== undefined && !this.windowed)) return false;
    if (this.resetAt !== undefined && this.resetAt > now) return false; // waitMs counts to the reset
    return this.available(now) < Math.min(cost, (this.limit ?? cost) * this.share);
  }

  /** Ms until `cost` can be spent (0: now). Unknown (no rate, no reset): 0, and the limiter's other rules decide (see spentUntilTold). */
  waitMs(now: number, cost: number): number {
    const available = this.available(now);
    // A cost above the whole allowance would never fit: it waits for a whole one.
    const need = Math.min(cost, (this.limit ?? cost) * this.share);
    if (available >= need) return 0;
    if (this.ratePerMs !== undefined && !this.windowed) {
      const byRate = Math.ceil((need - available) / (this.ratePerMs * this.share));
      return this.resetAt !== undefined && this.resetAt > now ? Math.min(byRate, this.resetAt - now) : byRate;
    }
    if (this.resetAt !== undefined && this.resetAt > now) return this.resetAt - now;
    return 0;
  }
}
