/** The `pg` backend: a pool of connections, for the runner and the local stack. */
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { Delays } from '../backoff.js';
import { unavailable } from './availability.js';
import type { Database, Db } from './db.js';

// Counters and aggregates come back as numbers, not strings: bigint sums of
// counts stay far below 2^53 here.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

/** SQLSTATE of a refused login (wrong password): the credentials were rotated. */
const INVALID_PASSWORD = '28P01';

/** Where a pool's connections log in: a URL, or a URL without password and a source of current credentials. */
export interface PoolTarget {
  url: string;
  /** The current password (from a cached secret); `refresh` asks for a fresh read after a refused login. A rotation keeps the user. */
  password?: (refresh: boolean) => Promise<string>;
}

/**
 * A pool that survives a password rotation: every new connection asks
 * `credentials` for the password (cheap: it is cached), and a login refused
 * with 28P01 rereads the secret at once and tries once more, so no restart
 * is needed after a rotation.
 */
class RotatingPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly credentials: NonNullable<PoolTarget['password']>,
  ) {
    super({ ...config, password: () => credentials(false) });
  }

  // pg-pool's own query() calls connect() with a callback: both forms are kept.
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    const attempt = super.connect().catch(async (err: { code?: string }) => {
      if (err?.code !== INVALID_PASSWORD) throw err;
      await this.credentials(true);
      return super.connect();
    });
    if (!callback) return attempt;
    attempt.then(
      (client) => callback(undefined, client, (release) => client.release(release as boolean | Error | undefined)),
      (err: Error) => callback(err, undefined, () => undefined),
    );
  }
}

/** One pool per process; Lambda keeps it across invocations. */
export function createPool(target: string | PoolTarget, max = 10): pg.Pool {
  const { url, password: credentials } = typeof target === 'string' ? { url: target, password: undefined } : target;
  const limits = { max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 20_000 };
  // pg lets a connection string's (empty) password override a password function: parse it here instead.
  const pool = credentials ? new RotatingPool({ ...(parseIntoClientConfig(url) as pg.PoolConfig), ...limits }, credentials) : new pg.Pool({ connectionString: url, ...limits });
  // An idle client's error (server restart) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` in one transaction on one client of `pool`. */
export async function pgTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A lost connection (a server restart) fails the statement in flight and is also emitted as
  // 'error' on the client, which the pool stops listening to while the client is lent out:
  // unheard, that event would end the process. The client is then dropped, not pooled.
  let lost: Error | undefined;
  const onError = (err: Error) => (lost ??= err);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const value = await fn(client);
    await client.query('COMMIT');
    return value;
  } catch (err) {
    if (!lost) await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(lost);
  }
}

/** Probes in progress, one per pool however many callers wait. */
const probes = new WeakMap<pg.Pool, Promise<void>>();

/**
 * Resolves once `pool` answers a query again (or is ended), trying about
 * once a second: for a caller that must wait out an outage of its database
 * rather than go on failing (the runner stops taking work meanwhile).
 * Concurrent callers share one probe. Never rejects.
 */
export function untilReachable(pool: pg.Pool, intervalMs: number = Delays.databaseProbeMs): Promise<void> {
  let probe = probes.get(pool);
  if (!probe) {
    probe = (async () => {
      while (!pool.ending) {
        try {
          await pool.query('SELECT 1');
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, intervalMs));
        }
      }
    })().finally(() => probes.delete(pool));
    probes.set(pool, probe);
  }
  return probe;
}

/** A pool as a `Database`; failures to reach the database are UnavailableErrors. */
export function pgDatabase(pool: pg.Pool): Database {
  const guard = <T>(p: Promise<T>) =>
    p.catch((err) => {
      throw unavailable(err);
    });
  return {
    kind: 'pg',
    query: (sql, params) => guard(pool.query(sql, params)),
    transaction: (fn) => guard(pgTransaction(pool, fn)),
    close: () => pool.end(),
  };
}

/** Runs `fn` in one transaction of `db`: a `Database`, or a bare `pg` pool (the runner's). */
export function inTransaction<T>(db: Database | pg.Pool, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db instanceof pg.Pool ? pgTransaction(db, fn) : db.transaction(fn);
}
