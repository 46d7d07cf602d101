/**
 * Details: one line per dataset row of an experiment (query, expected
 * output, answer, reasoning, error, contexts, each metric's score and the
 * judge's explanation), in a virtualised table (TanStack Table for the
 * columns, TanStack Virtual for the rows) over pages fetched as the user
 * scrolls. Filter to failed rows, sort by a metric, search; choosing a row
 * shows it whole. The filters live in the URL.
 */
import { columnSizingFeature, createColumnHelper, tableFeatures, useTable, type ColumnDef } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ErrorNote, Loading } from '../components/feedback';
import { num, text } from '../format';
import { useQueryParams } from '../hash-location';
import { useRowsPages } from '../rows-pages';
import type { ToolStep } from '../../core/answer';
import type { ExperimentFailures, Row } from '../types';
import { useApi } from '../use-api';
import { experimentLabels, type Variant } from '../variant-labels';
import type { SetData } from './set';

// Column sizing gives each column its width (the rows are divs: the header and the cells must agree).
const features = tableFeatures({ columnSizingFeature });
const helper = createColumnHelper<typeof features, Row>();

const answerField = (r: Row, f: string) => (r.answer ? r.answer[f] : undefined);
const listText = (v: unknown) => (Array.isArray(v) ? v.map(text).join('\n— ') : text(v));

function columnsFor(metrics: string[], sortBy: (metric: string) => void): ColumnDef<typeof features, Row, any>[] {
  const base = [
    helper.accessor((r) => r.num_line, {
      id: 'num_line',
      header: '#',
      size: 56,
      // A button, so the row's drill-down is reachable by keyboard; its click reaches the row's handler.
      cell: (c) => (
        <button type="button" class="linkish" aria-label={`Show row ${c.getValue()} whole`}>
          {c.getValue()}
        </button>
      ),
    }),
    helper.accessor((r) => text(r.data.query), { id: 'query', header: 'Query', size: 220 }),
    helper.accessor((r) => text(r.data.output_true), { id: 'output_true', header: 'Expected output', size: 150 }),
    helper.accessor((r) => text(answerField(r, 'answer')), { id: 'answer', header: 'Answer', size: 220 }),
    helper.accessor((r) => text(answerField(r, 'think')), { id: 'think', header: 'Reasoning', size: 120 }),
    helper.accessor((r) => text(answerField(r, 'error_msg')), { id: 'error', header: 'Error', size: 150 }),
    helper.accessor((r) => listText(answerField(r, 'context') ?? r.data.context), { id: 'context', header: 'Context', size: 120 }),
    helper.accessor((r) => listText(answerField(r, 'retrieval_context') ?? r.data.retrieval_context), { id: 'retrieval_context', header: 'Retrieval context', size: 130 }),
  ];
  const perMetric = metrics.flatMap((m) => [
    helper.accessor((r) => r.observations[m]?.score ?? null, {
      id: `score:${m}`,
      header: () => (
        <button type="button" class="linkish" onClick={() => sortBy(m)} aria-label={`${m}: sort by it, worst first`}>
          {m}
        </button>
      ),
      // Wide enough for the metric's name: it is the header.
      size: Math.max(90, 9 * m.length + 24),
      cell: (c) => {
        const o = c.row.original.observations[m];
        if (!o) return <span class="muted">—</span>;
        if (o.error_msg) return <span class="error">failed</span>;
        return <span class="num">{num(o.score)}</span>;
      },
    }),
    helper.accessor((r) => (r.observations[m]?.error_msg ? r.observations[m].error_msg : text(r.observations[m]?.observation)), { id: `obs:${m}`, header: `${m}: explanation`, size: 200 }),
  ]);
  return [...base, ...perMetric] as ColumnDef<typeof features, Row, any>[];
}

const isFailed = (r: Row) => Boolean(r.answer?.error_msg) || Object.values(r.observations).some((o) => o.error_msg);

/** An agent's tool calls, turn by turn: what it called, with what, and what came back. */
function ToolSteps({ turns }: { turns: ToolStep[][] }) {
  return (
    <>
      <h3>Tool steps</h3>
      <ol class="tool-steps">
        {turns.map((calls, turn) => (
          <li key={turn}>
            <span class="muted small">turn {turn + 1}</span>
            {calls.map((c, i) => (
              <div key={i} class={c.is_error ? 'error' : undefined}>
                <code>
                  {c.tool_name}({c.tool_params})
                </code>
                {c.execution_time != null && <span class="muted small"> {num(c.execution_time, 2)} s</span>}
                {c.is_error && <span class="error"> failed</span>}
                <pre>{c.tool_result || '—'}</pre>
              </div>
            ))}
          </li>
        ))}
      </ol>
    </>
  );
}

