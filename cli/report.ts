/**
 * The results of a run: one row per experiment and metric, printed as a
 * table, exported as JSON, JSONL, CSV, JUnit XML or a self-contained HTML
 * report, and checked against the CI gates.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CliError, ExitCode } from './errors.js';

export interface ResultRow {
  experiment_id: number;
  experiment: string;
  model: string;
  metric: string;
  mean: number | null;
  std: number | null;
  support: number;
  ci95_low: number | null;
  ci95_high: number | null;
  corpus_score: number | null;
  /** Observations that failed, plus rows whose answer failed. */
  failures: number;
}

/** Rows from `GET /v1/experiment/{id}?with_results=true` bodies. */
export function resultRows(experiments: any[]): ResultRow[] {
  return experiments.flatMap((e) =>
    (e.results ?? []).map((r: any) => ({
      experiment_id: e.id,
      experiment: e.name,
      model: e.model?.aliased_name || e.model?.name || '',
      metric: r.metric_aliased_name,
      mean: r.summary.mean,
      std: r.summary.std,
      support: r.summary.support,
      ci95_low: r.summary.ci95?.[0] ?? null,
      ci95_high: r.summary.ci95?.[1] ?? null,
      corpus_score: r.corpus_score ?? null,
      failures: r.num_try - r.num_success,
    })),
  );
}

const fmt = (v: number | null, digits = 4) => (v === null || v === undefined ? '—' : Number(v.toFixed(digits)).toString());

