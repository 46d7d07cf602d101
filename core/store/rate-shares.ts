/**
 * Runners' shared view of each model's rate limit (migration 012): each
 * runner writes its own rows and reads the others', in one short transaction.
 */
import type pg from 'pg';
import { pgTransaction } from './pool.js';

/** The row with this key says a runner is alive, whatever model it calls. */
export const PRESENCE_KEY = '*';

/** What one runner says of one model. */
export interface RateShareEntry {
  modelKey: string;
  /** It has requests for the model waiting or in flight. */
  demand: boolean;
  /** The spacing of starts for all runners together, learned from a refusal at `learnedAt` (epoch ms); absent: none learned. */
  paceMs?: number;
  learnedAt?: number;
  /** It is probing that pace upward. @defaultvalue false */
  probing?: boolean;
  /** Its requests started over the last second and not refused (so far). @defaultvalue 0 */
  accepted?: number;
  /** Some of its part of a first wave is still out. @defaultvalue false */
  waveOpen?: boolean;
  /** Epoch ms before which the provider asked that no request be sent. */
  blockedUntil: number;
  /** Of a declared budget, what it holds: its starts within the last budget window (a minute), and what it may still start. */
  reserved: Reserved;
}

export interface Reserved {
  requests: number;
  tokens: number;
}

/** What the other live runners say of one model. */
export interface PeerView {
  /** Other runners wanting the model. */
  demanding: number;
  /** The latest pace learned by one of them, if any. */
  paceMs?: number;
  learnedAt?: number;
  /** One of them is probing the pace upward. */
  probing: boolean;
  /** Their requests started over the last second and not refused, as of their last exchange. */
  accepted: number;
  /** Some of one's part of a first wave is still out. */
  waveOpen: boolean;
  /** The latest block any of them holds (0: none). */
  blockedUntil: number;
  /** What all of them hold of a declared budget. */
  reserved: Reserved;
}

export interface SharedRates {
  /** Other live runners, whatever they call. */
  peers: number;
  byModel: Map<string, PeerView>;
}

/**
 * One exchange, in one short transaction: reads what the other runners seen
 * within `liveMs` say of `modelKeys`, lets `decide` turn that into this
 * runner's entries, and writes them (with its presence). The models are
 * locked for the transaction (advisory locks, taken in one order so two
 * runners never wait on each other): what a runner holds of a declared budget
 * is decided from what the others hold at that moment, so two runners never
 * both take what is left. Rows of runners gone for `forgetMs` are deleted on
 * the way. A runner reads every model it calls, so there are few keys.
 */
