/**
 * A local server that speaks the RDS Data API's wire protocol (restJson1:
 * POST /Execute, /BatchExecute, /BeginTransaction, /CommitTransaction,
 * /RollbackTransaction) over a real PostgreSQL, so code written for
 * `@aws-sdk/client-rds-data` runs unmodified against it with
 * `new RDSDataClient({ endpoint, region, credentials })`.
 *
 * It behaves as the Data API for Aurora PostgreSQL Serverless v2 and provisioned
 * clusters ("Data API v2") does: every refusal and transformation it knows of is
 * reproduced, with its source cited where it is made (data-api-*.ts beside this
 * file). It never logs SQL or parameters: they can carry secrets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DataApiError,
  type WireResponse,
  connectionLost,
  errorResponse,
  internalError,
  jsonResponse,
  requestTooLarge,
  resuming,
  serialization,
  unknownOperation,
  unsupportedResult,
} from './data-api-errors.js';
import { Executor } from './data-api-execute.js';
import { Checks, bindParameters, checkCommon, isObject } from './data-api-params.js';
import { Connections, type Credentials, type Session, Transactions } from './data-api-sessions.js';

export type { Credentials, Login } from './data-api-sessions.js';

export interface DataApiServerOptions {
  /** The PostgreSQL server; its database is the one used when a call names none. */
  databaseUrl: string;
  /** The login a secretArn stands for (Secrets Manager's part). Default: the URL's own. */
  credentials?: Credentials;
  /** Loopback only. Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** A transaction with no call for this long is rolled back. Default 3 minutes. */
  transactionIdleMs?: number;
  /** Default 24 hours. */
  transactionMaxLifetimeMs?: number;
  /** A call gives up on its statement after this long. Default 45 seconds. */
  statementTimeoutMs?: number;
  /** Default 64 KiB (data-api.limitations). */
  maxRowBytes?: number;
  /** Default 1 MiB (data-api.limitations: "The response size limit is 1 MiB"). */
  maxResponseBytes?: number;
  /** Default 4 MiB, headers included (API reference, BatchExecuteStatement). */
  maxRequestBytes?: number;
  /** Receives one line per failed call: operation and error type, never SQL or values. */
  log?: (line: string) => void;
}

export interface DataApiServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  close(): Promise<void>;
  /** Every call in the next `ms` milliseconds fails as calls do while Aurora resumes from auto-pause. */
  resumeDelay(ms: number): void;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;
const MiB = 1024 * 1024;

type Json = Record<string, unknown>;
type Operation = (body: Json) => Promise<Json>;

