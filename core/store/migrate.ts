import type pg from 'pg';
import type { Database, Db } from './db.js';
import { MIGRATIONS, type Migration, type MigrationContext } from './migrations/index.js';
import { inTransaction } from './pool.js';
import { splitStatements } from './sql-lexer.js';

/** Arbitrary constant: the advisory lock every migrator takes, so two
 *  processes starting at once apply each migration exactly once. */
const MIGRATION_LOCK = 727_274_001;

/**
 * Applies the migrations not yet recorded in `schema_migration`, all in one
 * transaction, one statement at a time (the Data API runs one per call);
 * returns their versions. Migrations that rewrite data in code (sealing keys
 * stored in clear) get `context`.
 */
export function migrate(db: Database | pg.Pool, context: MigrationContext = {}, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return inTransaction(db, async (tx: Db) => {
    // Cast: the lock function returns void, a result type the Data API does not carry.
    await tx.query('SELECT pg_advisory_xact_lock($1)::text AS locked', [MIGRATION_LOCK]);
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migration');
    const applied = new Set(rows.map((r) => r.version));
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      for (const statement of splitStatements(m.sql ?? '')) await tx.query(statement);
      if (m.run) await m.run(tx, context);
      await tx.query('INSERT INTO schema_migration (version, name) VALUES ($1, $2)', [m.version, m.name]);
      done.push(m.version);
    }
    return done;
  });
}
