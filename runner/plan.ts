/**
 * What to do with a received answer or observation task, decided from the
 * task, its experiment's configuration and the stored state of its row. Pure:
 * no clock, no I/O, no counters, so every branch is a unit test; the runner
 * carries the decision out.
 */
import { isInline } from '../core/metrics/score.js';
import type { CallableModel } from '../core/model-config.js';
import type { Task, TaskInput } from '../core/queue.js';
import type { ExperimentConfig, ResultConfig, RowState } from '../core/store/work.js';
import type { MetricUse, StoredAnswer, WorkerTask } from './protocol.js';

/** A task a worker runs (fan-out and retry tasks are the runner's own). */
export type WorkTask = Extract<Task, { type: 'answer' | 'observation' }>;

/** An experiment's configuration with its keys opened. */
export interface Resolved extends ExperimentConfig {
  chatModel: CallableModel | null;
  judge: CallableModel | null;
  keyError?: string;
}

/** What the runner adds to every task it hands a worker. */
export interface PlanSettings {
  timeoutMs: number;
  ecoZone: string | undefined;
}

export type Decision =
  /** Nothing to do any more (experiment gone, stopped or finished, row unknown): delete, counted as dropped. */
  | { kind: 'drop' }
  /** The row already has what this task would produce: delete. */
  | { kind: 'done' }
  /** Record `results` (and the answer when `withAnswer`) as failed for good with `error`. */
  | { kind: 'fail'; error: string; results: ResultConfig[]; withAnswer: boolean }
  /** Nothing to compute: commit the follow-up judge tasks. */
  | { kind: 'commit'; followUps: TaskInput[] }
  /** Hand `wire` to a worker (the runner gives it an id); `model` is the one its call is limited by. */
  | { kind: 'dispatch'; wire: Omit<WorkerTask, 'id'>; pending: ResultConfig[]; model?: CallableModel };

/**
 * Plans one task. `attempt` counts the attempts already made; `config` and
 * `state` are undefined when the experiment or the row's state is not found.
 */
export function plan(task: WorkTask, attempt: number, config: Resolved | undefined, state: RowState | undefined, settings: PlanSettings): Decision {
  if (!config || config.status === 'stopped' || !state) return { kind: 'drop' };
  const experimentId = task.experiment_id;
  const numLine = task.num_line;
  const missing = config.results.filter((r) => !state.observed.includes(r.id));
  // An experiment without a model scores the dataset row alone: it has no answer to record or to wait for.
  const modelless = config.model === null;
  if (!state.data) return { kind: 'fail', error: `row ${numLine} does not exist in the dataset`, results: missing, withAnswer: state.answer === null && !modelless };
  const row = canonicalRow(state.data, config.columnsMap);
  const base = { attempt, experimentId, numLine, row, timeoutMs: settings.timeoutMs, ecoZone: settings.ecoZone };

  if (task.type === 'observation') {
    const result = missing.find((r) => r.id === task.result_id);
    if (!result) return { kind: 'done' };
    if (!modelless && (!state.answer || state.answer.error_msg !== null)) return { kind: 'fail', error: 'the row has no answer to score', results: [result], withAnswer: false };
    const judge = config.judge;
    const wire = { ...base, kind: 'observation' as const, answer: state.answer ? storedAnswer(state.answer) : undefined, inline: [], judge: { ...use(result), model: judge } };
    return { kind: 'dispatch', wire, pending: [result], model: judge ?? undefined };
  }

  const inline = missing.filter((r) => isInline(r.name));
  if (state.answer) {
    if (state.answer.error_msg !== null) {
      // The row failed for good; results added since have nothing to score.
      if (missing.length) return { kind: 'fail', error: `no answer: ${state.answer.error_msg}`, results: missing, withAnswer: false };
      return { kind: 'done' };
    }
    if (!inline.length) return { kind: 'commit', followUps: judgeTasks(experimentId, numLine, missing) };
    return { kind: 'dispatch', wire: { ...base, kind: 'answer', answer: storedAnswer(state.answer), inline: inline.map(use) }, pending: missing };
  }
  if (!config.chatModel) return { kind: 'fail', error: config.keyError ?? 'the experiment has no model to generate answers with', results: missing, withAnswer: true };
  return { kind: 'dispatch', wire: { ...base, kind: 'answer', model: config.chatModel, inline: inline.map(use) }, pending: missing, model: config.chatModel };
}

/**
 * Experiments whose cached configuration lacks a result the rows know (a
 * metric added or reset by PATCH since it was read): read afresh, or their
 * rows would be found complete and dropped, or scored with the old params.
 */
export function staleConfigs(configs: ReadonlyMap<number, ExperimentConfig | undefined>, states: readonly RowState[]): number[] {
  return [...configs.keys()].filter((id) => {
    const known = new Set(configs.get(id)?.results.map((r) => `${r.id}.${r.version}`));
    return states.some((s) => s.experiment_id === id && s.results.some((r) => !known.has(r)));
  });
}

/** The observation tasks of a row's judged metrics among `missing` (inline ones are scored with the answer). */
export function judgeTasks(experimentId: number, numLine: number, missing: ResultConfig[]): TaskInput[] {
  return missing.filter((r) => !isInline(r.name)).map((r) => ({ type: 'observation', experiment_id: experimentId, result_id: r.id, num_line: numLine }));
}

/** The row with Evalap's field names: columns_map renames columns to `query`, `output_true`, ... */
function canonicalRow(data: Record<string, unknown>, map: Record<string, string> | null): Record<string, unknown> {
  if (!map) return data;
  const row = { ...data };
  for (const [field, column] of Object.entries(map)) if (column in data) row[field] = data[column];
  return row;
}

const use = (r: ResultConfig): MetricUse => ({ resultId: r.id, name: r.name, params: r.params });

function storedAnswer(a: NonNullable<RowState['answer']>): StoredAnswer {
  const { error_msg, ...rest } = a;
  return { ...rest, answer: rest.answer ?? '' };
}
