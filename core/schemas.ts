/**
 * The zod schemas of the API's bodies and queries, and of what it returns.
 * They validate requests and generate /v1/openapi.json, so the two can never
 * disagree. Bodies are strict: an unknown field is a 400, which catches typos.
 */
import { z } from 'zod';

const name = z.string().trim().min(1).max(200);
/** PostgreSQL's `integer`, the type of every id (a `serial`) and stored count: a larger number would fail in the database, as a 500. */
export const PG_INT_MAX = 2_147_483_647;
/** An integer in [min, max], with one message for whatever is wrong (the first check that fails stops the others). */
const boundedInt = (min: number, max: number, message = `expected an integer from ${min} to ${max}`) => {
  const check = { error: message, abort: true };
  return z.number().int(check).min(min, check).max(max, check);
};
const nonNegInt = boundedInt(0, PG_INT_MAX);
const ID_RANGE = `an id is an integer from 1 to ${PG_INT_MAX}`;
/** An entity's id in a body. */
const dbId = boundedInt(1, PG_INT_MAX, ID_RANGE);
const jsonObject = z.record(z.string(), z.unknown());

export const ExperimentStatus = z.enum(['pending', 'running_answers', 'running_metrics', 'finished', 'stopped']);
export const MetricStatus = z.enum(['pending', 'running', 'finished', 'stopped']);

// ---------------------------------------------------------------- datasets

const datasetFields = {
  name: name.describe('Unique name of the dataset'),
  readme: z.string().max(100_000).default('').describe('Markdown description of the dataset'),
  default_metric: z.string().max(200).nullish().describe('The metric the leaderboard shows by default'),
  columns_map: z
    .record(z.string().min(1), z.string().min(1))
    .nullish()
    .describe('Maps Evalap field names (query, output_true, ...) to this dataset\'s column names'),
  compliance: z.boolean().default(false),
};

export const DatasetCreate = z
  .object({
    ...datasetFields,
    df: z
      .string()
      .min(2)
      .describe('The rows, as a JSON string from pandas DataFrame.to_json (orient records, columns, index, split or table)'),
  })
  .strict()
  .meta({ id: 'DatasetCreate' });
export type DatasetCreate = z.infer<typeof DatasetCreate>;

/** Metadata of a dataset uploaded as a CSV or JSONL body (the metadata goes in the query string). */
export const DatasetUploadQuery = z
  .object({
    name: datasetFields.name,
    readme: datasetFields.readme,
    default_metric: z.string().max(200).optional(),
    compliance: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  })
  .strict();

