/** Dataset files referenced by path in a run file: CSV, JSONL, JSON (records or any pandas orient) or Parquet. */
import fs from 'node:fs';
import path from 'node:path';
import { parseCsv, parseDataFrameJson, parseJsonl, type ParsedFrame } from '../core/dataframe.js';
import { CoreError } from '../core/errors.js';
import { CliError, ExitCode } from './errors.js';

async function readParquet(file: string): Promise<ParsedFrame> {
  const { parquetReadObjects } = await import('hyparquet');
  const buf = fs.readFileSync(file);
  const arrayBuffer = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const rows = (await parquetReadObjects({ file: arrayBuffer as ArrayBuffer })) as Record<string, unknown>[];
  // Parquet integers may come back as BigInt, which JSON cannot carry.
  const plain = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  const columns = [...new Set(plain.flatMap((r) => Object.keys(r)))];
  if (!plain.length) throw new CliError(`${file}: the Parquet file has no rows`, ExitCode.usage);
  return { columns, rows: plain };
}

export async function readDatasetFile(file: string): Promise<ParsedFrame> {
  if (!fs.existsSync(file)) throw new CliError(`dataset file not found: ${file}`, ExitCode.usage);
  const ext = path.extname(file).toLowerCase();
  try {
    if (ext === '.parquet') return await readParquet(file);
    const text = fs.readFileSync(file, 'utf8');
    if (ext === '.csv') return parseCsv(text);
    if (ext === '.jsonl' || ext === '.ndjson') return parseJsonl(text);
    if (ext === '.json') return parseDataFrameJson(text);
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (err instanceof CoreError) throw new CliError(`${file}: ${err.message}`, ExitCode.usage);
    throw new CliError(`${file}: cannot be read: ${(err as Error).message}`, ExitCode.usage);
  }
  throw new CliError(`${file}: unknown dataset format ${JSON.stringify(ext)}; use .csv, .jsonl, .json or .parquet`, ExitCode.usage);
}