function RowDetail({ row, onClose }: { row: Row; onClose: () => void }) {
  const { tool_steps: toolSteps, ...answer } = (row.answer ?? {}) as Record<string, unknown>;
  const fields: [string, unknown][] = [
    ...Object.entries(row.data),
    ...Object.entries(answer).map(([k, v]) => [`answer.${k}`, v] as [string, unknown]),
  ];
  return (
    <aside class="row-detail" aria-label={`Row ${row.num_line}`}>
      <header>
        <h2>Row {row.num_line}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </header>
      <dl>
        {fields.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>
              <pre>{Array.isArray(v) ? v.map(text).join('\n\n') : text(v) || '—'}</pre>
            </dd>
          </>
        ))}
      </dl>
      {Array.isArray(toolSteps) && toolSteps.length > 0 && <ToolSteps turns={toolSteps as ToolStep[][]} />}
      <h3>Scores</h3>
      <dl>
        {Object.entries(row.observations).map(([m, o]) => (
          <>
            <dt>{m}</dt>
            <dd>
              {o.error_msg ? <span class="error">{o.error_msg}</span> : <strong>{num(o.score)}</strong>}
              {o.observation != null && <pre>{text(o.observation)}</pre>}
              <span class="muted small">
                {o.num_try} tr{o.num_try === 1 ? 'y' : 'ies'}
                {o.execution_time != null && `, ${num(o.execution_time, 2)} s`}
              </span>
            </dd>
          </>
        ))}
      </dl>
    </aside>
  );
}

