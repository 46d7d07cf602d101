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
/** A boolean in a query string: true/false in any case (Python's `requests` sends `True`/`False`), or 1/0. */
const bool = z
  .string()
  .regex(/^(?:true|false|1|0)$/i, 'expected true, false, 1 or 0')
  .transform((v) => v === '1' || v.toLowerCase() === 'true');

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
    compliance: bool.default(false),
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
    parquet_size: z.number().int().describe('Rows of the Parquet file uploaded with POST /v1/dataset/{id}/upload_parquet (0 without one), as in Evalap'),
    parquet_columns: z.array(z.string()).describe('Columns of that Parquet file, as in Evalap'),
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

/** Tool and server names as MCP and OpenAI's function names allow them. */
const toolName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1 to 64 letters, digits, _ . or -');

/** An MCP server the runner starts as a child process and talks to over stdin/stdout. */
const McpStdioServer = z
  .object({
    name: toolName.describe('Names the server\'s tool set in extra_params._tools_'),
    command: z
      .string({ error: (issue) => (issue.input === undefined ? 'give `command` (a server over stdio) or `url` (over streamable HTTP)' : undefined) })
      .min(1)
      .max(1000)
      .describe('Executable, found on the runner\'s PATH'),
    args: z.array(z.string().max(10_000)).max(100).nullish(),
    env: z.record(z.string(), z.string().max(10_000)).nullish().describe('Added to a minimal environment (PATH, HOME, ...); not the runner\'s own'),
    cwd: z.string().max(1000).nullish(),
  })
  .strict();

/** An MCP server reached over the streamable HTTP transport. */
const McpHttpServer = z
  .object({
    name: toolName.describe('Names the server\'s tool set in extra_params._tools_'),
    url: z.url({ protocol: /^https?$/ }).describe('The server\'s MCP endpoint, e.g. http://127.0.0.1:3001/mcp'),
    headers: z.record(z.string(), z.string().max(10_000)).nullish(),
  })
  .strict();

export const McpServer = z
  .union([McpStdioServer, McpHttpServer])
  .describe('An MCP server: {name, command, args?, env?, cwd?} over stdio, or {name, url, headers?} over streamable HTTP')
  .meta({ id: 'McpServer' });
export type McpServer = z.infer<typeof McpServer>;

export const ModelCreate = z
  .object({
    name: z.string().min(1).max(200).describe('Model name at the endpoint'),
    base_url: z.url({ protocol: /^https?$/ }).describe('OpenAI-compatible base URL, e.g. https://api.openai.com/v1'),
    api_key: z.string().max(10_000).nullish().describe('Provider key: stored encrypted, never returned'),
    ...modelCommon,
    requests_per_minute: z.number().int().positive().nullish().describe('Budget the runner never exceeds'),
    tokens_per_minute: z.number().int().positive().nullish().describe('Budget the runner never exceeds'),
    prices: z
      .object({
        input: z.number().min(0).max(100_000).describe('USD per million input (prompt) tokens'),
        output: z.number().min(0).max(100_000).describe('USD per million output (completion) tokens'),
        cached_input: z.number().min(0).max(100_000).nullish().describe('USD per million cached input tokens, where the provider bills them apart'),
      })
      .strict()
      .nullish()
      .describe('What the model costs; overrides the shipped price table (core/cost/price-table.ts). Pinned into the experiment at launch, with the table\'s price when not given'),
    tools: z
      .array(McpServer)
      .max(20)
      .nullish()
      .refine((s) => !s || new Set(s.map((t) => t.name)).size === s.length, { message: 'MCP server names must be unique' })
      .describe('MCP servers whose tools the model may call (all of them, or those extra_params._tools_ selects), in a loop of model calls and tool calls'),
    max_tool_steps: boundedInt(1, 50).nullish().describe('Model turns that may call tools before a last call without them (default 10, as Evalap)'),
    tool_timeout_seconds: z.number().positive().max(600).nullish().describe('Longest wait for one tool call, and for a server to start (default 30)'),
  })
  .strict()
  .superRefine((m, ctx) => {
    const selected = m.extra_params?._tools_;
    if (selected === undefined || selected === null) return;
    // Without `tools` it is still accepted, as Evalap's scripts send it: its answers then fail, saying why (core/agents/toolbox.ts).
    if (!Array.isArray(selected) || !selected.every((t) => typeof t === 'string' && t.length > 0)) {
      ctx.addIssue({ code: 'custom', path: ['extra_params', '_tools_'], message: 'expected a list of tool or MCP server names' });
    }
  })
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
    execution_time: perRow(z.number().min(0).max(Math.floor(PG_INT_MAX / 1000))).describe('Seconds each answer took to generate, as in Evalap'),
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

