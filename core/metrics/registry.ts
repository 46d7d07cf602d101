import { z } from 'zod';
import { ValidationError, type FieldIssue } from '../errors.js';
import { METRICS } from './catalog.js';
import { ANSWER_FIELDS, type MetricDefinition } from './types.js';

const byName = new Map(METRICS.map((m) => [m.name, m]));

export function getMetric(name: string): MetricDefinition | undefined {
  return byName.get(name);
}

/** The registry as `GET /v1/metrics` shows it. */
export function listMetrics() {
  return METRICS.map((m) => {
    const params = z.toJSONSchema(m.params, { unrepresentable: 'any' }) as { properties?: Record<string, unknown>; required?: string[] };
    const names = Object.keys(params.properties ?? {});
    const required = new Set(params.required ?? []);
    return {
      name: m.name,
      description: m.description,
      type: m.type,
      require: m.require,
      params,
      // Evalap's names for the keys of `params` a metric use must give, and may give (sorted, as it lists them).
      required_params: names.filter((n) => required.has(n)).sort(),
      optional_params: names.filter((n) => !required.has(n)).sort(),
      score_range: m.range.map((v) => (Number.isFinite(v) ? v : null)),
      higher_is_better: m.higherIsBetter,
    };
  });
}

/** A metric of an experiment, normalized from a name or `{name, params, aliased_name}`. */
export interface MetricUse {
  name: string;
  params: Record<string, unknown> | null;
  aliasedName: string;
}

export interface CheckContext {
  /** Columns the dataset has, after `columns_map` (the Evalap field names it provides). */
  columns: ReadonlySet<string>;
  /** JSON path prefix of the metrics array in the request, for error paths. */
  path: string;
}

/**
 * Checks metric references against the registry, their params, and the
 * fields they need; returns them normalized or throws one ValidationError
 * naming every problem.
 */
export function checkMetrics(refs: readonly (string | { name: string; params?: Record<string, unknown> | null; aliased_name?: string | null })[], ctx: CheckContext): MetricUse[] {
  const issues: FieldIssue[] = [];
  const uses: MetricUse[] = [];
  const aliases = new Set<string>();
  refs.forEach((ref, i) => {
    const at = `${ctx.path}.${i}`;
    const use: MetricUse =
      typeof ref === 'string'
        ? { name: ref, params: null, aliasedName: ref }
        : { name: ref.name, params: ref.params ?? null, aliasedName: ref.aliased_name ?? ref.name };
    const def = byName.get(use.name);
    if (!def) {
      issues.push({ path: at, message: `unknown metric ${JSON.stringify(use.name)}; GET /v1/metrics lists them` });
      return;
    }
    const parsed = def.params.safeParse(use.params ?? {});
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        issues.push({ path: [at, 'params', ...issue.path.map(String)].join('.'), message: `metric ${use.name}: ${issue.message}` });
      }
      return;
    }
    const required = [...def.require, ...(def.requireFromParams?.(use.params ?? {}) ?? [])];
    for (const field of required) {
      // Answer fields (output, context, retrieval_context, think) arrive with each answer, so
      // only the row can tell whether it has them: accepted here as Evalap does, a row that
      // lacks one fails its own observation when scored.
      if ((ANSWER_FIELDS as readonly string[]).includes(field)) continue;
      if (!ctx.columns.has(field)) {
        issues.push({ path: at, message: `metric ${use.name} requires the field ${JSON.stringify(field)}: add the column to the dataset or map one to it with columns_map` });
      }
    }
    if (aliases.has(use.aliasedName)) {
      issues.push({ path: at, message: `metric name ${JSON.stringify(use.aliasedName)} is used twice; give each use its own aliased_name` });
    }
    aliases.add(use.aliasedName);
    uses.push(use);
  });
  if (issues.length) throw new ValidationError('invalid metrics', issues);
  return uses;
}
