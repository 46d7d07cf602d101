/** Dataset files referenced by path in a run file: CSV, JSONL, JSON (records or any pandas orient) or Parquet. */
import fs from 'node:fs';
import path from 'node:path';
import { parseCsv, parseDataFrameJson, parseJsonl, type ParsedFrame } from '../core/dataframe.js';
import { CoreError } from '../core/errors.js';
import { readParquet } from '../core/parquet.js';
import { CliError, ExitCode } from './errors.js';

export async function readDatasetFile(file: string): Promise<ParsedFrame> {
  if (!fs.existsSync(file)) throw new CliError(`dataset file not found: ${file}`, ExitCode.usage);
  const ext = path.extname(file).toLowerCase();
  try {
    if (ext === '.parquet') return await readParquet(fs.readFileSync(file));
    const text = fs.readFileSync(file, 'utf8');
    if (ext === '.csv') return parseCsv(text);
    if (ext === '.jsonl' || ext === '.ndjson') return parseJsonl(text);
    if (ext === '.json') return parseDataFrameJson(text);
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (err instanceof CoreError) throw new CliError(`${file}: ${[err.message, ...err.issues.map((i) => i.message)].join(': ')}`, ExitCode.usage);
    throw new CliError(`${file}: cannot be read: ${(err as Error).message}`, ExitCode.usage);
  }
  throw new CliError(`${file}: unknown dataset format ${JSON.stringify(ext)}; use .csv, .jsonl, .json or .parquet`, ExitCode.usage);
}
