/**
 * Display labels of the experiments of a set: what tells them apart. A grid's
 * experiments are named `<set>__0`, `<set>__1`, ..., which says nothing, so a
 * label is built from the parameters that differ between the set's
 * experiments (model, sampling params, system prompt, judge, dataset, ...).
 * Pure: the CLI and the web UI both import it.
 */

/** The parts of an experiment (as the API returns it) a label may be built from. */
export interface VariantSource {
  name: string;
  model?: Record<string, unknown> | null;
  judge_model?: Record<string, unknown> | null;
  dataset?: { name?: string } | string | null;
  sample?: readonly number[] | null;
}

/** Fields that never tell variants apart for a reader: ids, flags, and anything that could hold a secret. */
const IGNORED = /^(id|has_api_key|has_raw_output|output|created_at)$|(^|_)(key|secret|password|authorization)$/i;

/** How a differing parameter is named in a label; the others by their last path segment. */
const SHORT_NAMES: Record<string, string> = {
  'model.name': 'model',
  'model.aliased_name': 'model',
  'judge_model.name': 'judge',
  'judge_model.aliased_name': 'judge',
  'dataset.name': 'dataset',
  'model.system_prompt': 'system prompt',
  'model.prelude_prompt': 'prelude',
  sample: 'sample',
};

/** Longest a parameter's value is shown before it is cut (around where values differ). */
const VALUE_WIDTH = 28;

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value === null || value === undefined) return;
  if (IGNORED.test(prefix.split('.').at(-1)!)) return;
  if (typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  out.set(prefix, typeof value === 'string' ? value : JSON.stringify(value));
}

function parameters(e: VariantSource): Map<string, string> {
  const out = new Map<string, string>();
  flatten(e.model, 'model', out);
  flatten(e.judge_model, 'judge_model', out);
  flatten(typeof e.dataset === 'string' ? { name: e.dataset } : e.dataset ? { name: e.dataset.name } : undefined, 'dataset', out);
  if (e.sample) out.set('sample', `${e.sample.length} rows`);
  return out;
}

function commonPrefixLength(values: string[]): number {
  if (!values.length) return 0;
  let n = 0;
  while (values.every((v) => n < v.length && v[n] === values[0][n])) n++;
  return n;
}

/**
 * The values of one parameter across variants, each cut to VALUE_WIDTH
 * around where the values start to differ, so long values sharing a prefix
 * (system prompts) are not cut into identical text.
 */
function shownValues(values: (string | undefined)[]): (string | undefined)[] {
  const present = values.filter((v): v is string => v !== undefined);
  const start = Math.max(0, commonPrefixLength(present) - 8);
  return values.map((v) => {
    if (v === undefined) return undefined;
    const from = v.length > VALUE_WIDTH ? Math.min(start, Math.max(0, v.length - VALUE_WIDTH)) : 0;
    const cut = v.slice(from, from + VALUE_WIDTH);
    const shown = `${from > 0 ? '…' : ''}${cut}${from + VALUE_WIDTH < v.length ? '…' : ''}`;
    return /[\s=·]/.test(shown) ? JSON.stringify(shown) : shown;
  });
}

/** Makes labels unique: the second and later of identical labels (repeats of one variant) get `#2`, `#3`... and the first `#1`. */
function disambiguate(labels: string[]): string[] {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const seen = new Map<string, number>();
  return labels.map((l) => {
    if (counts.get(l)! < 2) return l;
    const k = (seen.get(l) ?? 0) + 1;
    seen.set(l, k);
    return `${l} #${k}`;
  });
}

/** A name the grid generated (`<set>__<n>`), which tells nothing. */
const GENERATED = /__\d+$/;

/**
 * One label per experiment, in order, unique within the list. Experiments
 * with distinct names their author chose keep those names; otherwise (a grid,
 * or repeated names) the label lists the parameters that differ, e.g.
 * `temperature=0`, `model=gpt-4o · temperature=1`, `"…prompt A"`.
 */
export function variantLabels(experiments: readonly VariantSource[]): string[] {
  const names = experiments.map((e) => e.name);
  if (new Set(names).size === names.length && !names.some((n) => GENERATED.test(n))) return names;
  const params = experiments.map(parameters);
  const paths = [...new Set(params.flatMap((p) => [...p.keys()]))].sort();
  let differing = paths.filter((p) => new Set(params.map((m) => m.get(p))).size > 1);
  // A display name (aliased_name) that differs says it all: its model name need not be repeated.
  for (const owner of ['model', 'judge_model']) {
    if (differing.includes(`${owner}.aliased_name`)) differing = differing.filter((p) => p !== `${owner}.name`);
  }
  if (!differing.length) return disambiguate(names.map((n) => n.replace(GENERATED, '')));
  const lastSegments = differing.map((p) => SHORT_NAMES[p] ?? p.split('.').at(-1)!);
  const keyOf = (p: string, i: number) => (lastSegments.filter((s) => s === lastSegments[i]).length > 1 && !SHORT_NAMES[p] ? p.replace(/^model\./, '') : lastSegments[i]);
  const columns = differing.map((p, i) => ({ key: keyOf(p, i), values: shownValues(params.map((m) => m.get(p))) }));
  const labels = experiments.map((_, row) =>
    columns
      .filter((c) => c.values[row] !== undefined)
      .map((c) => `${c.key}=${c.values[row]}`)
      .join(' · ') || '(default)',
  );
  return disambiguate(labels);
}

/**
 * Labels fitted to `width` characters for fixed-width columns (progress
 * bars): long ones lose their middle, keeping more of the end (where grid
 * labels put the parameters that vary last), and when two would
 * still read the same, their position is kept visible instead.
 */
export function fitLabels(labels: readonly string[], width: number): string[] {
  const cut = (l: string) => {
    if (l.length <= width) return l;
    const head = Math.floor((width - 1) / 3);
    return `${l.slice(0, head)}…${l.slice(l.length - (width - 1 - head))}`;
  };
  const fitted = labels.map(cut);
  return fitted.map((f, i) => {
    if (fitted.indexOf(f) === fitted.lastIndexOf(f)) return f;
    const tag = `…#${i + 1}`;
    return labels[i].slice(0, Math.max(0, width - tag.length)) + tag;
  });
}
