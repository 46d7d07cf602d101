import { z } from 'zod';
import * as datasets from '../../core/datasets.js';
import { ValidationError } from '../../core/errors.js';
import { Dataset, DatasetCreate, DatasetGetQuery, DatasetLookupQuery, DatasetPatch, DatasetRowsAppend, DatasetRowsPage, DatasetRowsQuery, DatasetUploadQuery, IdParam } from '../../core/schemas.js';
import type { Route } from './http.js';

/** Media types of row uploads besides a JSON body with `df`. */
const TEXT_BODIES = ['text/csv', 'application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'] as const;
const formatOf = (contentType: string) => (contentType === 'text/csv' ? 'csv' : 'jsonl');

/** Media types a Parquet upload may come as (Evalap's notebook sends application/octet-stream). */
export const PARQUET_BODIES = ['application/octet-stream', 'application/vnd.apache.parquet', 'application/x-parquet'] as const;

const uploadParquet: Route = {
  method: 'POST',
  path: '/v1/dataset/{id}/upload_parquet',
  summary: 'Upload a Parquet file (the raw bytes) as the dataset\'s Parquet rows, as Evalap does; a with_vision experiment reads them and sends their `img` column to the model. At most the API\'s body limit (6 MB)',
  params: IdParam,
  binaryBodies: PARQUET_BODIES,
  response: Dataset,
  run: async ({ core, params, bytes }) => ({ body: await datasets.uploadParquet(core, params.id, bytes) }),
};

/** The metadata of a CSV or JSONL upload; absent with a JSON body. */
const OptionalUploadQuery = z.union([DatasetUploadQuery, z.object({}).strict()]);

export const datasetRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/dataset',
    summary: 'Create a dataset from a JSON body with `df`, or from a CSV or JSONL body with the metadata in the query string',
    query: OptionalUploadQuery,
    body: DatasetCreate,
    textBodies: TEXT_BODIES,
    response: Dataset,
    async run({ core, body, query, rawBody, contentType }) {
      if (body) {
        const { df, ...meta } = body as DatasetCreate;
        if (Object.keys(query).length) throw new ValidationError('invalid query', [{ path: 'query', message: 'with a JSON body, send the metadata in the body' }]);
        return { body: await datasets.createDataset(core, meta, datasets.parseUpload('df', df)) };
      }
      if (!('name' in query)) throw new ValidationError('invalid query', [{ path: 'query.name', message: 'a CSV or JSONL upload needs ?name=...' }]);
      return { body: await datasets.createDataset(core, query, datasets.parseUpload(formatOf(contentType), rawBody)) };
    },
  },
  {
    method: 'POST',
    path: '/v1/dataset/{id}/rows',
    summary: 'Append rows to a dataset not yet used by an experiment (chunked upload of large datasets)',
    params: IdParam,
    body: DatasetRowsAppend,
    textBodies: TEXT_BODIES,
    response: Dataset,
    async run({ core, params, body, rawBody, contentType }) {
      const frame = body ? datasets.parseUpload('df', body.df) : datasets.parseUpload(formatOf(contentType), rawBody);
      return { body: await datasets.appendDatasetRows(core, params.id, frame) };
    },
  },
  uploadParquet,
  {
    method: 'GET',
    path: '/v1/datasets',
    summary: 'List datasets',
    response: z.array(Dataset),
    run: async ({ core }) => ({ body: await datasets.listDatasets(core) }),
  },
  {
    method: 'GET',
    path: '/v1/dataset',
    summary: 'Find a dataset by ?name= or by ?id=, as Evalap does',
    query: DatasetLookupQuery,
    response: Dataset,
    tooLarge: 'read the rows page by page with GET /v1/dataset/{id}/rows',
    run: async ({ core, query }) => ({
      body: query.id !== undefined ? await datasets.getDataset(core, query.id, query.with_df) : await datasets.getDatasetByName(core, query.name!, query.with_df),
    }),
  },
  {
    method: 'GET',
    path: '/v1/dataset/{id}',
    summary: 'Get a dataset; with_df=true adds its rows as a JSON records string (up to the response limit; beyond it, page with GET /v1/dataset/{id}/rows)',
    params: IdParam,
    query: DatasetGetQuery,
    response: Dataset,
    tooLarge: 'read the rows page by page with GET /v1/dataset/{id}/rows',
    run: async ({ core, params, query }) => ({ body: await datasets.getDataset(core, params.id, query.with_df) }),
  },
  {
    method: 'GET',
    path: '/v1/dataset/{id}/rows',
    summary: 'One page of a dataset\'s rows, in row order; next_cursor reads the next',
    params: IdParam,
    query: DatasetRowsQuery,
    response: DatasetRowsPage,
    run: async ({ core, params, query }) => ({ body: await datasets.listDatasetRows(core, params.id, query) }),
  },
  {
    method: 'PATCH',
    path: '/v1/dataset/{id}',
    summary: 'Change a dataset\'s metadata (its rows never change once experiments use them)',
    params: IdParam,
    body: DatasetPatch,
    response: Dataset,
    run: async ({ core, params, body }) => ({ body: await datasets.patchDataset(core, params.id, body) }),
  },
  {
    method: 'DELETE',
    path: '/v1/dataset/{id}',
    summary: 'Delete a dataset no experiment uses (admin)',
    params: IdParam,
    async run({ core, params }) {
      await datasets.deleteDataset(core, params.id);
      return { body: { id: params.id, deleted: true } };
    },
  },
];
