/**
 * A run file's dataset against the API's dataset of the same name: uploaded
 * when missing, kept when the same, and never silently kept when the file
 * changed since it was uploaded.
 *
 * How "changed" is decided: the API's size and columns first (free), then
 * the rows themselves, read back with `with_df=true` and compared by a hash
 * of their values as text. The API stores no hash of its own (a hash in the
 * readme would show in every UI and could be edited away), and reading the
 * rows back also catches a dataset changed by someone else through the API.
 * Where the API refuses to send the rows (beyond its response size limit),
 * size and columns are all that is compared, and the run says so.
 */
import { createHash } from 'node:crypto';
import type { ParsedFrame } from '../core/dataframe.js';
import type { ApiClient } from './client.js';
import { CliError, ExitCode } from './errors.js';
import type { DatasetRef } from './spec.js';

/** Rows per upload request: well below the API's 6 MB body limit for typical rows. */
const CHUNK_ROWS = 5000;

/** Creates a dataset from parsed rows, in chunks: the first with the metadata, the rest appended. Returns its id. */
export async function uploadDataset(api: ApiClient, meta: Omit<DatasetRef, 'file'>, frame: ParsedFrame): Promise<number> {
  const created = await api.post('/v1/dataset', { readme: '', ...meta, df: JSON.stringify(frame.rows.slice(0, CHUNK_ROWS)) });
  for (let i = CHUNK_ROWS; i < frame.rows.length; i += CHUNK_ROWS) {
    await api.post(`/v1/dataset/${created.id}/rows`, { df: JSON.stringify(frame.rows.slice(i, i + CHUNK_ROWS)) });
  }
  return created.id;
}

/** JSON with object keys sorted: the database may give a cell's object back with its keys reordered (jsonb). */
const canonical = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map(canonical).join(',')}]` : v && typeof v === 'object' ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}` : JSON.stringify(v ?? null);

/** Values as text, so a CSV's "1" and the API's "1" (or 1) hash alike. */
const asText = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? canonical(v) : String(v));

export function rowsHash(columns: string[], rows: Record<string, unknown>[]): string {
  const h = createHash('sha256');
  for (const row of rows) h.update(JSON.stringify(columns.map((c) => asText(row[c]))) + '\n');
  return h.digest('hex');
}

async function findDataset(api: ApiClient, name: string): Promise<any | undefined> {
  try {
    return await api.get(`/v1/dataset?name=${encodeURIComponent(name)}`);
  } catch (err) {
    if (err instanceof CliError && err.status === 404) return undefined;
    throw err;
  }
}

/** How the API's dataset differs from the file; undefined when it does not (or, when its rows are too large to read back, as far as can be told). */
async function difference(api: ApiClient, existing: any, frame: ParsedFrame, say: (l: string) => void): Promise<string | undefined> {
  if (existing.size !== frame.rows.length) return `${existing.size} rows on the API, ${frame.rows.length} in the file`;
  const [had, has] = [[...existing.columns].sort(), [...frame.columns].sort()];
  if (had.join('\n') !== has.join('\n')) return `columns ${had.join(', ')} on the API, ${has.join(', ')} in the file`;
  let df: string;
  try {
    df = (await api.get(`/v1/dataset/${existing.id}?with_df=true`)).df ?? '[]';
  } catch (err) {
    if (err instanceof CliError && err.status === 413) {
      say(`dataset ${existing.name}: too large to read back, so only its size and columns were compared with the file (they match)`);
      return undefined;
    }
    throw err;
  }
  const columns = [...frame.columns].sort();
  if (rowsHash(columns, JSON.parse(df)) !== rowsHash(columns, frame.rows)) return 'same size and columns, different values';
  return undefined;
}

/** Makes the API's dataset `ref.name` hold the file's rows, or says why it will not. */
export async function ensureDataset(api: ApiClient, ref: DatasetRef, frame: () => Promise<ParsedFrame>, o: { replace: boolean; say: (l: string) => void }): Promise<void> {
  const { file, ...meta } = ref;
  const existing = await findDataset(api, ref.name);
  const rows = await frame();
  if (existing) {
    const change = await difference(api, existing, rows, o.say);
    if (!change) {
      o.say(`dataset ${ref.name}: already on the API with the same ${existing.size} rows as ${file}, not uploaded again`);
      return;
    }
    if (!o.replace) {
      throw new CliError(`dataset ${ref.name} on the API is not the one in ${file} (${change}): run again with --replace to delete it and upload the file, or give the changed file a new dataset name in the run file (e.g. ${ref.name}-v2)`, ExitCode.usage);
    }
    try {
      await api.delete(`/v1/dataset/${existing.id}`);
    } catch (err) {
      if (err instanceof CliError && err.status === 409) {
        throw new CliError(`--replace: dataset ${ref.name} cannot be replaced, experiments use it (their results were computed on it); give the changed file a new dataset name in the run file (e.g. ${ref.name}-v2)`, ExitCode.usage);
      }
      throw err;
    }
    o.say(`dataset ${ref.name}: replaced (${change})`);
  }
  await uploadDataset(api, meta, rows);
  o.say(`dataset ${ref.name}: uploaded ${rows.rows.length} rows from ${file}`);
}
