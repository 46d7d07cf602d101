/**
 * What the store runs its SQL on. Two backends speak it: a `pg` pool (the
 * runner, long-lived, and the local stack) and the RDS Data API (the Lambdas,
 * which hold no connection). Store functions take a `Db`: a whole database
 * or one transaction of it, so the same function runs alone or inside a
 * caller's transaction.
 *
 * SQL is written for PostgreSQL with `$n` placeholders. Both backends accept
 * it; for the Data API every parameter that is not text, a number or a
 * boolean needs an explicit cast in the SQL (`$1::jsonb`, `$2::int[]`),
 * because the Data API binds typed parameters where `pg` sends untyped ones.
 */

/** The result of one statement, as `pg` shapes it. */
export interface Rows<R> {
  rows: R[];
  rowCount: number | null;
}

/** One statement at a time. `pg.Pool` and `pg.PoolClient` are `Db`s as they are. */
export interface Db {
  /** Which backend runs the SQL ('pg' when absent, as for a bare pg pool): large reads are shaped for it (core/store/large.ts). */
  readonly kind?: 'pg' | 'data-api';
  query<R extends Record<string, any> = any>(sql: string, params?: any[]): Promise<Rows<R>>;
}

/** A whole database: statements, transactions, and an end. */
export interface Database extends Db {
  readonly kind: 'pg' | 'data-api';
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