function WhyFailed({ id }: { id: number }) {
  const failures = useApi<ExperimentFailures>(`/v1/experiment/${id}/failures`);
  const f = failures.data;
  if (!f) return null;
  const groups = [{ name: 'answers', ...f.answers }, ...f.metrics.map((m) => ({ name: m.metric, ...m }))].filter((g) => g.failed > 0);
  if (groups.length === 0) return null;
  return (
    <details class="why" open>
      <summary>Why rows failed</summary>
      <ul>
        {groups.map((g) => (
          <li key={g.name}>
            <strong>{g.name}</strong>: {g.failed} row{g.failed === 1 ? '' : 's'}
            <ul>
              {g.kinds.map((k) => (
                <li key={k.example}>
                  <code>{k.example}</code> — {k.rows} row{k.rows === 1 ? '' : 's'} (first: row {k.first_num_line})
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </details>
  );
}

function RowsTable({ experimentId, metrics, query, onPick, onSort }: { experimentId: number; metrics: string[]; query: string; onPick: (r: Row) => void; onSort: (metric: string) => void }) {
  const rows = useRowsPages(experimentId, query);
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.total ?? 0,
    getScrollElement: () => scroller.current,
    estimateSize: () => 88,
    overscan: 8,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  useEffect(() => rows.want(first, last), [first, last, rows.total]);

  // The table models only the rows on screen: 100,000 rows never become 100,000 objects.
  const visible = items.map((it) => rows.rowAt(it.index)).filter((r): r is Row => r !== undefined);
  // The columns are made once per metric list; the sort handler is read through a ref, so they need not be remade for it.
  const sortRef = useRef(onSort);
  sortRef.current = onSort;
  const columns = useMemo(() => columnsFor(metrics, (m) => sortRef.current(m)), [metrics.join('\u0000')]);
  const table = useTable({ features, columns, data: visible });
  const byLine = new Map(table.getRowModel().rows.map((r) => [r.original.num_line, r]));
  const width = table.getTotalSize();

  if (rows.error) return <ErrorNote error={rows.error} />;
  if (rows.total === undefined) return <Loading what="Loading rows" />;
  return (
    <div>
      <p class="muted" role="status" data-testid="rows-total">
        {rows.total.toLocaleString('en')} row{rows.total === 1 ? '' : 's'}
      </p>
      <div class="rows-scroller" ref={scroller} tabIndex={0} role="region" aria-label="Rows of the experiment">
        <div role="table" aria-rowcount={rows.total + 1} class="rows-table" style={{ width: `${width}px` }}>
          <div role="rowgroup" class="rows-head">
            {table.getHeaderGroups().map((g) => (
              <div role="row" aria-rowindex={1} class="rows-row" key={g.id}>
                {g.headers.map((h) => (
                  <div role="columnheader" key={h.id} class="rows-cell" style={{ width: `${h.column.getSize()}px` }}>
                    <table.FlexRender header={h} />
                  </div>
                ))}
              </div>
            ))}
          </div>
          <div role="rowgroup" style={{ height: `${virtualizer.getTotalSize()}px`, position: 'relative' }}>
            {items.map((it) => {
              const data = rows.rowAt(it.index);
              const row = data && byLine.get(data.num_line);
              return (
                <div
                  role="row"
                  key={it.key}
                  data-index={it.index}
                  ref={virtualizer.measureElement}
                  aria-rowindex={it.index + 2}
                  class={`rows-row${data && isFailed(data) ? ' failed' : ''}`}
                  style={{ position: 'absolute', top: 0, left: 0, transform: `translateY(${it.start}px)` }}
                  onClick={() => data && onPick(data)}
                >
                  {row ? (
                    row.getAllCells().map((cell) => (
                      <div role="cell" key={cell.id} class="rows-cell" style={{ width: `${cell.column.getSize()}px` }}>
                        <table.FlexRender cell={cell} />
                      </div>
                    ))
                  ) : (
                    <div role="cell" class="rows-cell muted">
                      loading row {it.index + 1}…
                    </div>
                  )}
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}

export function DetailsTab({ data, variants }: { data: SetData; variants: Variant[] }) {
  const [params, setParams] = useQueryParams();
  const [picked, setPicked] = useState<Row>();
  const [search, setSearch] = useState(params.get('q') ?? '');
  const labels = experimentLabels(data.experiments);
  const experiments = variants.flatMap((v) => v.experiments.map((e) => ({ e, label: labels.get(e.id)! })));
  const chosen = experiments.find((x) => String(x.e.id) === params.get('exp')) ?? experiments[0];
  if (!chosen) return <p class="empty">This set has no experiment.</p>;
  const metrics = (chosen.e.results ?? []).map((r) => r.metric_aliased_name);
  const sort = params.get('sort') ?? '';
  const query = new URLSearchParams();
  if (params.get('failed') === 'true') query.set('failed', 'true');
  if (sort && metrics.includes(sort)) query.set('sort', sort);
  if (params.get('order')) query.set('order', params.get('order')!);
  if (params.get('q')) query.set('q', params.get('q')!);

  return (
    <div class="details">
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ q: search.trim() || undefined });
        }}
      >
        <label>
          Experiment{' '}
          <select value={String(chosen.e.id)} onChange={(e) => setParams({ exp: (e.target as HTMLSelectElement).value })}>
            {experiments.map((x) => (
              <option key={x.e.id} value={String(x.e.id)}>
                {x.label} — experiment {x.e.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={params.get('failed') === 'true'} onChange={(e) => setParams({ failed: (e.target as HTMLInputElement).checked ? 'true' : undefined })} /> Failed rows only
        </label>
        <label>
          Sort by{' '}
          <select value={sort} onChange={(e) => setParams({ sort: (e.target as HTMLSelectElement).value || undefined })}>
            <option value="">row order</option>
            {metrics.map((m) => (
              <option key={m} value={m}>
                {m} (worst first)
              </option>
            ))}
          </select>
        </label>
        {sort && (
          <label>
            Order{' '}
            <select value={params.get('order') ?? ''} onChange={(e) => setParams({ order: (e.target as HTMLSelectElement).value || undefined })}>
              <option value="">worst first</option>
              <option value="asc">ascending</option>
              <option value="desc">descending</option>
            </select>
          </label>
        )}
        <label>
          Search <input type="search" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} placeholder="words in a row or answer" />
        </label>
        <button type="submit">Search</button>
      </form>
      <WhyFailed id={chosen.e.id} />
      <div class="details-body">
        <RowsTable experimentId={chosen.e.id} metrics={metrics} query={query.toString()} onPick={setPicked} onSort={(m) => setParams({ sort: m, order: undefined })} />
        {picked && <RowDetail row={picked} onClose={() => setPicked(undefined)} />}
      </div>
    </div>
  );
}
