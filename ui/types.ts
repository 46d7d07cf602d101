/** The API's shapes the views read (core/schemas.ts is the source of truth). */
import type { Summary } from '../core/stats';

// The summary is core's own type (core/stats.ts imports nothing, so the bundle gains no code).
export type { Summary };

export type ExperimentStatus = 'pending' | 'running_answers' | 'running_metrics' | 'finished' | 'stopped';


export interface Result {
  id: number;
  experiment_id: number;
  metric_name: string;
  metric_aliased_name: string;
  metric_params: Record<string, unknown> | null;
  metric_status: string;
  num_try: number;
  num_success: number;
  summary: Summary;
  corpus_score: number | null;
}

// A type, not an interface: core/variant-labels.ts reads it as a plain record.
export type Model = {
  name: string;
  base_url: string;
  aliased_name: string | null;
  system_prompt: string | null;
  prelude_prompt: string | null;
  sampling_params: Record<string, unknown> | null;
  extra_params: Record<string, unknown> | null;
  has_raw_output: boolean;
};

export interface Dataset {
  id: number;
  name: string;
  readme: string;
  default_metric: string | null;
  columns: string[];
  size: number;
  parquet_size: number;
  parquet_columns: string[];
  created_at: string;
  df?: string;
}

export interface Experiment {
  id: number;
  name: string;
  experiment_set_id: number | null;
  experiment_status: ExperimentStatus;
  /** Why a stopped experiment stopped: "stopped by request", or the budget cap it reached. */
  stop_reason?: string | null;
  num_total: number;
  num_try: number;
  num_success: number;
  num_observation_try: number;
  num_observation_success: number;
  num_metrics: number;
  sample: number[] | null;
  dataset: Dataset;
  model: Model | null;
  judge_model: Model | null;
  created_at: string;
  results?: Result[];
}

export interface GridCV {
  common_params: Record<string, unknown>;
  grid_params: Record<string, unknown[]>;
  repeat: number;
}

export interface ExperimentSet {
  id: number;
  name: string;
  readme: string;
  cv: GridCV | null;
  status: 'pending' | 'running' | 'finished' | 'stopped';
  created_at: string;
  experiments: Experiment[];
}

export interface ObservationCell {
  score: number | null;
  observation: unknown;
  error_msg: string | null;
  execution_time: number | null;
  num_try: number;
}

export interface Row {
  num_line: number;
  data: Record<string, unknown>;
  answer: Record<string, unknown> | null;
  observations: Record<string, ObservationCell>;
}

export interface RowsPage {
  experiment_id: number;
  total: number;
  rows: Row[];
  next_cursor: string | null;
}

export interface MetricInfo {
  name: string;
  description: string;
  type: string;
  /** Scored by a judge model: a launch using it needs judge_model. */
  needs_judge: boolean;
  require: string[];
  required_params: string[];
  optional_params: string[];
  score_range: [number | null, number | null];
  higher_is_better: boolean;
}

export interface MetricComparison {
  experiment_a: number;
  experiment_b: number;
  model: string;
  metric: string;
  n: number;
  mean_a: number | null;
  mean_b: number | null;
  difference: number | null;
  ci95: [number, number] | null;
  regression: boolean;
}

export interface LeaderboardEntry {
  experiment_id: number;
  experiment_name: string;
  experiment_set_id: number | null;
  experiment_set_name: string | null;
  model_name: string;
  dataset_name: string;
  metric_name: string;
  main_metric_score: number | null;
  judge_model: string | null;
  summary: Summary;
  created_at: string;
  /** USD spent on the experiment (core/schemas.ts LeaderboardEntry.cost): null where a price or token counts are unknown. */
  cost: { total: number | null; answers: number | null; judge: number | null; per_answer: number | null; reason?: string };
}

export interface ScheduleRun {
  id: number;
  tick_at: string;
  status: 'launched' | 'skipped' | 'failed';
  reason: string | null;
  experiment_set_id: number | null;
  comparison: { previous_run: number; previous_set: number; metrics: MetricComparison[] } | null;
}

export interface Schedule {
  id: number;
  name: string;
  cron: string;
  timezone: string;
  paused: boolean;
  template: Record<string, unknown>;
  next_fire_at: string | null;
  last_tick_at: string | null;
  runs?: ScheduleRun[];
}

export interface FailureGroup {
  failed: number;
  kinds: { example: string; rows: number; first_num_line: number }[];
  other_rows: number;
}

export interface ExperimentFailures {
  experiment_id: number;
  num_total: number;
  answers: FailureGroup;
  metrics: (FailureGroup & { metric: string })[];
}
