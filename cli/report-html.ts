/**
 * The HTML report: one self-contained file (no script, no external URL, so it
 * opens anywhere and can be attached to a CI run) with the gates, the
 * aggregate table, each experiment's energy, carbon and cost, a bar chart per
 * metric on the metric's own scale, and the rows, failures first.
 */
import type { MetricInfo, RunReport } from './exports.js';
import { costNotes, IMPACT_HEADER, impactCells, impactTotals } from './impacts.js';
import { fmt, type ResultRow } from './report.js';
import { failed, type RowRecord } from './row-results.js';

/** Rows shown in the report's table; every row is in the JSON, JSONL and CSV exports. */
const MAX_ROWS = 2000;
/** Longest text shown in a cell of the rows table. */
const MAX_CELL = 1000;

const esc = (s: unknown) => String(s ?? '').replace(/[<>&"']/g, (c) => `&${({ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": '#39' } as Record<string, string>)[c]};`);
const clip = (s: string | null) => (s === null ? '' : s.length > MAX_CELL ? `${s.slice(0, MAX_CELL)}…` : s);

/** Splits a label into lines of at most `width` characters, at spaces when it can: a long label takes more lines, never less room. */
export function wrapLabel(label: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of label.split(/\s+/).filter(Boolean)) {
    for (let w = word; w.length; ) {
      const room = line ? width - line.length - 1 : width;
      if (w.length <= room) {
        line = line ? `${line} ${w}` : w;
        w = '';
      } else if (line) {
        lines.push(line);
        line = '';
      } else {
        lines.push(w.slice(0, width));
        w = w.slice(width);
      }
    }
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}

/** The axis of a metric: its declared range, or the data's where the range is unbounded. */
export function axisOf(info: MetricInfo | undefined, rows: ResultRow[]): [number, number] {
  const values = rows.flatMap((r) => [r.mean, r.ci95_low, r.ci95_high]).filter((v): v is number => v !== null && Number.isFinite(v));
  let lo = info?.score_range[0] ?? Math.min(0, ...values);
  let hi = info?.score_range[1] ?? Math.max(lo + 1e-9, ...values);
  if (!(hi > lo)) [lo, hi] = [lo, lo + 1];
  return [lo, hi];
}

const CHAR_PX = 7;
const LABEL_CHARS = 32;
const LINE_PX = 14;
const BAR_PX = 240;

function chart(metric: string, rows: ResultRow[], info: MetricInfo | undefined): string {
  const [lo, hi] = axisOf(info, rows);
  const labels = rows.map((r) => wrapLabel(r.variant, LABEL_CHARS));
  const labelPx = 10 + CHAR_PX * Math.max(...labels.flat().map((l) => l.length));
  const x = (v: number) => labelPx + ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * BAR_PX;
  const valueX = labelPx + BAR_PX + 10;
  let y = 6;
  const parts: string[] = [];
  rows.forEach((r, i) => {
    const h = Math.max(20, labels[i].length * LINE_PX + 6);
    const mid = y + h / 2;
    const text = labels[i].map((l, k) => `<tspan x="0" dy="${k ? LINE_PX : 0}">${esc(l)}</tspan>`).join('');
    parts.push(`<text x="0" y="${mid - ((labels[i].length - 1) * LINE_PX) / 2 + 4}" font-size="12">${text}</text>`);
    const base = x(Math.max(lo, Math.min(0, hi)));
    if (r.mean !== null) {
      const end = x(r.mean);
      parts.push(`<rect x="${Math.min(base, end)}" y="${mid - 9}" width="${Math.max(1, Math.abs(end - base))}" height="18" fill="#4a7bd0"><title>${esc(`${r.variant}: ${fmt(r.mean)}`)}</title></rect>`);
    }
    if (r.ci95_low !== null && r.ci95_high !== null) parts.push(`<line x1="${x(r.ci95_low)}" x2="${x(r.ci95_high)}" y1="${mid}" y2="${mid}" stroke="#222" stroke-width="2"/>`);
    parts.push(`<text x="${valueX}" y="${mid + 4}" font-size="11">${esc(fmt(r.mean))}${r.ci95_low === null ? '' : esc(` [${fmt(r.ci95_low)}, ${fmt(r.ci95_high)}]`)}</text>`);
    y += h + 6;
  });
  // The axis: the metric's range, so 0.5 on a 0–1 metric looks like half, whatever the other bars.
  parts.push(`<line x1="${labelPx}" x2="${labelPx + BAR_PX}" y1="${y}" y2="${y}" stroke="#888"/>`);
  parts.push(`<text x="${labelPx}" y="${y + 14}" font-size="11">${esc(fmt(lo))}</text><text x="${labelPx + BAR_PX}" y="${y + 14}" font-size="11" text-anchor="end">${esc(fmt(hi))}</text>`);
  const width = valueX + 180;
  return `<h3>${esc(metric)}</h3>\n<svg width="${width}" height="${y + 22}" role="img" aria-label="${esc(`${metric}: mean per experiment on ${fmt(lo)}–${fmt(hi)}`)}">${parts.join('')}</svg>`;
}

function gatesSection(report: RunReport): string {
  if (!report.gates.length && !report.problems.length) return '';
  const rows = report.gates.map((g) => `<tr class="${g.passed ? 'ok' : 'bad'}"><td>${esc(`${g.gate.metric} >= ${g.gate.min}`)}</td><td>${esc(g.row?.variant ?? '—')}</td><td>${esc(g.row ? fmt(g.row.mean) : '—')}</td><td>${g.passed ? 'passed' : 'FAILED'}</td></tr>`);
  const other = report.problems.filter((p) => !report.gates.some((g) => g.message === p)).map((p) => `<li>${esc(p)}</li>`);
  return `<h2>Gates</h2>\n<table><thead><tr><th>gate</th><th>experiment</th><th>mean</th><th>result</th></tr></thead><tbody>${rows.join('')}</tbody></table>${other.length ? `<ul class="bad">${other.join('')}</ul>` : ''}`;
}

/** Per experiment, and for the set: energy and carbon of the answers and judge calls, and their cost, with where each price came from. */
function impactsSection(report: RunReport): string {
  if (!report.impacts.length) return '';
  const rows = report.impacts.map((r) => impactCells(r));
  if (report.impacts.length > 1) rows.push(impactCells(impactTotals(report.impacts)));
  const prices = report.impacts.flatMap((r) =>
    (['answers', 'judge'] as const).flatMap((part) => {
      const p = r.cost?.[part];
      if (!p?.price || !p.calls) return [];
      const from = p.price.source === 'model' ? 'the model definition' : `the shipped table (${p.price.entry ?? p.model}, as published on ${p.price.as_of ?? '?'})`;
      return [`${r.variant}, ${part === 'answers' ? 'answers' : 'judge'} (${p.model}): $${p.price.input} in / $${p.price.output} out per million tokens, from ${from}`];
    }),
  );
  const notes = [...costNotes(report.impacts), ...prices].map((n) => `<li>${esc(n)}</li>`);
  return `<h2>Energy, carbon and cost</h2>
