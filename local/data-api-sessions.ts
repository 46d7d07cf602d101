/**
 * Connections behind the local Data API: a pool per database and login, the
 * login read from the "secret" on every call (so a rotated password is used on
 * the next call), and transactions pinned to one connection each.
 *
 * Transactions follow the documented rules: BeginTransaction returns an id bound
 * to one connection; a transaction with no call for three minutes is rolled back
 * (API reference, BeginTransaction: "A transaction times out if no calls use its
 * transaction ID in three minutes"), and any transaction after 24 hours; a call on
 * a transaction that is still running another one is refused at once
 * (data-api.troubleshooting, "Transaction is still running a query").
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  DataApiError,
  type TransactionCause,
  connectionLost,
  fromPostgres,
  secretsError,
  transactionBusy,
  transactionNotFound,
} from './data-api-errors.js';

export interface Login {
  username: string;
  password: string;
}

export type Credentials = (secretArn: string) => Promise<Login>;

export interface Session {
  client: pg.PoolClient;
  database: string;
  /** Cancels the statement running on `client`, from another connection. */
  cancel(): Promise<void>;
  /** A statement the call stopped waiting for; the connection is busy until it settles. */
  pending?: Promise<unknown>;
  /** Returns the connection to its pool (or closes it); once only. */
  release(destroy?: boolean): void;
}

const POOL_SIZE = 8;

export class Connections {
  private readonly pools = new Map<string, pg.Pool>();
  /** The pool last used for a database and user: a new password retires it. */
  private readonly current = new Map<string, string>();
  private readonly base: URL;
  /** Connections handed out and not yet released: closing the server closes them. */
  private readonly outstanding = new Set<Session>();
  private readonly guarded = new WeakSet<pg.PoolClient>();

  constructor(databaseUrl: string, private readonly credentials: Credentials) {
    this.base = new URL(databaseUrl);
  }

  get defaultDatabase(): string {
    return decodeURIComponent(this.base.pathname.slice(1));
  }

  async login(secretArn: string): Promise<Login> {
    let login: Login;
    try {
      login = await this.credentials(secretArn);
    } catch {
      throw secretsError(`Error fetching secret ${secretArn}`);
    }
    if (!login || typeof login.username !== 'string' || typeof login.password !== 'string') {
      throw new DataApiError('InvalidSecretException', 400, `The secret ${secretArn} doesn't hold a username and a password`);
    }
    return login;
  }

  /** A connection for one call; PostgreSQL's refusal (bad password, no such database) is a DatabaseErrorException. */
  async connect(secretArn: string, database: string | undefined): Promise<Session> {
    const login = await this.login(secretArn);
    const db = database || this.defaultDatabase;
    const pool = this.pool(db, login);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw fromPostgres(err);
    }
    if (!this.guarded.has(client)) {
      // A connection the server drops while it is checked out fails its next query;
      // without a listener the 'error' event would end the process.
      client.on('error', () => undefined);
      this.guarded.add(client);
    }
    const pid = (client as unknown as { processID: number }).processID;
    const cancel = async () => {
      const other = new pg.Client({ ...this.server(), user: login.username, password: login.password, database: db });
      try {
        await other.connect();
        await other.query('SELECT pg_cancel_backend($1)', [pid]);
      } finally {
        await other.end().catch(() => undefined);
      }
    };
    const session: Session = {
      client,
      database: db,
      cancel,
      release: (destroy = false) => {
        if (!this.outstanding.delete(session)) return;
        client.release(destroy);
      },
    };
    this.outstanding.add(session);
    return session;
  }

  private pool(database: string, login: Login): pg.Pool {
    const who = JSON.stringify([database, login.username]);
    const key = JSON.stringify([database, login.username, login.password]);
    const previous = this.current.get(who);
    if (previous !== undefined && previous !== key) {
      // The secret was rotated: the old password's connections go with it.
      const old = this.pools.get(previous);
      this.pools.delete(previous);
      void old?.end().catch(() => undefined);
    }
    this.current.set(who, key);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new pg.Pool({
        ...this.server(),
        user: login.username,
        password: login.password,
        database,
        max: POOL_SIZE,
        idleTimeoutMillis: 30_000,
        // The service reports TIMESTAMPTZ in UTC (data-api-operations).
        options: '-c TimeZone=UTC',
        application_name: 'local-data-api',
      });
      // An idle connection the server closed is dropped by the pool; nothing to report.
      pool.on('error', () => undefined);
      this.pools.set(key, pool);
    }
    return pool;
  }

  private server(): { host: string; port: number } {
    return { host: this.base.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(this.base.port || 5432) };
  }

  async end(): Promise<void> {
    for (const session of [...this.outstanding]) session.release(true);
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }
}

