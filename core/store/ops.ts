/** Platform-wide counts for Evalap's ops view, read from the counters: no scan of answers or observations. */
import type { Db } from './db.js';
import { isoTime } from './sql.js';

export async function opsCounts(db: Db) {
  const { rows } = await db.query<{
    experiment_sets: number;
    unique_experiments: number;
    unique_answers: number;
    unique_metrics: number;
    unique_observations: number;
    unique_datasets: number;
  }>(
    // An experiment's num_try is the number of its answer rows, a result's the number of its observation rows.
    `SELECT (SELECT count(*) FROM experiment_set)::int AS experiment_sets,
            e.n AS unique_experiments, e.answers AS unique_answers,
            r.n AS unique_metrics, r.observations AS unique_observations,
            (SELECT count(*) FROM dataset)::int AS unique_datasets
     FROM (SELECT count(*)::int AS n, coalesce(sum(num_try), 0)::int AS answers FROM experiment) e,
          (SELECT count(*)::int AS n, coalesce(sum(num_try), 0)::int AS observations FROM result) r`,
  );
  // Evalap lists its model rows, judges included.
  const models = await db.query<{ name: string; aliased_name: string | null }>(
    `SELECT DISTINCT m->>'name' AS name, nullif(m->>'aliased_name', '') AS aliased_name
     FROM experiment e, LATERAL (VALUES (e.model), (e.judge_model)) AS v(m)
     WHERE m IS NOT NULL ORDER BY 1, 2`,
  );
  return { ...rows[0], distinct_models: models.rows };
}

/**
 * Evalap's totals of the emission figures (core/eco) of answers or judge
 * observations: each figure summed over the rows that carry a record, a range
 * counted as its midpoint, keyed as Evalap flattens the record (`energy`,
 * `gwp`, `usage_energy`, `embodied_gwp`, ...). No row with a record: Evalap's
 * empty totals. Read from the rows (migration 008's evalap_eco_mid), as
 * Evalap does: figures of deleted or rerun rows are never counted.
 */
const ECO_FIGURES: readonly (readonly [string, string])[] = [
  ['energy', '{energy,value}'],
  ['gwp', '{gwp,value}'],
  ['adpe', '{adpe,value}'],
  ['pe', '{pe,value}'],
  ['usage_energy', '{usage,energy,value}'],
  ['usage_gwp', '{usage,gwp,value}'],
  ['usage_adpe', '{usage,adpe,value}'],
  ['usage_pe', '{usage,pe,value}'],
  ['embodied_gwp', '{embodied,gwp,value}'],
  ['embodied_adpe', '{embodied,adpe,value}'],
  ['embodied_pe', '{embodied,pe,value}'],
];

export interface EcoTotals {
  total_emissions: Record<string, number>;
  total_entries_with_emissions: number;
  first_emission_date: string | null;
}

async function ecoTotalsOf(db: Db, from: string, where: string, params: unknown[]): Promise<EcoTotals> {
  const sums = ECO_FIGURES.map(([key, path]) => `coalesce(sum(evalap_eco_mid(t.emission_carbon #> '${path}')), 0)::float8 AS "${key}"`).join(', ');
  const { rows } = await db.query<Record<string, number | string | null>>(
    `SELECT count(*)::int AS n, ${isoTime('min(t.created_at)')} AS first, ${sums}
     FROM ${from} WHERE jsonb_typeof(t.emission_carbon) = 'object'${where}`,
    params,
  );
  const row = rows[0];
  const n = Number(row.n);
  if (!n) return { total_emissions: {}, total_entries_with_emissions: 0, first_emission_date: null };
  return {
    total_emissions: Object.fromEntries(ECO_FIGURES.map(([key]) => [key, Number(row[key])])),
    total_entries_with_emissions: n,
    first_emission_date: row.first as string,
  };
}

/** Whose totals: every experiment's, one experiment's, or those of a set's experiments. */
export type EcoScope = { experimentId: number } | { setId: number } | Record<string, never>;

/** Totals of every answer and judge observation (`GET /v1/ops_eco`), or of one experiment's or one set's (their `with_eco` views). */
export async function ecoTotals(db: Db, scope: EcoScope = {}): Promise<{ answers: EcoTotals; observation_table: EcoTotals }> {
  const [experiments, params] =
    'experimentId' in scope ? ['$1', [scope.experimentId]] : 'setId' in scope ? ['SELECT id FROM experiment WHERE experiment_set_id = $1', [scope.setId]] : [null, []];
  return {
    answers: await ecoTotalsOf(db, 'answer t', experiments ? ` AND t.experiment_id IN (${experiments})` : '', params),
    observation_table: await ecoTotalsOf(db, 'observation t', experiments ? ` AND t.result_id IN (SELECT id FROM result WHERE experiment_id IN (${experiments}))` : '', params),
  };
}

/**
 * What the totals mean in everyday terms, as Evalap's ops page shows them: hours
 * of a 5 W LED bulb for the energy, and hours of video streaming for the GWP
 * (its factor: 31.7 gCO2eq per hour of streaming).
 */
export function ecoEquivalents(t: EcoTotals): { lightbulb_5w_hours: number; streaming_hours: number } | null {
  if (!t.total_entries_with_emissions) return null;
  return {
    lightbulb_5w_hours: (t.total_emissions.energy * 1000) / 5,
    streaming_hours: (t.total_emissions.gwp * 10000) / 317,
  };
}

/**
 * The totals with their everyday equivalents: `GET /v1/ops_eco`'s body, and
 * an experiment's `eco` in its `with_eco` view. Without any figure, exactly
 * Evalap's empty totals.
 */
export async function ecoReport(db: Db, scope: EcoScope = {}) {
  const totals = await ecoTotals(db, scope);
  const withEquivalents = (t: EcoTotals) => {
    const equivalents = ecoEquivalents(t);
    return equivalents ? { ...t, equivalents } : t;
  };
  return { answers: withEquivalents(totals.answers), observation_table: withEquivalents(totals.observation_table) };
}
