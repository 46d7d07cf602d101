/** Dataset operations behind the API: parse uploads, store rows, guard deletes. */
import type { Core } from './context.js';
import { parseCsv, parseDataFrameJson, parseJsonl, type ParsedFrame } from './dataframe.js';
import { NotFoundError, ValidationError } from './errors.js';
import { getMetric } from './metrics/registry.js';
import { findUnstorable } from './storable.js';
import type { DatasetCreate, DatasetPatch } from './schemas.js';
import * as store from './store/datasets.js';

/** Upload formats a dataset body may come in. */
export type UploadFormat = 'df' | 'jsonl' | 'csv';

export function parseUpload(format: UploadFormat, text: string): ParsedFrame {
  const frame = format === 'csv' ? parseCsv(text) : format === 'jsonl' ? parseJsonl(text) : parseDataFrameJson(text);
  const issue = findUnstorable(frame.rows, 'rows');
  if (issue) throw new ValidationError('invalid dataset rows', [issue]);
  return frame;
}

function checkMetadata(d: { default_metric?: string | null; columns_map?: Record<string, string> | null }, columns?: string[]) {
  if (d.default_metric && !getMetric(d.default_metric)) {
    throw new ValidationError('invalid dataset', [{ path: 'default_metric', message: `unknown metric ${JSON.stringify(d.default_metric)}; GET /v1/metrics lists them` }]);
  }
  if (d.columns_map && columns) {
    const missing = Object.entries(d.columns_map).filter(([, col]) => !columns.includes(col));
    if (missing.length) {
      throw new ValidationError('invalid dataset', missing.map(([field, col]) => ({ path: `columns_map.${field}`, message: `the dataset has no column ${JSON.stringify(col)}` })));
    }
  }
}

export type DatasetMetadata = Omit<DatasetCreate, 'df'>;

export async function createDataset(core: Core, meta: DatasetMetadata, frame: ParsedFrame) {
  checkMetadata(meta, frame.columns);
  return core.db.transaction((client) => store.insertDataset(client, meta, frame.columns, frame.rows));
}

export async function appendDatasetRows(core: Core, id: number, frame: ParsedFrame) {
  return core.db.transaction((client) => store.appendRows(client, id, frame.columns, frame.rows));
}

export async function getDataset(core: Core, id: number, withDf: boolean) {
  const d = await store.getDataset(core.db, id);
  return withDf ? { ...d, df: await store.datasetRecordsJson(core.db, id) } : d;
}

export async function getDatasetByName(core: Core, name: string, withDf: boolean) {
  const d = await store.findDatasetByName(core.db, name);
  if (!d) throw new NotFoundError('dataset', name);
  return withDf ? { ...d, df: await store.datasetRecordsJson(core.db, d.id) } : d;
}

export const listDatasets = (core: Core) => store.listDatasets(core.db);

export async function patchDataset(core: Core, id: number, patch: DatasetPatch) {
  const current = await store.getDataset(core.db, id);
  checkMetadata(patch, current.columns);
  return store.patchDataset(core.db, id, patch);
}

export const deleteDataset = (core: Core, id: number) => core.db.transaction((client) => store.deleteDataset(client, id));