interface Transaction {
  session: Session;
  busy: boolean;
  idle?: NodeJS.Timeout;
  deadline: number;
}

export interface TransactionLimits {
  idleMs: number;
  maxLifetimeMs: number;
}

/** How many finished ids are remembered, to say why an id is no longer valid. */
const REMEMBERED = 10_000;

export class Transactions {
  private readonly open = new Map<string, Transaction>();
  private readonly finished = new Map<string, TransactionCause>();

  constructor(private readonly limits: TransactionLimits) {}

  async begin(session: Session): Promise<string> {
    try {
      await session.client.query('BEGIN');
    } catch (err) {
      session.release(true);
      throw fromPostgres(err);
    }
    // Opaque and long, like the service's ids.
    const id = randomBytes(48).toString('base64');
    const tx: Transaction = { session, busy: false, deadline: Date.now() + this.limits.maxLifetimeMs };
    this.open.set(id, tx);
    this.arm(id, tx);
    return id;
  }

  /** Runs `work` on the transaction's connection; one call at a time. */
  async use<T>(id: string, work: (session: Session) => Promise<T>): Promise<T> {
    const tx = this.open.get(id);
    if (!tx) throw transactionNotFound(id, this.finished.get(id) ?? 'expired');
    // A statement a previous call stopped waiting for (continueAfterTimeout) still holds it.
    if (tx.busy || tx.session.pending) throw transactionBusy();
    tx.busy = true;
    clearTimeout(tx.idle);
    try {
      return await work(tx.session);
    } catch (err) {
      // A connection that failed under the call has taken the transaction with it.
      if (connectionLost(err)) this.finish(id, tx, 'aborted', true);
      throw err;
    } finally {
      tx.busy = false;
      if (this.open.get(id) === tx) this.arm(id, tx);
    }
  }

  async end(id: string, command: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    await this.use(id, async (session) => {
      const tx = this.open.get(id)!;
      try {
        await session.client.query(command);
      } catch (err) {
        this.finish(id, tx, 'aborted', true);
        throw fromPostgres(err);
      }
      this.finish(id, tx, 'ended', false);
    });
  }

  private arm(id: string, tx: Transaction): void {
    const wait = Math.min(this.limits.idleMs, tx.deadline - Date.now());
    tx.idle = setTimeout(() => {
      if (this.open.get(id) !== tx || tx.busy) return;
      this.finish(id, tx, 'expired', false);
      tx.session.client.query('ROLLBACK').then(
        () => tx.session.release(),
        () => tx.session.release(true),
      );
    }, Math.max(0, wait));
    tx.idle.unref();
  }

  /** Forgets the transaction and hands its connection back, except on expiry, where the timer does after its ROLLBACK. */
  private finish(id: string, tx: Transaction, cause: TransactionCause, destroy: boolean): void {
    clearTimeout(tx.idle);
    if (this.open.get(id) !== tx) return;
    this.open.delete(id);
    this.finished.set(id, cause);
    if (this.finished.size > REMEMBERED) this.finished.delete(this.finished.keys().next().value!);
    if (cause !== 'expired') tx.session.release(destroy);
  }

  /** Closing a connection rolls its transaction back: no need to wait for a ROLLBACK. */
  closeAll(): void {
    for (const [id, tx] of [...this.open.entries()]) {
      this.finish(id, tx, 'expired', false);
      tx.session.release(true);
    }
  }
}