export const DatasetPatch = z
  .object({
    name: datasetFields.name.optional(),
    readme: z.string().max(100_000).optional(),
    default_metric: datasetFields.default_metric,
    columns_map: datasetFields.columns_map,
    compliance: z.boolean().optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one field to change' })
  .meta({ id: 'DatasetPatch' });
export type DatasetPatch = z.infer<typeof DatasetPatch>;

export const DatasetRowsAppend = z
  .object({ df: DatasetCreate.shape.df })
  .strict()
  .meta({ id: 'DatasetRowsAppend' });

export const Dataset = z
  .object({
    id: z.number().int(),
    name: z.string(),
    readme: z.string(),
    default_metric: z.string().nullable(),
    columns_map: z.record(z.string(), z.string()).nullable(),
    compliance: z.boolean(),
    columns: z.array(z.string()),
    size: z.number().int(),
    created_at: z.string(),
    df: z.string().optional().describe('The rows as a JSON records string; only with with_df=true'),
  })
  .meta({ id: 'Dataset' });

// ------------------------------------------------------------------ models

const modelCommon = {
  aliased_name: z.string().min(1).max(200).nullish().describe('Display name of the model'),
  system_prompt: z.string().max(100_000).nullish(),
  prelude_prompt: z.string().max(100_000).nullish().describe('Prepended to each query; {{column}} placeholders are filled from the row'),
  sampling_params: jsonObject.nullish().describe('Passed to the chat-completions call (temperature, max_tokens, ...)'),
  extra_params: jsonObject.nullish().describe('Passed through to the provider as extra body fields'),
};

export const ModelCreate = z
  .object({
    name: z.string().min(1).max(200).describe('Model name at the endpoint'),
    base_url: z.url({ protocol: /^https?$/ }).describe('OpenAI-compatible base URL, e.g. https://api.openai.com/v1'),
    api_key: z.string().max(10_000).nullish().describe('Provider key: stored encrypted, never returned'),
    ...modelCommon,
    requests_per_minute: z.number().int().positive().nullish().describe('Budget the runner never exceeds'),
    tokens_per_minute: z.number().int().positive().nullish().describe('Budget the runner never exceeds'),
  })
  .strict()
  .meta({ id: 'ModelCreate' });
export type ModelCreate = z.infer<typeof ModelCreate>;

const perRow = <T extends z.ZodType>(item: T) => z.array(item).nullish();

/** Bring-your-own outputs: answers already generated, one per selected row. */
export const ModelRaw = z
  .object({
    ...modelCommon,
    output: z.array(z.string()).min(1).describe('One answer per dataset row (or per `sample` index), in order'),
    aliased_name: z.string().min(1).max(200),
    name: z.string().max(200).default(''),
    base_url: z.string().max(2000).default(''),
    execution_time: perRow(nonNegInt),
    nb_tokens_prompt: perRow(nonNegInt),
    nb_tokens_completion: perRow(nonNegInt),
    nb_tool_calls: perRow(nonNegInt),
    context: perRow(z.array(z.string())),
    retrieval_context: perRow(z.array(z.string())),
    think: perRow(z.string()),
  })
  .strict()
  .meta({ id: 'ModelRaw' });
export type ModelRaw = z.infer<typeof ModelRaw>;

/** A model is generated-by-endpoint or bring-your-own; `output` tells which, so
 *  validation errors name the fields of the schema the client meant. */
export const ModelSpec = z.union([ModelRaw, ModelCreate]);
export type ModelSpec = z.infer<typeof ModelSpec>;

export const isRawModel = (m: ModelSpec): m is ModelRaw => 'output' in m;

// ----------------------------------------------------------------- metrics

export const MetricRef = z.union([
  z.string().min(1).max(200),
  z
    .object({
      name: z.string().min(1).max(200),
      params: jsonObject.nullish(),
      aliased_name: z.string().min(1).max(200).nullish(),
    })
    .strict(),
]);
export type MetricRef = z.infer<typeof MetricRef>;

// ------------------------------------------------------------- experiments

const experimentFields = {
  name: name,
  readme: z.string().max(100_000).nullish(),
  dataset: z.union([z.string().min(1).max(200), DatasetCreate]).describe('A dataset name, or a dataset to create'),
  model: ModelSpec,
  metrics: z.array(MetricRef).max(100).default([]),
  judge_model: z.union([z.string().min(1).max(200), ModelCreate]).nullish(),
  sample: z
    .array(nonNegInt)
    .min(1)
    .max(1_000_000)
    .nullish()
    .refine((s) => !s || new Set(s).size === s.length, { message: 'sample indices must be unique' })
    .describe('Row indices to evaluate; all rows when absent'),
};

export const ExperimentCreate = z
  .object({ ...experimentFields, experiment_set_id: dbId.nullish() })
  .strict()
  .meta({ id: 'ExperimentCreate' });
export type ExperimentCreate = z.infer<typeof ExperimentCreate>;

export const ExperimentPatch = z
  .object({
    name: name.optional(),
    readme: z.string().max(100_000).nullish(),
    metrics: z.array(MetricRef).min(1).max(100).optional().describe('Metrics to add; existing ones are kept'),
    rerun_answers: z.boolean().optional().describe('Generate every answer again, then recompute every metric'),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one field to change' })
  .meta({ id: 'ExperimentPatch' });
export type ExperimentPatch = z.infer<typeof ExperimentPatch>;

export const Answer = z
  .object({
    num_line: z.number().int(),
    answer: z.string().nullable(),
    think: z.string().nullable(),
    context: z.array(z.string()).nullable(),
    retrieval_context: z.array(z.string()).nullable(),
    nb_tokens_prompt: z.number().int().nullable(),
    nb_tokens_completion: z.number().int().nullable(),
    nb_tool_calls: z.number().int().nullable(),
    execution_time: z.number().int().nullable(),
    error_msg: z.string().nullable(),
    num_try: z.number().int(),
    created_at: z.string(),
  })
  .meta({ id: 'Answer' });

export const Observation = z
  .object({
    num_line: z.number().int(),
    score: z.number().nullable(),
    observation: z.unknown(),
    error_msg: z.string().nullable(),
    execution_time: z.number().int().nullable(),
    num_try: z.number().int(),
    created_at: z.string(),
  })
  .meta({ id: 'Observation' });

export const Summary = z
  .object({
    mean: z.number().nullable(),
    std: z.number().nullable(),
    support: z.number().int(),
    ci95: z.tuple([z.number(), z.number()]).nullable(),
    min: z.number().nullable(),
    max: z.number().nullable(),
  })
  .meta({ id: 'Summary' });

export const Result = z
  .object({
    id: z.number().int(),
    experiment_id: z.number().int(),
    metric_name: z.string(),
    metric_aliased_name: z.string(),
    metric_params: jsonObject.nullable(),
    metric_status: MetricStatus,
    num_try: z.number().int(),
    num_success: z.number().int(),
    summary: Summary,
    corpus_score: z.number().nullable().describe('Corpus-level score where the metric defines one (BLEU, chrF), from summed row statistics'),
    created_at: z.string(),
    observation_table: z.array(Observation).optional(),
  })
  .meta({ id: 'Result' });

export const PublicModel = z
  .object({
    name: z.string(),
    base_url: z.string(),
    aliased_name: z.string().nullable(),
    system_prompt: z.string().nullable(),
    prelude_prompt: z.string().nullable(),
    sampling_params: jsonObject.nullable(),
    extra_params: jsonObject.nullable(),
    has_raw_output: z.boolean(),
    has_api_key: z.boolean(),
  })
  .meta({ id: 'Model' });

export const Experiment = z
  .object({
    id: z.number().int(),
    name: z.string(),
    readme: z.string().nullable(),
    experiment_set_id: z.number().int().nullable(),
    experiment_status: ExperimentStatus,
    num_total: z.number().int().describe('How many answers the experiment needs'),
    num_try: z.number().int().describe('How many answers were attempted'),
    num_success: z.number().int().describe('How many answers were generated'),
    num_observation_try: z.number().int(),
    num_observation_success: z.number().int(),
    num_metrics: z.number().int(),
    sample: z.array(z.number().int()).nullable(),
    dataset: Dataset,
    model: PublicModel,
    judge_model: PublicModel.nullable(),
    created_at: z.string(),
    results: z.array(Result).optional(),
    answers: z.array(Answer).optional(),
  })
  .meta({ id: 'Experiment' });

// --------------------------------------------------------- experiment sets

export const GridCV = z
  .object({
    common_params: jsonObject.describe('Fields shared by every experiment of the grid'),
    grid_params: z
      .record(z.string(), z.array(z.unknown()).min(1))
      .refine((g) => Object.keys(g).length > 0, { message: 'give at least one grid parameter' })
      .describe('Each field\'s values; the grid is their cartesian product. Object values are merged into common_params'),
    repeat: z.number().int().min(1).max(100).default(1),
  })
  .strict()
  .meta({ id: 'GridCV' });
export type GridCV = z.infer<typeof GridCV>;

const SetExperiment = z.object(experimentFields).strict();

/** Empty, or absent, as Evalap allows: a set may be filled later (its status is then `finished` until it is). */
const setExperiments = z.array(SetExperiment).max(1000).optional();

export const ExperimentSetCreate = z
  .object({
    name: name,
    readme: z.string().max(100_000).default(''),
    experiments: setExperiments,
    cv: GridCV.optional(),
  })
  .strict()
  .refine((v) => !(v.experiments && v.cv), { message: 'give either experiments or cv, not both', path: ['cv'] })
  .meta({ id: 'ExperimentSetCreate' });
export type ExperimentSetCreate = z.infer<typeof ExperimentSetCreate>;
export type SetExperiment = z.infer<typeof SetExperiment>;
export { SetExperiment };

export const ExperimentSetPatch = z
  .object({
    name: name.optional(),
    readme: z.string().max(100_000).optional(),
    experiments: setExperiments,
    cv: GridCV.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one field to change' })
  .meta({ id: 'ExperimentSetPatch' });
export type ExperimentSetPatch = z.infer<typeof ExperimentSetPatch>;

export const ExperimentSet = z
  .object({
    id: z.number().int(),
    name: z.string(),
    readme: z.string(),
    cv: GridCV.nullable(),
    status: z.enum(['pending', 'running', 'finished', 'stopped']),
    created_at: z.string(),
    experiments: z.array(Experiment.omit({ results: true, answers: true, dataset: true }).extend({ dataset_id: z.number().int() })),
  })
  .meta({ id: 'ExperimentSet' });

// ----------------------------------------------------------------- queries

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const intParam = (min: number, max: number, message = `expected an integer from ${min} to ${max}`) =>
  z.string().regex(/^\d+$/, message).transform(Number).pipe(boundedInt(min, max, message));
/** An entity's id in a path or query string. */
export const idParam = intParam(1, PG_INT_MAX, ID_RANGE);

export const IdParam = z.object({ id: idParam }).strict();
export const DatasetGetQuery = z.object({ with_df: bool.default(false) }).strict();
export const DatasetByNameQuery = z.object({ name: z.string().min(1).max(200), with_df: bool.default(false) }).strict();
export const PageQuery = z
  .object({
    limit: intParam(1, 1000).default(100),
    cursor: z.string().max(100).optional().describe('The next_cursor of the previous page'),
  })
  .strict();
export const ExperimentGetQuery = z
  .object({ with_results: bool.default(false), with_answers: bool.default(false), with_dataset: bool.default(false) })
  .strict();
export const ExperimentListQuery = PageQuery.extend({
  set_id: idParam.optional(),
  orphan: bool.optional().describe('Only experiments in no set'),
}).strict();
export const LeaderboardQuery = z
  .object({
    metric_name: z.string().min(1).max(200).optional(),
    dataset_name: z.string().min(1).max(200).optional(),
    judge_model: z.string().min(1).max(200).optional(),
    limit: intParam(1, 1000).default(100),
  })
  .strict();

export const LeaderboardEntry = z
  .object({
    experiment_id: z.number().int(),
    experiment_name: z.string(),
    experiment_set_id: z.number().int().nullable(),
    model_name: z.string(),
    dataset_name: z.string(),
    metric_name: z.string(),
    judge_model: z.string().nullable(),
    summary: Summary,
    created_at: z.string(),
  })
  .meta({ id: 'LeaderboardEntry' });

export const Page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next_cursor: z.string().nullable() });