export async function startDataApiServer(options: DataApiServerOptions): Promise<DataApiServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) throw new Error(`the local Data API listens on loopback only, not ${host}`);
  const base = new URL(options.databaseUrl);
  const credentials: Credentials =
    options.credentials ?? (async () => ({ username: decodeURIComponent(base.username), password: decodeURIComponent(base.password) }));
  const connections = new Connections(options.databaseUrl, credentials);
  const transactions = new Transactions({ idleMs: options.transactionIdleMs ?? 180_000, maxLifetimeMs: options.transactionMaxLifetimeMs ?? 86_400_000 });
  const executor = new Executor({ statementTimeoutMs: options.statementTimeoutMs ?? 45_000, maxFormattedBytes: 10 * 1000 * 1000 });
  const maxRowBytes = options.maxRowBytes ?? 64 * 1024;
  const maxResponseBytes = options.maxResponseBytes ?? MiB;
  const maxRequestBytes = options.maxRequestBytes ?? 4 * MiB;
  const log = options.log ?? (() => undefined);
  let resumingUntil = 0;

  const gate = () => {
    if (Date.now() < resumingUntil) throw resuming();
  };

  /** Runs `work` on the call's transaction, or on a connection of its own. */
  async function withSession<T>(secretArn: string, database: string | undefined, transactionId: string | undefined, work: (s: Session) => Promise<T>): Promise<T> {
    if (transactionId !== undefined) {
      await connections.login(secretArn);
      return transactions.use(transactionId, work);
    }
    const session = await connections.connect(secretArn, database);
    let broken = false;
    try {
      return await work(session);
    } catch (err) {
      broken = connectionLost(err);
      throw err;
    } finally {
      void release(session, broken);
    }
  }

  /**
   * Returns a call's connection to its pool once it is free: after a statement the call
   * stopped waiting for, and out of any transaction the SQL itself opened (a `BEGIN` sent
   * through ExecuteStatement must not leak into the next call on that connection).
   */
  async function release(session: Session, broken: boolean): Promise<void> {
    await session.pending;
    if (!broken && session.client.getTransactionStatus() !== 'I') {
      await session.client.query('ROLLBACK').catch(() => (broken = true));
    }
    session.release(broken);
  }

  const resultSetOptions = (checks: Checks, body: Json) => {
    const o = checks.object(body, 'resultSetOptions') ?? {};
    const decimal = checks.string(o, 'decimalReturnType', { oneOf: ['STRING', 'DOUBLE_OR_LONG'], at: 'resultSetOptions.decimalReturnType' });
    const long = checks.string(o, 'longReturnType', { oneOf: ['STRING', 'LONG'], at: 'resultSetOptions.longReturnType' });
    return { decimalAsNumber: decimal === 'DOUBLE_OR_LONG', longAsString: long === 'STRING', maxRowBytes };
  };

  const operations: Record<string, Operation> = {
    async '/Execute'(body) {
      const checks = new Checks();
      const { secretArn } = checkCommon(checks, body);
      const sql = checks.string(body, 'sql', { required: true, max: 65536 });
      const transactionId = checks.string(body, 'transactionId', { max: 192 });
      const format = checks.string(body, 'formatRecordsAs', { oneOf: ['NONE', 'JSON'] });
      const options = resultSetOptions(checks, body);
      const includeResultMetadata = checks.boolean(body, 'includeResultMetadata');
      const continueAfterTimeout = checks.boolean(body, 'continueAfterTimeout');
      checks.done();
      const parameters = bindParameters(body.parameters, 'parameters');
      executor.check(sql!);
      gate();
      const statement = { sql: sql!, parameters, includeResultMetadata, formatJson: format === 'JSON', continueAfterTimeout, options };
      const payload = await withSession(secretArn, body.database as string | undefined, transactionId, (s) => executor.execute(s, statement));
      // data-api.troubleshooting, "Database response exceeded size limit" (1 MiB);
      // an UnsupportedResultException, as the SDK's model describes it ("The size was too large").
      if (!statement.formatJson && Buffer.byteLength(JSON.stringify(payload)) > maxResponseBytes) {
        throw unsupportedResult('Database response exceeded size limit');
      }
      return payload;
    },

    async '/BatchExecute'(body) {
      const checks = new Checks();
      const { secretArn } = checkCommon(checks, body);
      const sql = checks.string(body, 'sql', { required: true, max: 65536 });
      const transactionId = checks.string(body, 'transactionId', { max: 192 });
      checks.done();
      const raw = body.parameterSets ?? [];
      if (!Array.isArray(raw)) throw serialization("Unexpected value type for 'parameterSets': expected a list");
      const sets = raw.map((set, i) => bindParameters(set, `parameterSets.${i + 1}.member`));
      executor.check(sql!);
      gate();
      return withSession(secretArn, body.database as string | undefined, transactionId, async (s) => {
        if (transactionId !== undefined) return executor.batch(s, sql!, sets);
        // Outside a transaction the batch commits as one (API reference: "changes that
        // result from the call are committed automatically"): all sets or none.
        await s.client.query('BEGIN');
        try {
          const out = await executor.batch(s, sql!, sets);
          await s.client.query('COMMIT');
          return out;
        } catch (err) {
          await s.client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    },

    async '/BeginTransaction'(body) {
      const checks = new Checks();
      const { secretArn } = checkCommon(checks, body);
      checks.done();
      gate();
      const session = await connections.connect(secretArn, body.database as string | undefined);
      return { transactionId: await transactions.begin(session) };
    },

    // Statuses as the API's examples show them (data-api-calling-cli).
    async '/CommitTransaction'(body) {
      const id = await endTransaction(body);
      await transactions.end(id, 'COMMIT');
      return { transactionStatus: 'Transaction Committed' };
    },

    async '/RollbackTransaction'(body) {
      const id = await endTransaction(body);
      await transactions.end(id, 'ROLLBACK');
      return { transactionStatus: 'Rollback Complete' };
    },

    // Deprecated and refused (aws/aws-cli issue 4086 quotes the service's answer).
    async '/ExecuteSql'() {
      throw new DataApiError('BadRequestException', 400, 'This API is deprecated and not available. Use ExecuteStatement API instead');
    },
  };

  async function endTransaction(body: Json): Promise<string> {
    const checks = new Checks();
    checks.string(body, 'resourceArn', { required: true, min: 11, max: 100 });
    const secretArn = checks.string(body, 'secretArn', { required: true, min: 11, max: 100 });
    const id = checks.string(body, 'transactionId', { required: true, max: 192 });
    checks.done();
    gate();
    await connections.login(secretArn!);
    return id!;
  }

  async function answer(method: string | undefined, path: string, raw: Buffer): Promise<WireResponse> {
    const operation = method === 'POST' ? operations[path] : undefined;
    if (!operation) return errorResponse(unknownOperation());
    try {
      let body: unknown;
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      } catch {
        throw serialization('The request body is not valid JSON');
      }
      if (!isObject(body)) throw serialization('The request body must be a JSON object');
      return jsonResponse(200, await operation(body));
    } catch (err) {
      const known = err instanceof DataApiError ? err : internalError();
      log(`${path.slice(1)} failed: ${known.type}`);
      return errorResponse(known);
    }
  }

  const server = http.createServer((req, res) => {
    const send = (out: WireResponse, close = false) => {
      if (res.headersSent) return;
      res.writeHead(out.status, { ...out.headers, 'content-length': Buffer.byteLength(out.body), ...(close ? { connection: 'close' } : {}) });
      res.end(out.body);
    };
    // The 4 MiB limit counts headers and body alike.
    let size = req.rawHeaders.reduce((n, h) => n + Buffer.byteLength(h) + 2, 0);
    const chunks: Buffer[] = [];
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxRequestBytes) {
        refused = true;
        chunks.length = 0;
        send(errorResponse(requestTooLarge(maxRequestBytes)), true);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const path = new URL(req.url ?? '/', 'http://local').pathname;
      answer(req.method, path, Buffer.concat(chunks)).then(send, () => send(errorResponse(internalError())));
    });
    req.on('error', () => res.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    resumeDelay(ms: number) {
      resumingUntil = Date.now() + ms;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      transactions.closeAll();
      await connections.end();
    },
  };
}
