/**
 * The RDS Data API backend: SQL over HTTPS, no connection held, so a burst
 * of Lambdas opens none and Aurora can pause while the API is idle.
 *
 * The store's SQL is PostgreSQL with `$n` placeholders and `pg`'s value
 * conventions; this module translates both ways:
 * - `$n` becomes the named parameter `:pn`; values become typed Data API
 *   fields (arrays as PostgreSQL array literals, objects as JSON text: the
 *   SQL casts them, `$1::int[]`, `$2::jsonb`, since the Data API takes no
 *   array parameter and binds strings as text);
 * - records come back as typed fields, turned into what `pg` returns for the
 *   same columns (numbers for int8 and numeric, as core/store/pool.ts
 *   configures pg; parsed JSON; Dates for timestamps; arrays), using the
 *   result's column metadata;
 * - errors: a SQL error keeps its SQLSTATE (`code`, as pg errors do) so the
 *   store's checks (23505 → 409) work unchanged; a database that is resuming
 *   from auto-pause, or unreachable, is an `UnavailableError` (503 with
 *   Retry-After).
 *
 * Limits of the service this code must respect (Aurora User Guide, "Limits
 * for the Amazon RDS Data API"): requests ≤ 4 MiB, responses ≤ 1 MiB, result
 * rows ≤ 64 KB; see `core/store/large.ts` for how large reads and writes are
 * split.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RollbackTransactionCommand,
  type ArrayValue,
  type ColumnMetadata,
  type Field,
  type RDSDataClient,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { UnavailableError } from '../errors.js';
import type { Database, Rows } from './db.js';
import { unavailable } from './availability.js';
import { namedPlaceholders } from './sql-lexer.js';

export interface DataApiTarget {
  client: RDSDataClient;
  /** The Aurora cluster's ARN. */
  resourceArn: string;
  /** The secret holding the database user's credentials; the Data API reads it on each call. */
  secretArn: string;
  database: string;
}

/** A SQL error reported by the Data API, with PostgreSQL's SQLSTATE as `code` (as `pg`'s errors carry it). */
export class SqlError extends Error {
  override name = 'SqlError';
  constructor(
    message: string,
    public readonly code: string | undefined,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- values in

/** A JS array as a PostgreSQL array literal (`{1,2,"a \"b\""}`), as `pg` sends arrays. */
export function arrayLiteral(values: readonly unknown[]): string {
  const item = (v: unknown): string => {
    if (v === null || v === undefined) return 'NULL';
    if (Array.isArray(v)) return arrayLiteral(v);
    const text = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  };
  return `{${values.map(item).join(',')}}`;
}

function parameter(value: unknown, index: number): SqlParameter {
  const name = `p${index + 1}`;
  if (value === null || value === undefined) return { name, value: { isNull: true } };
  if (typeof value === 'boolean') return { name, value: { booleanValue: value } };
  if (typeof value === 'bigint') return { name, value: { longValue: Number(value) } };
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return { name, value: { longValue: value } };
    if (Number.isFinite(value)) return { name, value: { doubleValue: value } };
    // JSON has no NaN or infinities; PostgreSQL reads them from text.
    return { name, value: { stringValue: String(value) }, typeHint: 'DECIMAL' };
  }
  if (typeof value === 'string') return { name, value: { stringValue: value } };
  if (value instanceof Date) return { name, value: { stringValue: value.toISOString().replace('T', ' ').replace('Z', '') }, typeHint: 'TIMESTAMP' };
  if (Buffer.isBuffer(value)) return { name, value: { blobValue: value } };
  if (Array.isArray(value)) return { name, value: { stringValue: arrayLiteral(value) } };
  return { name, value: { stringValue: JSON.stringify(value) }, typeHint: 'JSON' };
}

// ---------------------------------------------------------------- values out

const JSON_TYPES = new Set(['json', 'jsonb']);
const NUMBER_TYPES = new Set(['int2', 'int4', 'int8', 'serial', 'bigserial', 'smallserial', 'oid', 'numeric', 'decimal', 'float4', 'float8', 'money']);
const TIME_TYPES = new Set(['timestamp', 'timestamptz']);

/** A timestamp as the Data API writes it (UTC, space-separated, maybe no zone) as a Date. */
function timestamp(text: string): Date {
  const iso = text.replace(' ', 'T');
  return new Date(/[zZ]|[+-]\d\d(:?\d\d)?$/.test(iso) ? iso : iso + 'Z');
}

function scalar(text: string, type: string): unknown {
  if (JSON_TYPES.has(type)) return JSON.parse(text);
  if (NUMBER_TYPES.has(type)) return Number(text);
  if (TIME_TYPES.has(type)) return timestamp(text);
  return text;
}

function array(value: ArrayValue, elementType: string): unknown[] {
  if (value.arrayValues) return value.arrayValues.map((v) => (v ? array(v, elementType) : null));
  if (value.stringValues) return value.stringValues.map((v) => (v === null ? null : scalar(v, elementType)));
  return value.longValues ?? value.doubleValues ?? value.booleanValues ?? [];
}

function fieldValue(field: Field, column: ColumnMetadata | undefined): unknown {
  const type = (column?.typeName ?? '').toLowerCase();
  if (field.isNull) return null;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue);
  if (field.arrayValue !== undefined) return array(field.arrayValue, type.replace(/^_/, ''));
  if (field.stringValue !== undefined) return scalar(field.stringValue, type);
  return null;
}

