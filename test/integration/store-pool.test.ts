/**
 * The `pg` backend (core/store/pool.ts) against the real PostgreSQL of the
 * test run, which logs in with scram-sha-256, so a wrong password is really
 * refused: numbers as numbers, transactions committed or rolled back with
 * their client returned (or dropped when its connection was lost), waiting
 * out a database that does not answer, failures to reach it as
 * UnavailableErrors, and a password rotation without a restart.
 * The module sets no statement timeout of its own: there is none to test.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { UnavailableError } from '../../core/errors.js';
import { createPool, inTransaction, pgDatabase, pgTransaction, untilReachable } from '../../core/store/pool.js';
import { freshDatabase } from '../support/api.js';
import { waitUntil } from '../support/runner.js';

let url: string;
/** The superuser's pool on the test's database: creates tables and roles, ends others' connections. */
let admin: pg.Pool;
beforeAll(async () => {
  url = await freshDatabase();
  admin = createPool(url, 2);
  await admin.query('CREATE TABLE kv (k text PRIMARY KEY, v int)');
});
afterAll(async () => {
  await admin.end();
});

const pools: pg.Pool[] = [];
function pool(target: Parameters<typeof createPool>[0], max = 1): pg.Pool {
  const p = createPool(target, max);
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => (p.ending ? undefined : p.end())));
  await admin.query('DELETE FROM kv');
});

const values = async () => (await admin.query<{ k: string; v: number }>('SELECT k, v FROM kv ORDER BY k')).rows;

