/**
 * The experiments of a set grouped into variants: experiments with the same
 * parameters (model, sampling and extra params, prompts, judge, dataset,
 * sample) are repeats of one variant. Labels come from core/variant-labels.ts,
 * as in the CLI and the reports: the parameters that differ, e.g.
 * `temperature=0`, never the grid's `set__0`; a repeat is `temperature=0 #2`.
 */
import { variantLabels } from '../core/variant-labels';
import type { Experiment } from './types';

/** What makes two experiments the same variant: everything but their name and ids. */
function identity(e: Experiment): string {
  const m = e.model;
  return JSON.stringify([
    e.dataset?.name,
    m && [m.name, m.aliased_name, m.base_url, m.system_prompt, m.prelude_prompt, m.sampling_params, m.extra_params],
    e.judge_model && [e.judge_model.name, e.judge_model.aliased_name],
    e.sample,
  ]);
}

export interface Variant {
  /** What tells it apart from the set's other variants. */
  label: string;
  /** Its experiments: more than one when the set repeats it. */
  experiments: Experiment[];
}

/** The set's experiments grouped into variants, in the order of their first experiment. */
export function variantsOf(experiments: Experiment[]): Variant[] {
  const groups = new Map<string, Experiment[]>();
  for (const e of experiments) {
    const id = identity(e);
    groups.set(id, [...(groups.get(id) ?? []), e]);
  }
  const members = [...groups.values()];
  // Labelled on one experiment of each: repeats add no differing parameter, and no `#n`.
  const labels = variantLabels(members.map((g) => g[0]));
  return members.map((g, i) => ({ label: labels[i], experiments: g }));
}

/** Each experiment's own label (a repeat's with its `#n`), by id. */
export function experimentLabels(experiments: Experiment[]): Map<number, string> {
  const labels = variantLabels(experiments);
  return new Map(experiments.map((e, i) => [e.id, labels[i]]));
}

/** The parameters a grid's labels name (`temperature` in `temperature=0 · model=a`): its axes that made a difference. */
export function differingParameters(experiments: Experiment[]): string[] {
  const keys = variantsOf(experiments).flatMap((v) =>
    v.label
      .split(' · ')
      .filter((part) => part.includes('='))
      .map((part) => part.slice(0, part.indexOf('='))),
  );
  return [...new Set(keys)];
}
