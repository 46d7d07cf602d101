/** Which database failures mean "the database cannot serve now" (a 503), for both backends. */
import { UnavailableError } from '../errors.js';

/** SQLSTATE classes and codes of a database that cannot serve now: connection exceptions, shutdowns, too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-4]|53300|53400|28P01|28000|3D000)$/;
/** Node and TLS failures on the way to the server. */
const UNAVAILABLE_NODE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_.*)$/;

/**
 * A failure to reach or log in to the database as an UnavailableError (503
 * with Retry-After, the cause logged, never shown); anything else (a SQL
 * error, a unique violation) unchanged.
 */
export function unavailable(err: unknown): unknown {
  const e = err as { code?: string; message?: string };
  const code = String(e?.code ?? '');
  const noConnection = /timeout (exceeded|expired) when trying to connect|Connection terminated|does not support SSL connections/i.test(e?.message ?? '');
  if (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE.test(code) || noConnection) return new UnavailableError('the database cannot be reached', 5, err);
  return err;
}
