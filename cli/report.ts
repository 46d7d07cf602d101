/**
 * The results of a run: one row per experiment and metric, printed as a
 * table and checked against the CI gates (the files: exports.ts).
 */
import { CliError, ExitCode } from './errors.js';

export interface ResultRow {
  experiment_id: number;
  experiment: string;
  /** What tells the experiment apart from the others of its set (core/variant-labels.ts). */
  variant: string;
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

/** Rows from `GET /v1/experiment/{id}?with_results=true` bodies; `labels` (one per experiment) default to their names. */
export function resultRows(experiments: any[], labels: string[] = experiments.map((e) => e.name)): ResultRow[] {
  return experiments.flatMap((e, i) =>
    (e.results ?? []).map((r: any) => ({
      experiment_id: e.id,
      experiment: e.name,
      variant: labels[i],
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

export const fmt = (v: number | null, digits = 4) => (v === null || v === undefined ? '—' : Number(v.toFixed(digits)).toString());

export function table(rows: ResultRow[]): string {
  const header = ['experiment', 'model', 'metric', 'mean', 'std', 'support', '95% CI', 'failures'];
  const body = rows.map((r) => [r.variant, r.model, r.metric, fmt(r.mean), fmt(r.std), String(r.support), r.ci95_low === null ? '—' : `[${fmt(r.ci95_low)}, ${fmt(r.ci95_high)}]`, String(r.failures)]);
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

export interface GateResult {
  gate: Gate;
  /** null when no experiment has the gate's metric. */
  row: ResultRow | null;
  passed: boolean;
  message: string;
}

/** Each gate checked against each experiment that has its metric (or once, failed, when none has). */
export function gateResults(rows: ResultRow[], gates: Gate[]): GateResult[] {
  return gates.flatMap((g): GateResult[] => {
    const matching = rows.filter((r) => r.metric === g.metric);
    if (!matching.length) return [{ gate: g, row: null, passed: false, message: `gate ${g.metric}>=${g.min}: no experiment has this metric` }];
    return matching.map((r) => {
      const passed = r.mean !== null && r.mean >= g.min;
      return { gate: g, row: r, passed, message: `gate ${g.metric}>=${g.min} ${passed ? 'passed' : 'failed'} for ${r.variant}: mean ${fmt(r.mean)}` };
    });
  });
}

/** The gates' failures, as lines; empty when every gate holds. */
export function checkGates(rows: ResultRow[], gates: Gate[], maxFailures: number | undefined, answerFailures: number): string[] {
  const problems = gateResults(rows, gates).filter((g) => !g.passed).map((g) => g.message);
  const failures = answerFailures + rows.reduce((n, r) => n + r.failures, 0);
  if (maxFailures !== undefined && failures > maxFailures) problems.push(`${failures} failed rows and observations, more than --max-failures ${maxFailures}`);
  return problems;
}
