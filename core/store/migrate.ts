import type pg from 'pg';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { inTransaction } from './pool.js';

/** Arbitrary constant: the advisory lock every migrator takes, so two
 *  processes starting at once apply each migration exactly once. */
const MIGRATION_LOCK = 727_274_001;

/** Applies the migrations not yet recorded in `schema_migration`; returns their versions. */
export function migrate(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migration');
    const applied = new Set(rows.map((r) => r.version));
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migration (version, name) VALUES ($1, $2)', [m.version, m.name]);
      done.push(m.version);
    }
    return done;
  });
}