/** A port on this host where nothing listens (yet). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const unreachableUrl = (port: number) => Object.assign(new URL(url), { host: `127.0.0.1:${port}` }).toString();

describe('createPool', () => {
  it('reads bigint and numeric columns as numbers', async () => {
    const { rows } = await pool(url).query('SELECT 9007199254740991::bigint AS big, 1.25::numeric AS num, count(*) AS n FROM kv');
    expect(rows).toEqual([{ big: 9007199254740991, num: 1.25, n: 0 }]);
  });

  it('survives the server ending an idle connection, and opens a new one for the next query', async () => {
    const p = pool(url);
    const { rows } = await p.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    await waitUntil(async () => p.totalCount === 0, 10_000, 'the pool to drop the ended connection');
    const again = await p.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(again.rows[0].pid).not.toBe(rows[0].pid);
  });
});

describe('pgTransaction', () => {
  it('commits what its function wrote and returns its value', async () => {
    const p = pool(url);
    expect(await pgTransaction(p, async (c) => (await c.query("INSERT INTO kv VALUES ('a', 1) RETURNING v")).rows[0].v)).toBe(1);
    expect(await values()).toEqual([{ k: 'a', v: 1 }]);
  });

  it('rolls back everything its function wrote when it throws, rethrows that error, and returns the client to the pool', async () => {
    const p = pool(url);
    const failure = new Error('changed my mind');
    await expect(
      pgTransaction(p, async (c) => {
        await c.query("INSERT INTO kv VALUES ('a', 1)");
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await values()).toEqual([]);
    // One connection at most: a client kept back (or left in the aborted transaction) would fail or block this.
    expect(p.idleCount).toBe(1);
    await pgTransaction(p, (c) => c.query("INSERT INTO kv VALUES ('b', 2)"));
    expect(await values()).toEqual([{ k: 'b', v: 2 }]);
  });

  it('drops the client whose connection was lost in the middle, and the process and the pool carry on', async () => {
    const p = pool(url);
    await expect(pgTransaction(p, (c) => c.query('SELECT pg_terminate_backend(pg_backend_pid())'))).rejects.toThrow();
    expect(p.totalCount).toBe(0);
    await pgTransaction(p, (c) => c.query("INSERT INTO kv VALUES ('c', 3)"));
    expect(await values()).toEqual([{ k: 'c', v: 3 }]);
  });
});

describe('untilReachable', () => {
  it('resolves at once for a database that answers', async () => {
    await expect(untilReachable(pool(url), 10)).resolves.toBeUndefined();
  });

  it('waits, with every caller on one probe, until the database answers on its address', async () => {
    const port = await closedPort();
    const p = pool(unreachableUrl(port));
    const first = untilReachable(p, 10);
    expect(untilReachable(p, 10)).toBe(first);
    let reached = false;
    void first.then(() => (reached = true));
    await expect(p.query('SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(reached).toBe(false);
    // The database comes back: a relay on that port to the real server.
    const target = new URL(url);
    const relay = net.createServer((socket) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
    try {
      await first;
      expect(reached).toBe(true);
      await p.end();
    } finally {
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('resolves, never rejects, once the pool of an unreachable database is ended', async () => {
    const p = pool(unreachableUrl(await closedPort()));
    const waiting = untilReachable(p, 10);
    await p.end();
    await expect(waiting).resolves.toBeUndefined();
  });
});

describe('pgDatabase', () => {
  it('reports a database it cannot reach as an UnavailableError, for queries and transactions alike', async () => {
    const db = pgDatabase(pool(unreachableUrl(await closedPort())));
    await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(UnavailableError);
    await expect(db.transaction((tx) => tx.query('SELECT 1'))).rejects.toBeInstanceOf(UnavailableError);
  });

  it('passes a SQL error on unchanged', async () => {
    const db = pgDatabase(pool(url));
    const err = await db.query('SELEC 1').catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ code: '42601' });
  });

  it('ends its pool on close', async () => {
    const p = pool(url);
    await pgDatabase(p).close();
    expect(p.ending).toBe(true);
  });
});

describe('inTransaction', () => {
  it.each([
    ['a bare pg pool', (p: pg.Pool) => p],
    ['a Database', (p: pg.Pool) => pgDatabase(p)],
  ])('runs its function in one transaction of %s: all of it or nothing', async (_what, wrap) => {
    const db = wrap(pool(url));
    await inTransaction(db, async (tx) => {
      await tx.query("INSERT INTO kv VALUES ('a', 1)");
      await tx.query("INSERT INTO kv VALUES ('b', 2)");
    });
    await expect(
      inTransaction(db, async (tx) => {
        await tx.query("INSERT INTO kv VALUES ('c', 3)");
        await tx.query("INSERT INTO kv VALUES ('a', 9)");
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await values()).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 2 }]);
  });
});

describe('a pool whose password comes from a secret', () => {
  let role: string;
  let current: string;
  beforeAll(async () => {
    role = `pool_${randomBytes(4).toString('hex')}`;
    current = `first-${randomBytes(8).toString('hex')}`;
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${current}'`);
    await admin.query(`GRANT CONNECT ON DATABASE ${new URL(url).pathname.slice(1)} TO ${role}`);
  });

  /** The role's login URL without its password, and a secret cache: the cached password unless asked to refresh. */
  function rotating() {
    const reads: boolean[] = [];
    let cached = current;
    const target = {
      url: Object.assign(new URL(url), { username: role, password: '' }).toString(),
      password: async (refresh: boolean) => {
        reads.push(refresh);
        if (refresh) cached = current;
        return cached;
      },
    };
    return { target, reads };
  }

  async function rotate(): Promise<void> {
    current = `next-${randomBytes(8).toString('hex')}`;
    await admin.query(`ALTER ROLE ${role} PASSWORD '${current}'`);
  }

  const whoAmI = async (p: pg.Pool) => (await p.query<{ user: string }>('SELECT current_user AS user')).rows[0].user;

  it('logs in with the cached password while it is right, without rereading the secret', async () => {
    const { target, reads } = rotating();
    const p = pool(target);
    expect(await whoAmI(p)).toBe(role);
    expect(reads).toEqual([false]);
  });

  it('rereads the secret once after a login refused for its password and logs in with the new one, for query() and connect() alike', async () => {
    const { target, reads } = rotating();
    const p = pool(target, 2);
    await rotate();
    expect(await whoAmI(p)).toBe(role);
    expect(reads).toEqual([false, true, false]);

    await rotate();
    // A new connection: the idle one still holds the old login.
    const held = await p.connect();
    const other = await p.connect();
    try {
      expect((await other.query('SELECT current_user AS user')).rows[0].user).toBe(role);
    } finally {
      held.release();
      other.release();
    }
    expect(reads).toEqual([false, true, false, false, true, false]);
  });

  it('gives up with the refusal when the fresh password is refused too', async () => {
    current = 'not-the-password';
    const { target, reads } = rotating();
    const p = pool(target);
    await expect(p.query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    expect(reads).toEqual([false, true, false]);
  });

  it('does not reread the secret when a login fails for another reason than the password', async () => {
    await rotate();
    const { target, reads } = rotating();
    const p = pool({ ...target, url: Object.assign(new URL(target.url), { pathname: '/no_such_database' }).toString() });
    await expect(p.query('SELECT 1')).rejects.toMatchObject({ code: '3D000' });
    expect(reads).toEqual([false]);
  });
});