export function table(rows: ResultRow[]): string {
  const header = ['experiment', 'model', 'metric', 'mean', 'std', 'support', '95% CI', 'failures'];
  const body = rows.map((r) => [r.experiment, r.model, r.metric, fmt(r.mean), fmt(r.std), String(r.support), r.ci95_low === null ? '—' : `[${fmt(r.ci95_low)}, ${fmt(r.ci95_high)}]`, String(r.failures)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

interface FailureGroup {
  failed: number;
  kinds: { example: string; rows: number }[];
  other_rows: number;
}

/**
 * Why rows failed, per experiment: its answers, then each metric, each
 * failure kind with its row count and one example message, most frequent first.
 */
export function whyRowsFailed(experiments: { id: number; name: string }[], reports: { experiment_id: number; answers: FailureGroup; metrics: (FailureGroup & { metric: string })[] }[]): string {
  const lines = ['Why rows failed:'];
  const plural = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
  const group = (label: string, g: FailureGroup) => {
    if (!g.failed) return;
    lines.push(`    ${label}: ${plural(g.failed)} failed`);
    for (const k of g.kinds) lines.push(`      ${k.example.replace(/\s+/g, ' ').slice(0, 300)} — ${plural(k.rows)}`);
    if (g.other_rows) lines.push(`      (other kinds) — ${plural(g.other_rows)}`);
  };
  for (const r of reports) {
    lines.push(`  ${experiments.find((e) => e.id === r.experiment_id)?.name ?? r.experiment_id}`);
    group('answers', r.answers);
    for (const m of r.metrics) group(m.metric, m);
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------ gates

export interface Gate {
  metric: string;
  min: number;
}

export function parseGate(text: string): Gate {
  const m = /^([^=]+)=(-?\d+(?:\.\d+)?)$/.exec(text);
  if (!m) throw new CliError(`--fail-under expects metric=value, got ${JSON.stringify(text)}`, ExitCode.usage);
  return { metric: m[1], min: Number(m[2]) };
}

/** The gates' failures, as lines; empty when every gate holds. */
export function checkGates(rows: ResultRow[], gates: Gate[], maxFailures: number | undefined, answerFailures: number): string[] {
  const problems: string[] = [];
  for (const g of gates) {
    const matching = rows.filter((r) => r.metric === g.metric);
    if (!matching.length) problems.push(`gate ${g.metric}>=${g.min}: no experiment has this metric`);
    for (const r of matching) {
      if (r.mean === null || r.mean < g.min) problems.push(`gate ${g.metric}>=${g.min} failed for ${r.experiment}: mean ${fmt(r.mean)}`);
    }
  }
  const failures = answerFailures + rows.reduce((n, r) => n + r.failures, 0);
  if (maxFailures !== undefined && failures > maxFailures) problems.push(`${failures} failed rows and observations, more than --max-failures ${maxFailures}`);
  return problems;
}

// ---------------------------------------------------------------- exports

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};
const xml = (s: string) => s.replace(/[<>&"']/g, (c) => `&${({ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' } as Record<string, string>)[c]};`);
const COLUMNS: (keyof ResultRow)[] = ['experiment_id', 'experiment', 'model', 'metric', 'mean', 'std', 'support', 'ci95_low', 'ci95_high', 'corpus_score', 'failures'];

function junit(rows: ResultRow[], problems: string[], setName: string): string {
  const byExperiment = new Map<string, ResultRow[]>();
  for (const r of rows) byExperiment.set(r.experiment, [...(byExperiment.get(r.experiment) ?? []), r]);
  const suites = [...byExperiment].map(([name, rs]) => {
    const cases = rs.map((r) => {
      const failed = problems.filter((p) => p.includes(`gate ${r.metric}>=`) && p.endsWith(`for ${r.experiment}: mean ${fmt(r.mean)}`));
      const body = failed.length ? `<failure message="${xml(failed[0])}"/>` : '';
      return `    <testcase classname="${xml(name)}" name="${xml(r.metric)}"><system-out>${xml(`mean=${fmt(r.mean)} std=${fmt(r.std)} support=${r.support} failures=${r.failures}`)}</system-out>${body}</testcase>`;
    });
    const failures = cases.filter((c) => c.includes('<failure')).length;
    return `  <testsuite name="${xml(name)}" tests="${rs.length}" failures="${failures}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(setName)}">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** One bar chart (SVG) per metric: each experiment's mean with its 95% CI. */
function html(rows: ResultRow[], setName: string): string {
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const charts = metrics.map((metric) => {
    const rs = rows.filter((r) => r.metric === metric);
    const hi = Math.max(1e-9, ...rs.map((r) => Math.max(r.ci95_high ?? r.mean ?? 0, r.mean ?? 0)));
    const barH = 22;
    const w = 560;
    const x = (v: number) => 200 + (Math.max(0, v) / hi) * (w - 220);
    const bars = rs.map((r, i) => {
      const y = 10 + i * (barH + 8);
      const mean = r.mean ?? 0;
      const ci = r.ci95_low === null ? '' : `<line x1="${x(r.ci95_low)}" x2="${x(r.ci95_high!)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#222" stroke-width="2"/>`;
      return `<text x="0" y="${y + 15}" font-size="12">${xml(r.experiment.slice(0, 28))}</text><rect x="200" y="${y}" width="${x(mean) - 200}" height="${barH}" fill="#4a7bd0"/>${ci}<text x="${x(mean) + 4}" y="${y + 15}" font-size="11">${fmt(r.mean)}</text>`;
    });
    const height = 20 + rs.length * (barH + 8);
    return `<h2>${xml(metric)}</h2>\n<svg xmlns="http://www.w3.org/2000/svg" width="${w + 60}" height="${height}" role="img" aria-label="${xml(metric)}">${bars.join('')}</svg>`;
  });
  const head = COLUMNS.map((c) => `<th>${c}</th>`).join('');
  const body = rows.map((r) => `<tr>${COLUMNS.map((c) => `<td>${xml(String(typeof r[c] === 'number' ? fmt(r[c] as number) : r[c] ?? '—'))}</td>`).join('')}</tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${xml(setName)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:nth-child(-n+4),th{text-align:left}</style>
</head><body>
<h1>${xml(setName)}</h1>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table>
${charts.join('\n')}
</body></html>
`;
}

export function exportResults(file: string, rows: ResultRow[], problems: string[], setName: string): void {
  const ext = path.extname(file).toLowerCase();
  let content: string;
  if (ext === '.json') content = JSON.stringify({ experiment_set: setName, results: rows, gate_failures: problems }, null, 2) + '\n';
  else if (ext === '.jsonl') content = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  else if (ext === '.csv') content = [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
  else if (ext === '.xml') content = junit(rows, problems, setName);
  else if (ext === '.html' || ext === '.htm') content = html(rows, setName);
  else throw new CliError(`--output ${file}: unknown format; use .json, .jsonl, .csv, .xml (JUnit) or .html`, ExitCode.usage);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, content);
}
