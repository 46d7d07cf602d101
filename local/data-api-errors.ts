/**
 * The local Data API's one error type, and how it goes on the wire.
 *
 * restJson1 errors: the HTTP status of the modelled shape, the shape's name in
 * `x-amzn-ErrorType` and `{ "message": ... }` as the body; that is what the SDK
 * reads to pick the exception class (node_modules/@aws-sdk/client-rds-data/
 * dist-es/schemas/schemas_0.js lists every shape with its status). Shapes the
 * SDK does not model (ValidationException, SerializationException,
 * UnknownOperationException) reach the caller as an RDSDataServiceException
 * whose `name` is that type, as they would from AWS.
 */
import { randomUUID } from 'node:crypto';

export class DataApiError extends Error {
  /** Some shapes (DatabaseUnavailableException, InternalServerErrorException) have no message member. */
  readonly hasMessage: boolean;

  constructor(
    readonly type: string,
    readonly status: number,
    message: string | undefined,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message ?? '');
    this.hasMessage = message !== undefined;
  }
}

/** Request shape errors: AWS's own validation wording ("1 validation error detected: ..."). */
export const validation = (problems: string[]): DataApiError =>
  new DataApiError('ValidationException', 400, `${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}`);

/** A request the service refuses for what it asks, not for its shape. */
export const refused = (message: string): DataApiError => new DataApiError('ValidationException', 400, message);

/** A body that is not the JSON the operation takes. */
export const serialization = (message: string): DataApiError => new DataApiError('SerializationException', 400, message);

export const unknownOperation = (): DataApiError => new DataApiError('UnknownOperationException', 404, undefined);

/**
 * The documented 4 MiB request limit (API reference, BatchExecuteStatement: "the
 * Data API returns an error and doesn't process the request"). Which error it
 * returns is not documented; 413 is what an AWS front end answers to a body too large.
 */
export const requestTooLarge = (limit: number): DataApiError =>
  new DataApiError('RequestEntityTooLargeException', 413, `Request must be smaller than ${limit} bytes`);

/** SQL and connection errors: Aurora Serverless v2 / provisioned answer DatabaseErrorException. */
export const databaseError = (message: string): DataApiError => new DataApiError('DatabaseErrorException', 400, message);

/**
 * The API reference says BadRequestException "only appears in calls from Aurora Serverless v1";
 * the one v2 case documented with it is the JSON records' size limit (data-api-json).
 */
export const badRequest = (message: string): DataApiError => new DataApiError('BadRequestException', 400, message);

export const unsupportedResult = (message: string): DataApiError => new DataApiError('UnsupportedResultException', 400, message);

/**
 * The troubleshooting guide (data-api.troubleshooting, "Transaction <transaction_ID>
 * isn't found") says the cause is appended to that message; its three causes are these.
 */
export const TRANSACTION_CAUSES = {
  expired: 'Transaction may be expired.',
  ended: 'One previous call resulted in a termination of your transaction.',
  aborted: 'Transaction has been aborted due to an error from a previous call.',
} as const;
export type TransactionCause = keyof typeof TRANSACTION_CAUSES;

export const transactionNotFound = (id: string, cause: TransactionCause): DataApiError =>
  new DataApiError('TransactionNotFoundException', 404, `Transaction ${id} isn't found. ${TRANSACTION_CAUSES[cause]}`);

/** Troubleshooting guide: "DatabaseErrorException: Transaction is still running a query". */
export const transactionBusy = (): DataApiError => databaseError('Transaction is still running a query');

/** Message as clients match it ("is resuming after being auto-paused", e.g. jeremydaly/data-api-client src/retry.ts). */
export const resuming = (): DataApiError =>
  new DataApiError('DatabaseResumingException', 400, 'The Aurora DB instance db-LOCALDATAAPI is resuming after being auto-paused. Please wait a few seconds and try again.');

/** The message aws/aws-sdk-js issue 3385 reports for a call that ran out of time. */
export const statementTimeout = (connectionId: number | undefined): DataApiError =>
  new DataApiError('StatementTimeoutException', 400, 'Request timed out', connectionId === undefined ? {} : { dbConnectionId: connectionId });

export const secretsError = (message: string): DataApiError => new DataApiError('SecretsErrorException', 400, message);

/** Modelled without a message member. */
export const databaseUnavailable = (): DataApiError => new DataApiError('DatabaseUnavailableException', 504, undefined);
export const internalError = (): DataApiError => new DataApiError('InternalServerErrorException', 500, undefined);

interface PgError {
  code?: unknown;
  message?: unknown;
  hint?: unknown;
  position?: unknown;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * A PostgreSQL error as the v2 Data API flattens it:
 * `ERROR: <message>[; Hint: <hint>][; Position: <n>]; SQLState: <code>`.
 * Shapes captured from the service: "ERROR: relation \"x\" does not exist; Position: 28;
 * SQLState: 42P01" (cloud-utils/sqlalchemy-aurora-data-api issue 47), a foreign key
 * violation with no Detail (cloud-utils/aurora-data-api issue 53), `database "u" does
 * not exist; SQLState: 3D000` for a connection-time (FATAL) error reported as ERROR
 * (aws/aws-cli issue 8577), and "operator does not exist: integer = text; Hint: No operator
 * matches ...; Position: 36; SQLState: 42883" among the strings a pgwire-to-Data-API proxy's
 * tests quote as "captured from the live service". Detail and Where are never included
 * (none of those captures has them, though PostgreSQL sends a Detail with every one of those
 * constraint violations): they would carry row values.
 * `mapPosition` turns a position in the SQL sent to PostgreSQL into one in the caller's SQL.
 */
export function fromPostgres(err: unknown, mapPosition: (p: number) => number = (p) => p): DataApiError {
  const e = (err ?? {}) as PgError;
  if (typeof e.code !== 'string' || !SQLSTATE.test(e.code)) return databaseUnavailable();
  let text = `ERROR: ${String(e.message ?? '')}`;
  if (typeof e.hint === 'string' && e.hint) text += `; Hint: ${e.hint}`;
  const position = Number(e.position);
  if (Number.isInteger(position) && position > 0) text += `; Position: ${mapPosition(position)}`;
  return databaseError(`${text}; SQLState: ${e.code}`);
}

/** Errors after which the connection is gone (class 08 connection exceptions, 57P operator intervention). */
export const connectionLost = (err: unknown): boolean =>
  err instanceof DataApiError &&
  (err.type === 'DatabaseUnavailableException' || (err.type === 'DatabaseErrorException' && /SQLState: (08|57P)[0-9A-Z]+$/.test(err.message)));

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function jsonResponse(status: number, payload: unknown, headers: Record<string, string> = {}): WireResponse {
  const body = JSON.stringify(payload);
  return { status, headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers }, body };
}

export function errorResponse(err: DataApiError): WireResponse {
  const payload = err.hasMessage ? { message: err.message, ...err.extra } : { ...err.extra };
  return jsonResponse(err.status, payload, { 'x-amzn-errortype': err.type });
}