export async function exchangeRates(
  pool: pg.Pool,
  runnerId: string,
  modelKeys: string[],
  decide: (shared: SharedRates) => RateShareEntry[],
  liveMs: number,
  forgetMs: number,
): Promise<void> {
  // pgTransaction: a server restart while the client is lent out must fail this exchange, not end the process.
  await pgTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtext('model_rate_share:' || k) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS o`, [modelKeys]);
    const { rows } = await client.query<{
      model_key: string;
      demanding: number;
      pace_ms: number | null;
      learned_at: number | null;
      probing: boolean;
      accepted: number;
      wave_open: boolean;
      blocked_until: number;
      reserved_requests: number;
      reserved_tokens: number;
    }>(
      `SELECT model_key,
              (count(*) FILTER (WHERE demand))::int AS demanding,
              (array_agg(pace_ms ORDER BY learned_at DESC) FILTER (WHERE learned_at IS NOT NULL))[1] AS pace_ms,
              max(learned_at) AS learned_at,
              bool_or(probing) AS probing,
              sum(accepted)::int AS accepted,
              bool_or(wave_open) AS wave_open,
              coalesce(max(blocked_until), 0) AS blocked_until,
              sum(reserved_requests)::int AS reserved_requests,
              sum(reserved_tokens) AS reserved_tokens
         FROM model_rate_share
        WHERE model_key = ANY($2) AND runner_id <> $1 AND seen_at > now() - make_interval(secs => $3::float8 / 1000)
        GROUP BY model_key`,
      [runnerId, [PRESENCE_KEY, ...modelKeys], liveMs],
    );
    const byModel = new Map<string, PeerView>();
    let peers = 0;
    for (const r of rows) {
      // Every live runner writes a presence row that wants '*': their count is the count of runners.
      if (r.model_key === PRESENCE_KEY) {
        peers = r.demanding;
        continue;
      }
      byModel.set(r.model_key, {
        demanding: r.demanding,
        ...(r.pace_ms != null && r.learned_at != null ? { paceMs: r.pace_ms, learnedAt: r.learned_at } : {}),
        probing: r.probing,
        accepted: r.accepted,
        waveOpen: r.wave_open,
        blockedUntil: r.blocked_until,
        reserved: { requests: r.reserved_requests, tokens: r.reserved_tokens },
      });
    }
    const all: RateShareEntry[] = [{ modelKey: PRESENCE_KEY, demand: true, blockedUntil: 0, reserved: { requests: 0, tokens: 0 } }, ...decide({ peers, byModel })];
    await client.query(
      `INSERT INTO model_rate_share (model_key, runner_id, demand, pace_ms, learned_at, probing, accepted, wave_open, blocked_until, reserved_requests, reserved_tokens, seen_at)
       SELECT k, $1, d, p, l, pr, a, w, b, rr, rt, now()
         FROM unnest($2::text[], $3::boolean[], $4::float8[], $5::float8[], $6::boolean[], $7::int[], $8::boolean[], $9::float8[], $10::int[], $11::float8[]) AS u(k, d, p, l, pr, a, w, b, rr, rt)
       ON CONFLICT (model_key, runner_id) DO UPDATE SET demand = EXCLUDED.demand, pace_ms = EXCLUDED.pace_ms,
         learned_at = EXCLUDED.learned_at, probing = EXCLUDED.probing, accepted = EXCLUDED.accepted, wave_open = EXCLUDED.wave_open, blocked_until = EXCLUDED.blocked_until,
         reserved_requests = EXCLUDED.reserved_requests, reserved_tokens = EXCLUDED.reserved_tokens, seen_at = now()`,
      [
        runnerId,
        all.map((e) => e.modelKey),
        all.map((e) => e.demand),
        all.map((e) => e.paceMs ?? null),
        all.map((e) => e.learnedAt ?? null),
        all.map((e) => e.probing ?? false),
        all.map((e) => e.accepted ?? 0),
        all.map((e) => e.waveOpen ?? false),
        all.map((e) => e.blockedUntil),
        all.map((e) => Math.ceil(e.reserved.requests)),
        all.map((e) => e.reserved.tokens),
      ],
    );
    await client.query('DELETE FROM model_rate_share WHERE seen_at < now() - make_interval(secs => $1::float8 / 1000)', [forgetMs]);
  });
}

/** A runner stopping: its rows go, so the others take its share at once. */
export async function forgetRunner(pool: pg.Pool, runnerId: string): Promise<void> {
  await pool.query('DELETE FROM model_rate_share WHERE runner_id = $1', [runnerId]);
}

/** Whether each model's replies were seen to state its budget (migration 014), by any runner in any run. */
export async function readBudgetStatements(pool: pg.Pool): Promise<Map<string, boolean>> {
  const { rows } = await pool.query<{ model_key: string; states_budget: boolean }>('SELECT model_key, states_budget FROM model_budget_statement');
  return new Map(rows.map((r) => [r.model_key, r.states_budget]));
}

/** Records what this runner saw of models' replies (the latest word holds: a provider may start or stop stating it). */
export async function recordBudgetStatements(pool: pg.Pool, seen: Map<string, boolean>): Promise<void> {
  if (seen.size === 0) return;
  await pool.query(
    `INSERT INTO model_budget_statement (model_key, states_budget)
     SELECT * FROM unnest($1::text[], $2::boolean[])
     ON CONFLICT (model_key) DO UPDATE SET states_budget = EXCLUDED.states_budget, seen_at = now()`,
    [[...seen.keys()], [...seen.values()]],
  );
}
