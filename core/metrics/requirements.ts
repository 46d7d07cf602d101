/**
 * What a metric needs, checked twice: at launch, each metric use against the
 * registry, its params schema and the dataset's columns (`checkMetrics`); at
 * run time, each row against the fields only its answer can bring
 * (`missingAnswerInput`).
 */
import type { AnswerFields } from '../answer.js';
import { ValidationError, type FieldIssue } from '../errors.js';
import { getMetric, requiredFields } from './registry.js';
import { ANSWER_FIELDS } from './types.js';

const isAnswerField = (field: string) => (ANSWER_FIELDS as readonly string[]).includes(field);

/** A metric of an experiment, normalized from a name or `{name, params, aliased_name}`. */
export interface MetricUse {
  name: string;
  params: Record<string, unknown> | null;
  aliasedName: string;
}

interface CheckContext {
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
    const def = getMetric(use.name);
    if (!def) {
      issues.push({ path: at, message: `unknown metric ${JSON.stringify(use.name)}; GET /v1/metrics lists them` });
      return;
    }
    if (def.unavailable) {
      issues.push({ path: at, message: `metric ${use.name}: ${def.unavailable}` });
      return;
    }
    const parsed = def.params.safeParse(use.params ?? {});
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        issues.push({ path: [at, 'params', ...issue.path.map(String)].join('.'), message: `metric ${use.name}: ${issue.message}` });
      }
      return;
    }
    for (const field of requiredFields(def, use.params)) {
      // Answer fields (output, context, retrieval_context, think) arrive with each answer, so
      // only the row can tell whether it has them: accepted here as Evalap does, a row that
      // lacks one fails its own observation when scored.
      if (isAnswerField(field)) continue;
      if (!ctx.columns.has(field)) {
        issues.push({ path: at, message: `metric ${use.name} requires the field ${JSON.stringify(field)}: add the column to the dataset or map one to it with columns_map` });
      }
    }
    if (aliases.has(use.aliasedName)) {
      issues.push({ path: at, message: `metric name ${JSON.stringify(use.aliasedName)} is used twice; give each use its own aliased_name` });
    }
    aliases.add(use.aliasedName);
    uses.push(def.pinParams ? { ...use, params: def.pinParams(use.params ?? {}) } : use);
  });
  if (issues.length) throw new ValidationError('invalid metrics', issues);
  return uses;
}

const isEmpty = (v: unknown): boolean =>
  v === null || v === undefined || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);

/**
 * The error for a row that lacks a field the metric reads from the answer
 * (`output`, `context`, `retrieval_context`, `think`), or null. Launches
 * accept those fields unseen, as Evalap does, since only the answer brings
 * them; so each row is checked here, before any judge call, and one that
 * lacks them fails its own observation instead of being scored on nothing.
 * A field counts as present in the answer or, failing that, in the dataset
 * row (the answer's value wins when both have one).
 */
export function missingAnswerInput(
  name: string,
  params: Record<string, unknown> | null,
  row: Record<string, unknown>,
  answer: (Pick<AnswerFields, 'answer'> & Partial<Pick<AnswerFields, 'context' | 'retrieval_context' | 'think'>>) | undefined,
): string | null {
  const def = getMetric(name);
  if (!def) return null;
  const missing = requiredFields(def, params).filter((field) => {
    if (!isAnswerField(field)) return false;
    // An empty output is still an answer, to be judged as such.
    if (field === 'output') return answer === undefined && isEmpty(row.output);
    return isEmpty(answer?.[field as 'context' | 'retrieval_context' | 'think']) && isEmpty(row[field]);
  });
  if (!missing.length) return null;
  const names = missing.map((f) => JSON.stringify(f)).join(' and ');
  return `metric ${name} needs ${names}, which neither this row's answer nor its dataset row provides (bring it with the outputs, or add the column to the dataset)`;
}
