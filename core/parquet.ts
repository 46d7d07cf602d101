/**
 * Reads a Parquet file into JSON rows: the one way the project reads Parquet
 * (dataset uploads through the API, dataset files given to the CLI).
 */
import { ValidationError } from './errors.js';

export interface ParquetFrame {
  /** The file's top-level columns, in schema order (what Evalap reports as parquet_columns). */
  columns: string[];
  rows: Record<string, unknown>[];
}

const MAGIC = 'PAR1';

function hasMagic(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const text = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  return text(0) === MAGIC && text(bytes.length - 4) === MAGIC;
}

/**
 * Values JSON can carry: integers that fit a double as numbers (larger ones as
 * strings), binary as base64 (an image column holds its file's bytes), dates
 * as ISO strings; structs and lists recursively.
 */
function toJsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x)]));
  return v;
}

/** The rows of a Parquet file; anything that is not one is a ValidationError saying so. */
export async function readParquet(bytes: Uint8Array): Promise<ParquetFrame> {
  if (!bytes.length) throw new ValidationError('empty Parquet file', [{ path: 'body', message: 'the body is empty; send the Parquet file\'s bytes' }]);
  if (!hasMagic(bytes)) throw new ValidationError('not a Parquet file', [{ path: 'body', message: 'does not start and end with the Parquet magic bytes "PAR1"' }]);
  const { parquetMetadata, parquetReadObjects, parquetSchema } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let columns: string[];
  let raw: Record<string, unknown>[];
  let expected: number;
  try {
    const metadata = parquetMetadata(file);
    columns = parquetSchema(metadata).children.map((c) => c.element.name);
    // utf8: false keeps unannotated binary (image bytes) as bytes; columns annotated as strings still decode as text.
    raw = await parquetReadObjects({ file, metadata, compressors, utf8: false });
    expected = Number(metadata.num_rows);
  } catch (err) {
    throw new ValidationError('invalid Parquet file', [{ path: 'body', message: `cannot be read as Parquet: ${(err as Error).message}` }]);
  }
  if (raw.length !== expected) throw new ValidationError('invalid Parquet file', [{ path: 'body', message: `its footer announces ${expected} rows but ${raw.length} could be read` }]);
  if (!raw.length) throw new ValidationError('empty Parquet file', [{ path: 'body', message: 'the Parquet file has no rows' }]);
  return { columns, rows: raw.map((r) => toJsonValue(r) as Record<string, unknown>) };
}