<table><thead><tr>${IMPACT_HEADER.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${rows.map((cells) => `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>${notes.length ? `<ul>${notes.join('')}</ul>` : ''}`;
}

function rowsSection(report: RunReport): string {
  const worse = (r: RowRecord) => {
    const info = r.metric ? report.metrics.get(report.metricNames.get(r.metric) ?? r.metric) : undefined;
    return r.score === null ? 0 : info?.higher_is_better === false ? -r.score : r.score;
  };
  const sorted = [...report.rows].sort((a, b) => Number(failed(b)) - Number(failed(a)) || worse(a) - worse(b) || a.experiment_id - b.experiment_id || a.num_line - b.num_line);
  const shown = sorted.slice(0, MAX_ROWS);
  const body = shown.map((r) => {
    const error = r.answer_error !== null ? `answer: ${r.answer_error}` : r.observation_error !== null ? `${r.metric}: ${r.observation_error}` : r.metric !== null && r.score === null ? 'no score' : '';
    const cells = [r.variant, String(r.num_line), r.metric ?? '', r.score === null ? '—' : fmt(r.score), clip(r.query), clip(r.output_true), clip(r.answer), clip(error), clip(r.observation)];
    return `<tr${failed(r) ? ' class="bad"' : ''}>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  });
  const note = sorted.length > shown.length ? `<p>The ${shown.length} first of ${sorted.length} records (failures and lowest scores first); the JSON, JSONL and CSV exports hold them all.</p>` : '';
  return `<h2>Rows</h2>\n${note}<table class="rows"><thead><tr><th>experiment</th><th>row</th><th>metric</th><th>score</th><th>query</th><th>expected</th><th>answer</th><th>error</th><th>judge's explanation</th></tr></thead><tbody>\n${body.join('\n')}\n</tbody></table>`;
}

export function htmlReport(report: RunReport): string {
  const metrics = [...new Set(report.results.map((r) => r.metric))];
  const charts = metrics.map((m) => chart(m, report.results.filter((r) => r.metric === m), report.metrics.get(report.metricNames.get(m) ?? m)));
  const head = ['experiment', 'model', 'metric', 'mean', 'std', 'support', '95% CI', 'corpus score', 'failures'];
  const table = report.results.map((r) => {
    const cells = [r.variant, r.model, r.metric, fmt(r.mean), fmt(r.std), String(r.support), r.ci95_low === null ? '—' : `[${fmt(r.ci95_low)}, ${fmt(r.ci95_high)}]`, fmt(r.corpus_score), String(r.failures)];
    return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(report.setName)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}.rows td{max-width:28em;white-space:pre-wrap;overflow-wrap:anywhere}tr.bad{background:#fde8e8}tr.ok{background:#e8f6e8}ul.bad{color:#a00}</style>
</head><body>
<h1>${esc(report.setName)}</h1>
${gatesSection(report)}
<h2>Results</h2>
<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${table.join('\n')}
</tbody></table>
${impactsSection(report)}
<h2>Charts</h2>
${charts.join('\n')}
${rowsSection(report)}
</body></html>
`;
}
