/**
 * Runners sharing one model's limits through the real PostgreSQL
 * (runner/rate-share.ts, core/store/rate-shares.ts): three RateShares, each
 * with its own limiters as three runner processes have, exchanging by hand
 * (the interval timer is a manual clock that never advances). What one
 * runner learns reaches the others at their next exchange; a runner that
 * stops or goes silent gives its share back.
 */
import type pg from 'pg';
import { createLogger } from '../../core/logger.js';
import { createPool } from '../../core/store/pool.js';
import { exchangeRates } from '../../core/store/rate-shares.js';
import { Limiters, type LimiterOptions } from '../../runner/limiter.js';
import { RateShare } from '../../runner/rate-share.js';
import { freshDatabase } from '../support/api.js';
import { ManualClock } from '../support/manual-clock.js';

const KEY = 'http://provider.test/v1|gpt-4o';
// Runners are live for ten intervals: long enough that a loaded machine's pauses between two
// steps of a test never make a runner look gone (only the silence test ages rows, by hand).
const INTERVAL_MS = 1000;
// Nor does a limiter stop waiting for its share, or its first wave end, on time in these tests.
const WAIT_MS = 30_000;

let pool: pg.Pool;
beforeAll(async () => {
  pool = createPool(await freshDatabase(), 4);
});
afterAll(async () => {
  await pool.end();
});

const shares: RateShare[] = [];
afterEach(async () => {
  await Promise.all(shares.splice(0).map((s) => s.stop()));
});

/** One runner's side: its limiters (on the real clock, for the times the runners compare) and its RateShare. */
function runner(name: string, db = pool, options: Partial<LimiterOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const changed: string[][] = [];
  const logger = createLogger({ level: 'info', write: (line) => lines.push(JSON.parse(line)) });
  const limiters: Limiters = new Limiters({ maxConcurrency: 64, shared: { waitMs: WAIT_MS, exchange: () => share.soon() }, ...options });
  const share: RateShare = new RateShare({ pool: db, limiters, logger, intervalMs: INTERVAL_MS, onChange: (closed) => changed.push(closed), clock: new ManualClock(), runnerId: name });
  shares.push(share);
  return { limiters, share, lines, changed };
}

