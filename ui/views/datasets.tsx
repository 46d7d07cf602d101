/**
 * Datasets: the list with size and columns; a preview of the first rows of
 * one (GET /v1/dataset/{id}/rows: one page, whatever its size); and uploads: a CSV or JSONL file
 * creates a dataset, a Parquet file is attached to one (Evalap's
 * upload_parquet, which with_vision experiments read).
 */
import { useState } from 'preact/hooks';
import { request } from '../api';
import { Empty, ErrorNote, Loading } from '../components/feedback';
import { text, when } from '../format';
import { useQueryParams } from '../hash-location';
import type { Dataset } from '../types';
import { useApi } from '../use-api';

const PREVIEW_ROWS = 20;

interface DatasetRowsPage {
  total: number;
  rows: { num_line: number; data: Record<string, unknown> }[];
}

function Preview({ dataset }: { dataset: Dataset }) {
  // One page of the paginated route, whatever the dataset's size (with_df would exceed a response's limit on a large one).
  const page = useApi<DatasetRowsPage>(`/v1/dataset/${dataset.id}/rows?limit=${PREVIEW_ROWS}`);
  const rows = page.data?.rows.map((r) => r.data) ?? [];
  const columns = dataset.columns;
  return (
    <section aria-label={`Preview of ${dataset.name}`}>
      <h2>{dataset.name}</h2>
      {dataset.readme && <p>{dataset.readme}</p>}
      <p class="muted">
        {dataset.size.toLocaleString('en')} rows · columns: {columns.join(', ')}
        {dataset.parquet_size > 0 && ` · Parquet: ${dataset.parquet_size} rows (${dataset.parquet_columns.join(', ')})`}
      </p>
      {page.error && <ErrorNote error={page.error} />}
      {!page.data && !page.error && <Loading what="Loading the first rows" />}
      {rows.length > 0 && (
        <div class="preview" tabIndex={0} role="region" aria-label={`First rows of ${dataset.name}`}>
          <table class="grid" data-testid="dataset-preview">
            <caption class="muted">
              The first {rows.length} of {dataset.size.toLocaleString('en')} rows
            </caption>
            <thead>
              <tr>
                {columns.map((c) => (
                  <th scope="col" key={c}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, PREVIEW_ROWS).map((r, i) => (
                <tr key={i}>
                  {columns.map((c) => (
                    <td key={c}>{text(r[c])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const kindOf = (file: File) => {
  const name = file.name.toLowerCase();
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  return 'csv';
};

function Upload({ datasets, onDone }: { datasets: Dataset[]; onDone: (d: Dataset) => void }) {
  const [file, setFile] = useState<File>();
  const [name, setName] = useState('');
  const [target, setTarget] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  const kind = file ? kindOf(file) : undefined;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setMessage(undefined);
    try {
      let d: Dataset;
      if (kind === 'parquet') {
        d = await request<Dataset>('POST', `/v1/dataset/${target}/upload_parquet`, undefined, { raw: { body: file, contentType: 'application/vnd.apache.parquet' } });
      } else {
        const q = new URLSearchParams({ name: name || file.name.replace(/\.[^.]+$/, '') });
        d = await request<Dataset>('POST', `/v1/dataset?${q}`, undefined, { raw: { body: await file.text(), contentType: kind === 'jsonl' ? 'application/x-ndjson' : 'text/csv' } });
      }
      setMessage({ ok: true, text: kind === 'parquet' ? `Parquet file attached to ${d.name} (${d.parquet_size} rows)` : `Uploaded: ${d.name} (${d.size} rows)` });
      onDone(d);
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} class="upload" aria-label="Upload a dataset">
      <h2>Upload</h2>
      <div class="form-grid">
        <label for="upload-file">File (CSV, JSONL or Parquet)</label>
        <input id="upload-file" type="file" accept=".csv,.jsonl,.ndjson,.parquet" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0])} />
        {kind !== 'parquet' && (
          <>
            <label for="upload-name">Dataset name</label>
            <input id="upload-name" value={name} placeholder={file?.name.replace(/\.[^.]+$/, '') ?? 'my-dataset'} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </>
        )}
        {kind === 'parquet' && (
          <>
            <label for="upload-target">Attach to dataset</label>
            <select id="upload-target" value={target} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}>
              <option value="">choose</option>
              {datasets.map((d) => (
                <option key={d.id} value={String(d.id)}>
                  {d.name}
                </option>
              ))}
            </select>
          </>
        )}
      </div>
      <p>
        <button type="submit" disabled={busy || !file || (kind === 'parquet' && !target)}>
          Upload
        </button>
      </p>
      {message && (
        <p class={message.ok ? 'notice' : 'error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      )}
    </form>
  );
}

export function DatasetsView() {
  const [params, setParams] = useQueryParams();
  const list = useApi<Dataset[]>('/v1/datasets');
  const selected = list.data?.find((d) => String(d.id) === params.get('id'));
  return (
    <section>
      <h1>Datasets</h1>
      {list.error && <ErrorNote error={list.error} />}
      {!list.data && !list.error && <Loading />}
      {list.data && list.data.length === 0 && <Empty>No dataset yet: upload one below.</Empty>}
      {list.data && list.data.length > 0 && (
        <table class="grid" data-testid="datasets-table">
          <thead>
            <tr>
              <th scope="col">Dataset</th>
              <th scope="col">Rows</th>
              <th scope="col">Columns</th>
              <th scope="col">Default metric</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((d) => (
              <tr key={d.id}>
                <td>
                  <a href={`#/datasets?id=${d.id}`} aria-current={selected?.id === d.id ? 'true' : undefined}>
                    {d.name}
                  </a>
                </td>
                <td class="num">{d.size.toLocaleString('en')}</td>
                <td>{d.columns.join(', ')}</td>
                <td>{d.default_metric ?? '—'}</td>
                <td>{when(d.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && <Preview dataset={selected} />}
      <Upload
        datasets={list.data ?? []}
        onDone={(d) => {
          list.reload();
          setParams({ id: String(d.id) });
        }}
      />
    </section>
  );
}
