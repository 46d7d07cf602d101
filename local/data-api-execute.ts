/**
 * Runs one Data API statement on a session: placeholders to `$n` with typed
 * parameters, one statement per call, the 45-second call limit, and the result
 * in the requested shape.
 */
import type pg from 'pg';
import { DataApiError, badRequest, fromPostgres, refused, statementTimeout } from './data-api-errors.js';
import type { Binding } from './data-api-params.js';
import { type Field, type ResultOptions, checkResult, columnMetadata, toFormattedRecords, toRecords } from './data-api-results.js';
import type { Session } from './data-api-sessions.js';
import { rewrite, scanSql } from './data-api-sql.js';
import { TypeCatalog } from './data-api-types.js';

export interface Statement {
  sql: string;
  parameters: Map<string, Binding>;
  includeResultMetadata: boolean;
  formatJson: boolean;
  continueAfterTimeout: boolean;
  options: ResultOptions;
}

export interface ExecutorLimits {
  /** data-api-calling-cli: a call "exceeds the Data API timeout interval of 45 seconds". */
  statementTimeoutMs: number;
  /** data-api-json, Troubleshooting: "The JSON response is limited to 10 megabytes". */
  maxFormattedBytes: number;
}

type RawResult = pg.QueryArrayResult<(string | null)[]>;

/** Returns every value as PostgreSQL's text for it; conversion is ours to do. */
const asText = { getTypeParser: () => (value: string) => value };

export class Executor {
  private readonly catalog = new TypeCatalog();

  constructor(private readonly limits: ExecutorLimits) {}

  /** Rejects what the service rejects before running anything. */
  check(sql: string): void {
    // data-api.troubleshooting, "Multi-statements aren't supported" (v2 and provisioned);
    // the error is a ValidationException whose message names "Multistatement" (the
    // pgwire Data API proxy that maps it: `"ValidationException" if message.contains("Multistatement")`).
    if (scanSql(sql).statements > 1) throw refused("Multistatements aren't supported.");
  }

  async run(session: Session, sql: string, parameters: Map<string, Binding>, continueAfterTimeout: boolean): Promise<RawResult> {
    const { placeholders } = scanSql(sql);
    const query = rewrite(sql, placeholders, new Set(parameters.keys()));
    const bound = query.order.map((name) => parameters.get(name)!);
    // node-pg reads `types` twice: as the parameter type OIDs of the Parse message
    // (what makes a stringValue a varchar rather than an untyped literal), and as the
    // row parser. One array that is both does both.
    const types = Object.assign(
      bound.map((b) => b.oid),
      asText,
    );
    const running = session.client.query({
      text: query.text,
      values: bound.map((b) => b.value),
      types,
      rowMode: 'array',
      queryMode: 'extended',
    } as unknown as pg.QueryArrayConfig) as Promise<RawResult>;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.limits.statementTimeoutMs);
      timer.unref();
    });
    try {
      const outcome = await Promise.race([running, timedOut]);
      if (outcome === 'timeout') {
        // The call ends here either way; continueAfterTimeout only spares the statement.
        session.pending = running.then(
          () => undefined,
          () => undefined,
        );
        void session.pending.then(() => (session.pending = undefined));
        if (!continueAfterTimeout) await session.cancel().catch(() => undefined);
        throw statementTimeout((session.client as unknown as { processID?: number }).processID);
      }
      return outcome;
    } catch (err) {
      if (err instanceof DataApiError) throw err;
      throw fromPostgres(err, (p) => query.originalPosition(p));
    } finally {
      clearTimeout(timer);
    }
  }

  async execute(session: Session, s: Statement): Promise<Record<string, unknown>> {
    const result = await this.run(session, s.sql, s.parameters, s.continueAfterTimeout);
    if (!result.fields?.length) return { numberOfRecordsUpdated: result.rowCount ?? 0, generatedFields: [] };
    const known = await this.catalog.resolve(session.client, session.database, result.fields.map((f) => f.dataTypeID));
    const ordered = result.fields.map((f) => known.get(f.dataTypeID)!);
    checkResult(result.rows, ordered, s.options.maxRowBytes);
    if (s.formatJson) {
      const formattedRecords = toFormattedRecords(result.rows, result.fields, ordered, s.options);
      if (Buffer.byteLength(formattedRecords) > this.limits.maxFormattedBytes) {
        // data-api-json, Troubleshooting: "your program receives a BadRequestException error".
        throw badRequest('Database response exceeded size limit');
      }
      return { formattedRecords, numberOfRecordsUpdated: 0 };
    }
    const payload: Record<string, unknown> = { records: toRecords(result.rows, ordered, s.options), numberOfRecordsUpdated: 0 };
    if (s.includeResultMetadata) payload.columnMetadata = (await columnMetadata(session.client, result.fields, ordered)) as Field[];
    return payload;
  }

  /**
   * One execution per parameter set. PostgreSQL's RETURNING values are not given back
   * (jeremydaly/data-api-client, commit "support RETURNING clause in batch queries":
   * "BatchExecuteStatement does not return RETURNING clause values"): each set's
   * generatedFields is empty.
   */
  async batch(session: Session, sql: string, sets: Map<string, Binding>[]): Promise<Record<string, unknown>> {
    for (const parameters of sets) await this.run(session, sql, parameters, false);
    return { updateResults: sets.map(() => ({ generatedFields: [] })) };
  }
}