describe('RateShare', () => {
  it('gives a model met by one runner a share among all live runners, then among those that want it', async () => {
    const [a, b, c] = [runner('a'), runner('b'), runner('c')];
    await Promise.all([a.share.start(), b.share.start(), c.share.start()]);

    // Only a has tasks for the model, but the others get the same queue's tasks: its first share is a third.
    const limiter = a.limiters.get(KEY);
    expect(limiter.canStart()).toBe(false); // waits for the exchange its creation asked for
    await a.share.exchange();
    expect(limiter.shareOfLimits).toBeCloseTo(1 / 3, 12);
    expect(limiter.canStart()).toBe(true);

    // b wants it too; c never does: from the next exchange, a and b take half each.
    b.limiters.get(KEY).canStart();
    await b.share.exchange();
    expect(b.limiters.get(KEY).shareOfLimits).toBeCloseTo(1 / 3, 12); // its own first share
    await a.share.exchange();
    await b.share.exchange();
    expect(limiter.shareOfLimits).toBe(0.5);
    expect(b.limiters.get(KEY).shareOfLimits).toBe(0.5);
  });

  it('spreads a pace learned from a refusal and a Retry-After block to every runner at its next exchange', async () => {
    const [a, b] = [runner('a'), runner('b')];
    await Promise.all([a.share.start(), b.share.start()]);
    const la = a.limiters.get(KEY);
    const lb = b.limiters.get(KEY);
    lb.canStart(); // b wants the model too
    await Promise.all([a.share.exchange(), b.share.exchange()]);
    expect(la.shareOfLimits).toBe(0.5);

    // a's burst: 20 starts, one refused, the rest accepted; then a request sent after the refusal
    // is refused too, which confirms that the pace was not enough: a block.
    for (let i = 0; i < 20; i++) la.start();
    await new Promise((r) => setTimeout(r, 5));
    la.throttle(1000);
    for (let i = 0; i < 19; i++) la.succeed();
    await new Promise((r) => setTimeout(r, 5));
    la.start();
    la.throttle(1000);
    expect(la.blockedUntil).toBeGreaterThan(Date.now());
    await a.share.exchange();

    await b.share.exchange();
    // The same total pace: the same spacing, since both take half.
    expect(lb.pace).toBeCloseTo(la.pace, 9);
    expect(lb.blockedUntil).toBe(la.blockedUntil);
    expect(lb.canStart()).toBe(false);
  });

  it('gives back the share of a runner that stops at once, and of one that goes silent after ten intervals', async () => {
    const [a, b, c] = [runner('a'), runner('b'), runner('c')];
    await Promise.all([a.share.start(), b.share.start(), c.share.start()]);
    for (const r of [a, b, c]) r.limiters.get(KEY).canStart();
    await Promise.all([a.share.exchange(), b.share.exchange(), c.share.exchange()]);
    await a.share.exchange();
    expect(a.limiters.get(KEY).shareOfLimits).toBeCloseTo(1 / 3, 12);

    await c.share.stop();
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM model_rate_share WHERE runner_id = $1', ['c']);
    expect(rows[0].n).toBe(0);
    await a.share.exchange();
    expect(a.limiters.get(KEY).shareOfLimits).toBe(0.5);

    // b's process dies: its rows stay, but age past ten intervals.
    await pool.query(`UPDATE model_rate_share SET seen_at = now() - make_interval(secs => $1::float8 / 1000) WHERE runner_id = 'b'`, [INTERVAL_MS * 10 + 1]);
    await a.share.exchange();
    expect(a.limiters.get(KEY).shareOfLimits).toBe(1);
  });

  it('goes on at the share it had while the database is away, says so once, and says when it is back', async () => {
    const dead = createPool('postgresql://nobody:x@127.0.0.1:1/none', 1);
    // The runner's pool, pointed at a server that is not there, then back at the real one.
    let target = pool;
    const switchable = { connect: () => target.connect(), query: (...args: unknown[]) => (target.query as (...a: unknown[]) => unknown).apply(target, args) } as unknown as pg.Pool;
    try {
      const [a, b] = [runner('a', switchable), runner('b')];
      await Promise.all([a.share.start(), b.share.start()]);
      b.limiters.get(KEY).canStart();
      await b.share.exchange();
      const limiter = a.limiters.get(KEY);
      limiter.canStart();
      await a.share.exchange();
      expect(limiter.shareOfLimits).toBeCloseTo(1 / 2, 12);

      target = dead;
      await a.share.exchange();
      await a.share.exchange();
      expect(a.lines.filter((l) => l.event === 'rate_share_failed')).toHaveLength(1);
      expect(limiter.shareOfLimits).toBeCloseTo(1 / 2, 12);
      expect(limiter.canStart()).toBe(true);

      target = pool;
      await a.share.exchange();
      expect(a.lines.filter((l) => l.event === 'rate_share_restored')).toHaveLength(1);
      expect(limiter.shareOfLimits).toBeCloseTo(1 / 2, 12);
    } finally {
      await dead.end();
    }
  });

  it('shares out what is left of a declared budget: a runner that ran out of tasks keeps its starts counted', async () => {
    const budget = { requestsPerMinute: 30 };
    const [a, b, c] = [runner('a'), runner('b'), runner('c')];
    await Promise.all([a.share.start(), b.share.start(), c.share.start()]);
    const [la, lb, lc] = [a, b, c].map((r) => r.limiters.get(KEY, budget));
    for (const l of [la, lb, lc]) l.canStart(); // each has tasks for the model
    await Promise.all([a.share.exchange(), b.share.exchange(), c.share.exchange()]);
    const startAll = (l: typeof la) => {
      let n = 0;
      while (l.canStart()) {
        l.start();
        l.succeed();
        n++;
      }
      return n;
    };
    // A third each.
    expect([startAll(la), startAll(lb), startAll(lc)]).toEqual([10, 10, 10]);

    // c has no more tasks: a second later it no longer wants the model, and a and b take half
    // each of what is left of the budget, which is nothing: c's ten starts still count.
    await new Promise((r) => setTimeout(r, 1000));
    for (const l of [la, lb]) l.canStart();
    await Promise.all([a.share.exchange(), b.share.exchange(), c.share.exchange()]);
    await Promise.all([a.share.exchange(), b.share.exchange()]);
    expect(la.shareOfLimits).toBe(0.5);
    expect(startAll(la) + startAll(lb)).toBe(0);
  });

  it('stores the runner\'s presence and, per model, what it told: no more (the key is endpoint and model name)', async () => {
    const a = runner('a');
    a.limiters.get(KEY).canStart();
    await a.share.exchange();
    const { rows } = await pool.query(
      `SELECT model_key, demand, pace_ms, learned_at, probing, accepted, wave_open, blocked_until FROM model_rate_share WHERE runner_id = 'a' ORDER BY model_key`,
    );
    const none = { pace_ms: null, learned_at: null, probing: false, accepted: 0, wave_open: false, blocked_until: 0 };
    expect(rows).toEqual([
      { model_key: '*', demand: true, ...none },
      { model_key: KEY, demand: true, ...none },
    ]);
  });

  it('remembers, past the runners that saw it, which models state their budget: the next runner scouts them', async () => {
    const stating = 'http://provider.test/v1|stating';
    const silent = 'http://provider.test/v1|silent';
    const a = runner('a', pool, { firstWaveMs: WAIT_MS });
    await a.share.start();
    const [ls, lq] = [a.limiters.get(stating), a.limiters.get(silent)];
    await a.share.exchange();
    for (const l of [ls, lq]) {
      expect(l.canStart()).toBe(true);
      l.start();
    }
    ls.observe({ requests: { limit: 50, remaining: 49, resetMs: 1000 } }, Date.now());
    ls.succeed();
    lq.observe(undefined, Date.now());
    lq.succeed();
    await a.share.exchange();
    await a.share.stop();
    const { rows } = await pool.query('SELECT model_key, states_budget FROM model_budget_statement WHERE model_key = ANY($1) ORDER BY model_key', [[silent, stating]]);
    expect(rows).toEqual([
      { model_key: silent, states_budget: false },
      { model_key: stating, states_budget: true },
    ]);

    // A runner started later: its first wave at the stating model is one request; at the other, its whole share.
    const b = runner('b', pool, { maxConcurrency: 8, firstWaveMs: WAIT_MS });
    await b.share.start();
    const [bs, bq] = [b.limiters.get(stating), b.limiters.get(silent)];
    await b.share.exchange();
    const wave = (l: typeof bs) => {
      let n = 0;
      while (l.canStart()) {
        l.start();
        n++;
      }
      return n;
    };
    expect([wave(bs), wave(bq)]).toEqual([1, 8]);
  });

  it('learns the pace of a first wave split between runners from what all of them had accepted', async () => {
    const [a, b] = [runner('a', pool, { maxConcurrency: 8, firstWaveMs: WAIT_MS }), runner('b', pool, { maxConcurrency: 8, firstWaveMs: WAIT_MS })];
    await Promise.all([a.share.start(), b.share.start()]);
    const [la, lb] = [a.limiters.get(KEY), b.limiters.get(KEY)];
    // Both have tasks waiting for the model (as a broker's pending tasks keep it wanted): however many
    // exchanges run meanwhile (each limiter's creation asks for one), each sees the other want it.
    for (const l of [la, lb]) l.wantUntil(Date.now() + WAIT_MS);
    await Promise.all([a.share.exchange(), b.share.exchange()]);
    // Half the wave each; each says at once that its part is out.
    for (const l of [la, lb]) {
      for (let i = 0; i < 4; i++) {
        expect(l.canStart()).toBe(true);
        l.start();
      }
      expect(l.canStart()).toBe(false);
    }
    await Promise.all([a.share.exchange(), b.share.exchange()]);

    // b's part was accepted whole, but a's is still out: b does not refill yet.
    for (let i = 0; i < 4; i++) lb.succeed();
    expect(lb.canStart()).toBe(false);
    await b.share.exchange();
    expect(lb.canStart()).toBe(false);

    // a's part: one accepted, three refused (the model took the first 5 to arrive). Alone, a would
    // take 1 a second for its own; it takes half of the 5 both had accepted.
    la.succeed();
    for (let i = 0; i < 3; i++) la.throttle(1000);
    la.canStart();
    await a.share.exchange();
    const half = (2 * 1000) / (5 * 0.95);
    expect(la.pace).toBeCloseTo(half, 0);
    await b.share.exchange();
    expect(lb.pace).toBeCloseTo(half, 0);
  });

  it('fails an exchange whose connection the server ends, without ending the process', async () => {
    // Another session holds the model's lock, so the exchange waits on it, its client lent out by the pool.
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext('model_rate_share:' || $1::text))`, [KEY]);
      const exchange = exchangeRates(pool, 'doomed', [KEY], () => [], 10_000, 60_000);
      const outcome = exchange.then(() => 'exchanged', (err: Error) => err.message);
      let terminated = 0;
      for (let i = 0; i < 100 && terminated === 0; i++) {
        const { rows } = await holder.query(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
        );
        terminated = rows[0].n;
        if (!terminated) await new Promise((r) => setTimeout(r, 50));
      }
      expect(terminated).toBe(1);
      // The server's goodbye is also an 'error' event on the lent client: heard, not thrown at the process.
      expect(await outcome).toMatch(/terminat/i);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    // The pool serves the next exchange on a fresh connection.
    await expect(exchangeRates(pool, 'next', [KEY], () => [], 10_000, 60_000)).resolves.toBeUndefined();
  });
});