/** Budget caps (core/cost/budget.ts): on an experiment (each of a grid's, in cv.common_params or cv.grid_params) or on a set. */
const budgetFields = (stop: string, calls: string, patching = false) => {
  const change = patching ? '. Raise it, or remove it with null, to let a retry resume what reached it' : '';
  return {
    max_cost: z
      .number({ error: 'expected a number of USD' })
      .positive({ error: 'expected a number of USD above 0' })
      .max(1_000_000_000, { error: 'expected at most 1000000000 USD' })
      .nullish()
      .describe(`Stop ${stop} once what ${calls} cost reaches this many USD (at the prices pinned at launch); calls in flight then may overshoot it${change}`),
    max_tokens_total: boundedInt(1, Number.MAX_SAFE_INTEGER, `expected a whole number of tokens from 1 to ${Number.MAX_SAFE_INTEGER}`)
      .nullish()
      .describe(`Stop ${stop} once the prompt and completion tokens of ${calls} reach this many${change}`),
  };
};

const experimentFields = {
  name: name,
  readme: z.string().max(100_000).nullish(),
  dataset: z.union([z.string().min(1).max(200), DatasetCreate]).describe('A dataset name, or a dataset to create'),
  model: ModelSpec.nullish().describe('The model that answers each row; absent for metrics that read the dataset row alone (judge_complexity, ...), as Evalap\'s dataset metrics'),
  metrics: z.array(MetricRef).max(100).default([]),
  judge_model: z.union([z.string().min(1).max(200), ModelCreate]).nullish(),
  sample: z
    .array(nonNegInt)
    .min(1)
    .max(1_000_000)
    .nullish()
    .refine((s) => !s || new Set(s).size === s.length, { message: 'sample indices must be unique' })
    .describe('Row indices to evaluate; all rows when absent'),
  with_vision: z
    .boolean()
    .optional()
    .describe('As in Evalap: read the rows of the dataset\'s Parquet upload and send each row\'s `img` column to the model as an image, with the query'),
  ...budgetFields('the experiment', 'its answers and judge calls'),
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
    ...budgetFields('the experiment', 'its answers and judge calls', true),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one field to change' })
  .meta({ id: 'ExperimentPatch' });
export type ExperimentPatch = z.infer<typeof ExperimentPatch>;

/** core/eco/emission.ts's record, in Evalap's shape (EcoLogits' impacts). */
const EmissionCarbon = z
  .record(z.string(), z.unknown())
  .nullable()
  .describe('with_eco only: energy (kWh), gwp (kgCO2eq), adpe, pe, usage and embodied of the model or judge call, each value a {min, max} range (EcoLogits\' method), and `estimated` when the model\'s size was guessed from its name; null for outputs brought with the experiment')
  .meta({ id: 'EmissionCarbon' });

/** One tool call of a model turn, in Evalap's shape, plus how long it took. */
const ToolStep = z
  .object({
    tool_name: z.string(),
    tool_params: z.string().describe('The arguments as the model wrote them: a JSON string, not parsed'),
    tool_result: z.string().describe('The text parts of the tool\'s result, joined by a blank line; or what went wrong'),
    execution_time: z.number().optional().describe('Seconds the tool call took (not in Evalap)'),
    is_error: z.boolean().optional().describe('The call failed: bad arguments, an unknown tool, a server down, a timeout or an error the tool returned (not in Evalap)'),
  })
  .meta({ id: 'ToolStep' });

export const Answer = z
  .object({
    id: z.number().int().describe('Derived from (experiment id, num_line): experiment_id × 2^31 + num_line'),
    num_line: z.number().int(),
    answer: z.string().nullable(),
    think: z.string().nullable(),
    context: z.array(z.string()).nullable(),
    retrieval_context: z.array(z.string()).nullable(),
    nb_tokens_prompt: z.number().int().nullable(),
    nb_tokens_completion: z.number().int().nullable(),
    nb_tokens_cached: z
      .number()
      .int()
      .nullable()
      .describe('Of nb_tokens_prompt, those the provider served from its prompt cache, priced at the cached-input price; null when the provider did not say (not in Evalap)'),
    nb_tool_calls: z.number().int().nullable(),
    tool_steps: z
      .array(z.array(ToolStep))
      .nullable()
      .optional()
      .describe('As Evalap: one list per model turn that called tools, in order; null for an answer without tool calls'),
    execution_time: z.number().nullable().describe('Seconds the answer took to generate'),
    error_msg: z.string().nullable(),
    num_try: z.number().int(),
    created_at: z.string(),
    emission_carbon: EmissionCarbon.optional(),
  })
  .meta({ id: 'Answer' });

export const Observation = z
  .object({
    id: z.number().int().describe('Derived from (result id, num_line): result_id × 2^31 + num_line'),
    num_line: z.number().int(),
    score: z.number().nullable(),
    observation: z.unknown(),
    error_msg: z.string().nullable(),
    execution_time: z.number().nullable().describe('Seconds the metric took'),
    num_try: z.number().int(),
    created_at: z.string(),
    emission_carbon: EmissionCarbon.optional(),
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
    id: z.number().int().describe('Derived from the experiment, which owns its models: 2 × experiment id − 1 for the model, 2 × experiment id for the judge'),
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

/** The cost of one model's calls in an experiment (core/cost/cost.ts). */
const CostPart = z.object({
  model: z.string().nullable(),
  cost: z.number().nullable().describe('USD; null when unknown (see reason), never 0 for calls of unknown price'),
  reason: z.string().optional().describe('Why cost is null, or what it leaves out'),
  calls: z.number().int().describe('Answers, or judged observations, with token counts (an observation whose metric asks its judge more than once counts its calls\' tokens together)'),
  calls_without_tokens: z.number().int().describe('Calls whose provider reported no token counts'),
  prompt_tokens: z.number(),
  cached_prompt_tokens: z.number().describe('Of prompt_tokens, those the provider served from its cache, charged at price.cached_input (at price.input where there is none)'),
  completion_tokens: z.number(),
  per_call: z.number().nullable().describe('Mean USD of one answer, or of one judged observation'),
  price: z
    .object({
      input: z.number(),
      output: z.number(),
      cached_input: z.number().optional(),
      source: z.enum(['model', 'table']),
      entry: z.string().optional(),
      url: z.string().optional(),
      as_of: z.string().optional(),
    })
    .nullable()
    .describe('USD per million tokens: the model definition\'s prices, or the shipped table\'s entry with its source page and date'),
});
export const ExperimentCost = z
  .object({
    currency: z.literal('USD'),
    total: z.number().nullable().describe('Answers plus judge calls charged here; null when one of them has an unknown cost'),
    reason: z.string().optional(),
    answers: CostPart,
    judge: CostPart.describe('The judge calls of the judged metrics, at the judge model\'s price'),
  })
  .meta({ id: 'ExperimentCost' });

const SpentPart = z.object({
  prompt_tokens: z.number(),
  cached_prompt_tokens: z.number().describe('Of prompt_tokens, those served from the provider\'s cache, at the pinned cached_input price (input where there is none)'),
  completion_tokens: z.number(),
  cost: z.number().nullable().describe('USD at the pinned price; null without one'),
});
/** The running totals budget caps are weighed against (core/cost/budget.ts). */
const Spent = z
  .object({
    tokens: z.number().describe('Prompt and completion tokens of the answers and the judge calls'),
    cost: z.number().nullable().describe('USD, at the prices pinned at launch; null when a part has no price'),
    answers: SpentPart.describe('The answers generated here (outputs brought with the experiment count nothing)'),
    judge: SpentPart,
  })
  .nullable()
  .describe('What was spent, as the caps count it: every call recorded, once, including calls whose rows a retry or rerun replaced (so it may exceed `cost`, which prices the rows stored now); null for an experiment launched before spending was counted')
  .meta({ id: 'Spent' });
const budgetView = {
  max_cost: z.number().nullable().describe('USD cap, or null'),
  max_tokens_total: z.number().int().nullable().describe('Token cap, or null'),
  spent: Spent,
};

export const Experiment = z
  .object({
    id: z.number().int(),
    name: z.string(),
    readme: z.string().nullable(),
    experiment_set_id: z.number().int().nullable(),
    experiment_status: ExperimentStatus,
    with_vision: z.boolean().describe('Whether the experiment reads the dataset\'s Parquet rows and sends their image to the model, as Evalap\'s'),
    num_total: z.number().int().describe('How many rows the experiment evaluates (and answers it needs, when it has a model)'),
    num_try: z.number().int().describe('How many answers were attempted (0 without a model: there are none)'),
    num_success: z.number().int().describe('How many answers were generated'),
    num_observation_try: z.number().int(),
    num_observation_success: z.number().int(),
    num_metrics: z.number().int(),
    stop_reason: z.string().nullable().describe('Why a stopped experiment stopped: "stopped by request", or the budget cap it reached with what was spent then'),
    ...budgetView,
    sample: z.array(z.number().int()).nullable(),
    dataset: Dataset,
    model: PublicModel.nullable().describe('null for an experiment whose metrics read the dataset row alone'),
    judge_model: PublicModel.nullable(),
    created_at: z.string(),
    results: z.array(Result).optional(),
    answers: z.array(Answer).optional(),
    eco: z
      .object({ answers: z.unknown(), observation_table: z.unknown() })
      .optional()
      .describe('with_eco or with_results: the energy and carbon totals of the experiment\'s answers and judge observations, shaped as GET /v1/ops_eco'),
    cost: ExperimentCost.optional().describe('with_results or with_eco: what the answers and the judge calls cost, from their token counts and the prices in force'),
  })
  .meta({ id: 'Experiment' });

/** An experiment in a list or a set: with its dataset (Evalap's UI reads `dataset.size`), without results or answers. */
export const ExperimentListItem = Experiment.omit({ results: true, answers: true })
  .extend({ dataset_id: z.number().int() })
  .meta({ id: 'ExperimentListItem' });
/** Evalap's experiment list carries each experiment's results (without observations). */
export const ExperimentWithResults = ExperimentListItem.extend({ results: z.array(Result) }).meta({ id: 'ExperimentWithResults' });

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
    ...budgetFields('every unfinished experiment of the set', 'the answers and judge calls of all its experiments'),
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
    ...budgetFields('every unfinished experiment of the set', 'the answers and judge calls of all its experiments', true),
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
    ...budgetView,
    created_at: z.string(),
    experiments: z.array(ExperimentListItem),
    eco: z
      .object({ answers: z.unknown(), observation_table: z.unknown() })
      .optional()
      .describe('with_eco: the energy and carbon totals of all the experiments\' answers and judge observations, shaped as GET /v1/ops_eco'),
    cost: z
      .object({
        currency: z.literal('USD'),
        total: z.number().nullable(),
        answers: z.number().nullable(),
        judge: z.number().nullable(),
        unknown: z.number().int().describe('Experiments whose cost is unknown (a price or token counts missing): the sums are then null'),
      })
      .optional()
      .describe('with_eco: the experiments\' cost summed, each priced as its own `cost` (GET /v1/experiment/{id}?with_eco=true)'),
  })
  .meta({ id: 'ExperimentSet' });

export const ExperimentSetGetQuery = z
  .object({ with_eco: bool.default(false).describe('Adds the set\'s energy and carbon totals (eco) and its cost') })
  .strict();

// ----------------------------------------------------------------- queries

const intParam = (min: number, max: number, message = `expected an integer from ${min} to ${max}`) =>
  z.string().regex(/^\d+$/, message).transform(Number).pipe(boundedInt(min, max, message));
/** An entity's id in a path or query string. */
export const idParam = intParam(1, PG_INT_MAX, ID_RANGE);

export const IdParam = z.object({ id: idParam }).strict();
export const DatasetGetQuery = z.object({ with_df: bool.default(false) }).strict();
/** Evalap finds a dataset by `?name=` or by `?id=`. */
export const DatasetLookupQuery = z
  .object({ id: idParam.optional(), name: z.string().min(1).max(200).optional(), with_df: bool.default(false) })
  .strict()
  .refine((q) => (q.id === undefined) !== (q.name === undefined), { message: 'give either ?name= or ?id=', path: ['name'] });
export const PageQuery = z
  .object({
    limit: intParam(1, 1000).default(100),
    cursor: z.string().max(100).optional().describe('The next_cursor of the previous page'),
  })
  .strict();
export const DatasetRowsQuery = PageQuery;
export const DatasetRowsPage = z
  .object({
    dataset_id: z.number().int(),
    total: z.number().int().describe('The dataset\'s rows'),
    rows: z.array(z.object({ num_line: z.number().int(), data: jsonObject })),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'DatasetRowsPage' });
export const ExperimentGetQuery = z
  .object({
    with_results: bool.default(false),
    with_answers: bool.default(false),
    with_dataset: bool.default(false).describe('Adds the dataset\'s rows, the answers and the observations, as Evalap does'),
    with_eco: bool.default(false).describe('Evalap\'s eco view: the answers and the observations with their emission_carbon, and the experiment\'s energy and carbon totals (eco)'),
  })
  .strict();
const scoreParam = z
  .string()
  .regex(/^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/, 'expected a number')
  .transform(Number)
  .pipe(z.number().finite('expected a finite number'));
export const ExperimentRowsQuery = z
  .object({
    limit: intParam(1, 500).default(50),
    cursor: z.string().max(100).optional().describe('The next_cursor of the previous page'),
    failed: bool.optional().describe('Only rows whose answer failed or one of whose observations (of `metric`, if given) failed'),
    metric: z.string().min(1).max(200).optional().describe('The metric (its aliased name) that min_score and max_score filter'),
    min_score: scoreParam.optional(),
    max_score: scoreParam.optional(),
    sort: z.string().min(1).max(200).optional().describe('num_line (the default) or a metric\'s aliased name; a metric sorts worst first unless order says otherwise, rows without a score last'),
    order: z.enum(['asc', 'desc']).optional(),
    q: z.string().min(1).max(200).optional().describe('Text searched (case-insensitive) in the dataset row and the answer'),
  })
  .strict();
const ObservationCell = z.object({
  score: z.number().nullable(),
  observation: z.unknown(),
  error_msg: z.string().nullable(),
  execution_time: z.number().nullable(),
  num_try: z.number().int(),
});
export const ExperimentRowsPage = z
  .object({
    experiment_id: z.number().int(),
    total: z.number().int().describe('Rows matching the filters'),
    rows: z.array(
      z.object({
        num_line: z.number().int(),
        data: jsonObject.describe('The dataset row, with its columns also under the names columns_map gives them'),
        answer: jsonObject.nullable().describe('null until the row is answered'),
        observations: z.record(z.string(), ObservationCell).describe('Per metric (aliased name); a metric not yet computed for the row is absent'),
      }),
    ),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'ExperimentRowsPage' });
const FailureGroup = z.object({
  failed: z.number().int().describe('Rows that failed'),
  kinds: z
    .array(z.object({ example: z.string(), rows: z.number().int(), first_num_line: z.number().int() }))
    .describe('Failures grouped by message (numbers masked), the most frequent first, at most 10'),
  other_rows: z.number().int().describe('Failed rows of kinds beyond those listed'),
});
export const ExperimentFailures = z
  .object({
    experiment_id: z.number().int(),
    num_total: z.number().int(),
    answers: FailureGroup,
    metrics: z.array(FailureGroup.extend({ metric: z.string() })),
  })
  .meta({ id: 'ExperimentFailures' });
/** Evalap's paging and filter; `skip` or `backward` in a query selects Evalap's paging instead of the cursor. */
const evalapListParams = {
  skip: intParam(0, PG_INT_MAX).optional().describe('Evalap\'s paging: how many items to skip; newest first unless backward=false'),
  backward: bool.optional().describe('Evalap\'s paging: newest first (the default once skip or backward is given)'),
  compliance: bool.optional().describe('Only items on datasets with this compliance flag'),
};
export const ExperimentSetListQuery = PageQuery.extend(evalapListParams).strict();
export const ExperimentListQuery = PageQuery.extend({
  set_id: idParam.optional(),
  orphan: bool.optional().describe('Only experiments in no set (true) or in a set (false); with Evalap\'s paging, true unless set_id is given'),
  ...evalapListParams,
}).strict();
export const RetryQuery = z
  .object({
    force: bool
      .default(false)
      .describe('Also retry experiments still running (re-enqueuing their missing work); by default only finished or stopped ones are, as in Evalap'),
  })
  .strict();
export const LeaderboardQuery = z
  .object({
    metric_name: z.string().min(1).max(200).default('judge_notator').describe('The metric (its aliased name) to rank by; judge_notator by default, as in Evalap'),
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
    experiment_set_name: z.string().nullable(),
    model_name: z.string(),
    dataset_name: z.string(),
    metric_name: z.string(),
    main_metric_score: z.number().nullable().describe('Mean score of metric_name; null when its observations have no score (errors or unparsed judge answers)'),
    other_metrics: z.record(z.string(), z.number().nullable()).describe('Mean score of each other metric of the experiment that has observations'),
    system_prompt: z.string().nullable(),
    sampling_param: z.record(z.string(), z.string()).describe('The model\'s sampling_params, values as text'),
    extra_param: z.record(z.string(), z.string()).describe('The model\'s extra_params, values as text'),
    judge_model: z.string().nullable(),
    summary: Summary,
    created_at: z.string(),
    cost: z
      .object({ total: z.number().nullable(), answers: z.number().nullable(), judge: z.number().nullable(), per_answer: z.number().nullable(), reason: z.string().optional() })
      .describe('USD spent on the experiment: answers and judge calls (core/cost); null where a price or token counts are unknown'),
  })
  .meta({ id: 'LeaderboardEntry' });

const ids = z.array(z.number().int());
export const RetryRuns = z
  .object({
    experiment_set_id: z.number().int(),
    reopened_experiment_ids: ids.describe('Experiments reopened: each gets one retry task that redoes its failed and missing work'),
    experiment_ids: ids.describe('Reopened experiments with failed answers (Evalap\'s RetryRuns)'),
    result_ids: ids.describe('Results with failed observations, of reopened experiments without failed answers'),
    unfinished_experiment_ids: ids.describe('Reopened experiments with rows never answered'),
    unfinished_result_ids: ids.describe('Results with rows never observed, of reopened experiments whose rows were all answered'),
  })
  .meta({ id: 'RetryRuns' });

export const MetricInfo = z
  .object({
    name: z.string(),
    description: z.string(),
    type: z.string(),
    needs_judge: z.boolean().describe('Scored by a judge model: a launch using it needs judge_model'),
    require: z.array(z.string()).describe('Fields each row must provide (dataset columns or answer fields)'),
    params: z.record(z.string(), z.unknown()).describe('JSON Schema of the metric\'s params'),
    required_params: z.array(z.string()).describe('Keys of params a metric use must give (Evalap\'s field)'),
    optional_params: z.array(z.string()).describe('Keys of params a metric use may give (Evalap\'s field)'),
    score_range: z.tuple([z.number().nullable(), z.number().nullable()]),
    higher_is_better: z.boolean(),
  })
  .meta({ id: 'Metric' });

export const OpsMetrics = z
  .object({
    experiment_sets: z.number().int(),
    unique_experiments: z.number().int(),
    unique_answers: z.number().int(),
    unique_metrics: z.number().int().describe('Results: one per metric use of an experiment'),
    unique_observations: z.number().int(),
    unique_datasets: z.number().int(),
    distinct_models: z.array(z.object({ name: z.string(), aliased_name: z.string().nullable() })),
  })
  .meta({ id: 'OpsMetrics' });

const OpsEcoDetails = z
  .object({
    total_emissions: z.record(z.string(), z.number()),
    total_entries_with_emissions: z.number().int(),
    first_emission_date: z.string().nullable(),
    equivalents: z
      .object({ lightbulb_5w_hours: z.number(), streaming_hours: z.number() })
      .optional()
      .describe('The totals in everyday terms, as Evalap\'s ops page shows them: hours of a 5 W bulb for the energy, hours of video streaming for the GWP; absent when nothing carries a figure'),
  })
  .meta({ id: 'OpsEcoDetails' });
export const OpsEco = z
  .object({ answers: OpsEcoDetails, observation_table: OpsEcoDetails })
  .describe('Energy (kWh) and carbon (kgCO2eq) totals of the generated answers and of the judge observations, keyed as Evalap flattens its records (energy, gwp, usage_energy, embodied_gwp, ...); a range counts as its midpoint')
  .meta({ id: 'OpsEco' });

export const Page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next_cursor: z.string().nullable() });
