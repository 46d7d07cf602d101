/**
 * What each experiment of a run spent: the energy and carbon of its answers
 * and of its judge calls (the `eco` totals of `GET /v1/experiment/{id}`) and
 * their cost (its `cost`), one line per experiment and a total for the set.
 * Apart from the results table: these are per experiment, not per metric.
 */
import { sumCosts, type ExperimentCost } from '../core/cost/cost.js';
import { carbon, energy, usd } from '../core/cost/units.js';

export interface ImpactRow {
  experiment_id: number;
  experiment: string;
  variant: string;
  model: string;
  /** kWh and kgCO2eq of the answers and of the judge calls; null without any figure. */
  answers_kwh: number | null;
  answers_kgco2eq: number | null;
  judge_kwh: number | null;
  judge_kgco2eq: number | null;
  /** USD; null when unknown (see cost.reason). */
  answers_usd: number | null;
  judge_usd: number | null;
  total_usd: number | null;
  /** The API's cost object, with token counts, prices and their sources. */
  cost: ExperimentCost | null;
}

const figure = (totals: any, key: 'energy' | 'gwp'): number | null => (totals?.total_entries_with_emissions ? (totals.total_emissions?.[key] ?? null) : null);

/** Rows from `GET /v1/experiment/{id}?with_results=true` bodies (which carry `eco` and `cost`). */
export function impactRows(experiments: any[], labels: string[] = experiments.map((e) => e.name)): ImpactRow[] {
  return experiments.map((e, i) => {
    const cost: ExperimentCost | null = e.cost ?? null;
    return {
      experiment_id: e.id,
      experiment: e.name,
      variant: labels[i],
      model: e.model?.aliased_name || e.model?.name || '',
      answers_kwh: figure(e.eco?.answers, 'energy'),
      answers_kgco2eq: figure(e.eco?.answers, 'gwp'),
      judge_kwh: figure(e.eco?.observation_table, 'energy'),
      judge_kgco2eq: figure(e.eco?.observation_table, 'gwp'),
      answers_usd: cost?.answers.cost ?? null,
      judge_usd: cost?.judge.cost ?? null,
      total_usd: cost?.total ?? null,
      cost,
    };
  });
}

/** Sum of the known figures; null when none is known (unlike cost, a missing figure means "not estimated", not "unknown price"). */
const sumKnown = (values: (number | null)[]) => (values.some((v) => v !== null) ? values.reduce<number>((s, v) => s + (v ?? 0), 0) : null);

/** The set's sums of each figure of the rows. */
export type ImpactTotals = Pick<ImpactRow, 'answers_kwh' | 'answers_kgco2eq' | 'judge_kwh' | 'judge_kgco2eq' | 'answers_usd' | 'judge_usd' | 'total_usd'> & {
  /** Experiments whose cost is unknown: the cost sums are then null. */
  unknown_cost: number;
};

export function impactTotals(rows: ImpactRow[]): ImpactTotals {
  const costs = sumCosts(rows.map((r) => r.cost));
  return {
    answers_kwh: sumKnown(rows.map((r) => r.answers_kwh)),
    answers_kgco2eq: sumKnown(rows.map((r) => r.answers_kgco2eq)),
    judge_kwh: sumKnown(rows.map((r) => r.judge_kwh)),
    judge_kgco2eq: sumKnown(rows.map((r) => r.judge_kgco2eq)),
    answers_usd: costs.answers,
    judge_usd: costs.judge,
    total_usd: costs.total,
    unknown_cost: costs.unknown,
  };
}

export const IMPACT_HEADER = ['experiment', 'model', 'answers energy', 'answers CO2', 'judge energy', 'judge CO2', 'answers cost', 'judge cost', 'total cost'];

/** The cells of a row (or of the total, labelled `all`), in IMPACT_HEADER's order. */
export function impactCells(r: Omit<ImpactTotals, 'unknown_cost'> & { variant?: string; model?: string }): string[] {
  return [r.variant ?? 'all', r.model ?? '', energy(r.answers_kwh), carbon(r.answers_kgco2eq), energy(r.judge_kwh), carbon(r.judge_kgco2eq), usd(r.answers_usd), usd(r.judge_usd), usd(r.total_usd)];
}

/** Why a cost is unknown or leaves calls out, one line per such experiment (answers brought with it need no note: "—" says it). */
export function costNotes(rows: ImpactRow[]): string[] {
  const noted = (r: ImpactRow) => r.cost?.reason && (r.cost.total === null || r.cost.answers.calls_without_tokens > 0 || r.cost.judge.calls_without_tokens > 0);
  return rows.filter(noted).map((r) => `${r.variant}: ${r.cost!.reason}`);
}

export function impactTable(rows: ImpactRow[]): string {
  if (!rows.length) return '';
  const body = rows.map((r) => impactCells(r));
  if (rows.length > 1) body.push(impactCells(impactTotals(rows)));
  const widths = IMPACT_HEADER.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const notes = costNotes(rows);
  return [line(IMPACT_HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), ...(notes.length ? ['', 'Cost notes:', ...notes.map((n) => `  ${n}`)] : [])].join('\n');
}
