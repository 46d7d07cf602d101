/**
 * The report files of a run, by extension: JSON (aggregate results, energy,
 * carbon and cost per experiment, gates and rows), JSONL and CSV (one record
 * per row and metric, with its calls' cost), JUnit XML and a self-contained
 * HTML report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CliError, ExitCode } from './errors.js';
import { impactTotals, type ImpactRow } from './impacts.js';
import { htmlReport } from './report-html.js';
import { junitReport } from './report-junit.js';
import type { GateResult, ResultRow } from './report.js';
import type { RowRecord } from './row-results.js';

/** What `GET /v1/metrics` says of a metric that the reports need. */
export interface MetricInfo {
  name: string;
  score_range: [number | null, number | null];
  higher_is_better: boolean;
}

export interface RunReport {
  setName: string;
  results: ResultRow[];
  /** Energy, carbon and cost per experiment. */
  impacts: ImpactRow[];
  rows: RowRecord[];
  gates: GateResult[];
  /** Every gate failure, --max-failures included. */
  problems: string[];
  /** By metric name (not aliased name); see `metricOf`. */
  metrics: Map<string, MetricInfo>;
  /** Aliased metric name → metric name, per experiment id. */
  metricNames: Map<string, string>;
}

const FORMATS: Record<string, string> = { '.json': 'JSON', '.jsonl': 'JSONL', '.csv': 'CSV', '.xml': 'JUnit XML', '.html': 'HTML', '.htm': 'HTML' };

/** Refuses an output file of unknown format before anything runs. */
export function checkOutputs(files: string[]): void {
  for (const f of files) {
    if (!FORMATS[path.extname(f).toLowerCase()]) throw new CliError(`--output ${f}: unknown format; use .json, .jsonl, .csv, .xml (JUnit) or .html`, ExitCode.usage);
  }
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export const ROW_COLUMNS: (keyof RowRecord)[] = ['experiment_id', 'experiment', 'variant', 'model', 'num_line', 'query', 'output_true', 'answer', 'answer_error', 'metric', 'score', 'observation', 'observation_error', 'answer_cost_usd', 'judge_cost_usd'];

function render(file: string, report: RunReport): string {
  switch (path.extname(file).toLowerCase()) {
    case '.json':
      return JSON.stringify({ experiment_set: report.setName, results: report.results, impacts: report.impacts, impact_totals: impactTotals(report.impacts), gates: report.gates.map((g) => ({ metric: g.gate.metric, min: g.gate.min, experiment: g.row?.experiment ?? null, variant: g.row?.variant ?? null, mean: g.row?.mean ?? null, passed: g.passed })), gate_failures: report.problems, rows: report.rows }, null, 2) + '\n';
    case '.jsonl':
      return report.rows.map((r) => JSON.stringify(r) + '\n').join('');
    case '.csv':
      return [ROW_COLUMNS.join(','), ...report.rows.map((r) => ROW_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
    case '.xml':
      return junitReport(report);
    default:
      return htmlReport(report);
  }
}

export function exportResults(file: string, report: RunReport): void {
  checkOutputs([file]);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, render(file, report));
}