// ---------------------------------------------------------------- errors

/**
 * The Data API's failures that are not the request's fault (the database
 * resuming, unreachable or misconfigured, the secret unreadable), with how
 * long a client should wait before trying again. Exception names: the SDK's
 * model (@aws-sdk/client-rds-data, models/errors).
 */
const UNAVAILABLE: Record<string, number> = {
  // Aurora Serverless v2 resuming from 0 ACU: about 15 s.
  DatabaseResumingException: 15,
  DatabaseUnavailableException: 5,
  ServiceUnavailableError: 5,
  InternalServerErrorException: 2,
  ThrottlingException: 2,
  StatementTimeoutException: 5,
  SecretsErrorException: 5,
  InvalidSecretException: 30,
  AccessDeniedException: 30,
  ForbiddenException: 30,
  HttpEndpointNotEnabledException: 30,
  DatabaseNotFoundException: 30,
  InvalidResourceStateException: 30,
};

function translate(err: unknown): Error {
  const name = (err as Error)?.name ?? '';
  if (name in UNAVAILABLE) {
    return new UnavailableError(name === 'DatabaseResumingException' ? 'the database is resuming from pause' : 'the database cannot be reached', UNAVAILABLE[name], err);
  }
  if (name === 'BadRequestException' || name === 'DatabaseErrorException') {
    const message = (err as Error).message ?? '';
    // "ERROR: <message>; SQLState: 23505" (Data API v2 sends no Detail)
    const code = /SQLState:\s*([0-9A-Z]{5})/.exec(message)?.[1];
    const text = message.replace(/^ERROR:\s*/, '').replace(/;\s*SQLState:\s*[0-9A-Z]{5}\s*$/, '');
    // A refused login or a database going down is the pool's "cannot be reached" too.
    return unavailable(new SqlError(text, code)) as Error;
  }
  return err instanceof Error ? err : new Error(String(err));
}

// ---------------------------------------------------------------- database

export function dataApiDatabase(target: DataApiTarget): Database {
  const base = { resourceArn: target.resourceArn, secretArn: target.secretArn, database: target.database };

  /** Runs one call of the client, its failure translated (SQLSTATE kept, unavailability a 503). */
  const call = async <T>(send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (err) {
      throw translate(err);
    }
  };

  async function run<R>(sql: string, params: unknown[] | undefined, transactionId?: string): Promise<Rows<R>> {
    const out = await call(() =>
      target.client.send(
        new ExecuteStatementCommand({
          ...base,
          sql: namedPlaceholders(sql),
          parameters: (params ?? []).map(parameter),
          includeResultMetadata: true,
          ...(transactionId ? { transactionId } : {}),
        }),
      ),
    );
    const columns = out.columnMetadata ?? [];
    const rows = (out.records ?? []).map((record) => {
      const row: Record<string, unknown> = {};
      record.forEach((field, i) => (row[columns[i]?.label ?? columns[i]?.name ?? `column${i}`] = fieldValue(field, columns[i])));
      return row as R;
    });
    return { rows, rowCount: out.records ? Math.max(rows.length, out.numberOfRecordsUpdated ?? 0) : (out.numberOfRecordsUpdated ?? 0) };
  }

  return {
    kind: 'data-api',
    query: (sql, params) => run(sql, params),
    async transaction(fn) {
      const { transactionId } = await call(() => target.client.send(new BeginTransactionCommand(base)));
      const ends = { resourceArn: base.resourceArn, secretArn: base.secretArn, transactionId };
      let value;
      try {
        value = await fn({ kind: 'data-api', query: (sql, params) => run(sql, params, transactionId) });
      } catch (err) {
        await target.client.send(new RollbackTransactionCommand(ends)).catch(() => undefined);
        throw err;
      }
      await call(() => target.client.send(new CommitTransactionCommand(ends)));
      return value;
    },
    close: async () => target.client.destroy(),
  };
}
