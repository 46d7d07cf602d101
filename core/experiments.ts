/**
 * Experiment operations behind the API. Creating one validates it against
 * its dataset and the metric registry, writes it, and enqueues a single
 * fan-out task: the row tasks are enqueued by the runner, so launching costs
 * the same for 10 rows as for 100,000.
 */
import type { Db } from './store/db.js';
import type { CoreContext } from './context.js';
import { parseUpload, visionColumns, visionRows } from './datasets.js';
import { ConflictError, ValidationError, type FieldIssue } from './errors.js';
import { launchJudge } from './judges/resolve.js';
import { getMetric, requiredFields } from './metrics/registry.js';
import { checkMetrics, type MetricUse } from './metrics/requirements.js';
import { ANSWER_FIELDS } from './metrics/types.js';
import { isInline } from './metrics/score.js';
import { cursor } from './cursor.js';
import { enqueue, type TaskInput } from './queue.js';
import { isRawModel, type ExperimentPatch, type ModelCreate, type SetExperiment } from './schemas.js';
import * as datasets from './store/datasets.js';
import * as store from './store/experiments.js';
import { ecoReport } from './store/ops.js';
import { experimentCost } from './cost/cost.js';
import { pinPrices } from './cost/price-in-force.js';
import { mapServerSecrets } from './agents/server-secrets.js';
import { unpricedIssues } from './cost/budget.js';
import { capChanges, capsOf, checkCappable, refuseAtCaps } from './budgets.js';

/** Datasets created inline during one request, by name, so a grid that
 *  repeats the same inline dataset creates it once. */
export type InlineDatasets = Map<string, { df: string; record: datasets.DatasetRecord }>;

const at = (prefix: string, path: string) => (prefix ? `${prefix}.${path}` : path);

async function resolveDataset(client: Db, spec: SetExperiment['dataset'], inline: InlineDatasets, prefix: string) {
  if (typeof spec === 'string') {
    const found = (inline.get(spec)?.record) ?? (await datasets.findDatasetByName(client, spec));
    if (!found) throw new ValidationError('unknown dataset', [{ path: at(prefix, 'dataset'), message: `no dataset named ${JSON.stringify(spec)}; create it with POST /v1/dataset or send it inline` }]);
    return found;
  }
  const seen = inline.get(spec.name);
  if (seen) {
    if (seen.df !== spec.df) throw new ConflictError(`two different inline datasets are named ${JSON.stringify(spec.name)}`);
    return seen.record;
  }
  const frame = parseUpload('df', spec.df);
  const { df, ...meta } = spec;
  const record = await datasets.insertDataset(client, meta, frame.columns, frame.rows);
  inline.set(spec.name, { df, record });
  return record;
}

/** The fields a dataset provides to metrics: its columns, and the Evalap names columns_map gives them. */
function providedColumns(dataset: datasets.DatasetRecord): Set<string> {
  const columns = new Set(dataset.columns);
  for (const [field, column] of Object.entries(dataset.columns_map ?? {})) if (columns.has(column)) columns.add(field);
  return columns;
}

/**
 * Why an experiment without a model cannot compute these metrics: such an
 * experiment has no answers (as Evalap's dataset metrics, judge_complexity),
 * so a metric qualifies only if the row gives every field it reads. `output`
 * only ever comes with an answer; context, retrieval_context and think do
 * too, unless the dataset has them as columns. One issue, at `path` (the
 * missing model), naming each metric that needs an answer.
 */
function modellessIssues(uses: readonly MetricUse[], columns: ReadonlySet<string>, path: string, patching = false): FieldIssue[] {
  if (!uses.length) return [{ path, message: 'required: give a model to answer the rows, or metrics that read the dataset rows alone (such as judge_complexity)' }];
  const needs = uses.flatMap((u) => {
    const fields = requiredFields(getMetric(u.name)!, u.params ?? null);
    const fromAnswer = [...new Set(fields.filter((f) => (ANSWER_FIELDS as readonly string[]).includes(f) && (f === 'output' || !columns.has(f))))];
    return fromAnswer.length ? [`${u.aliasedName} (reads ${fromAnswer.join(', ')})`] : [];
  });
  if (!needs.length) return [];
  const advice = patching ? 'this experiment has no model' : 'give a model to generate the answers, or your own outputs in model.output';
  return [{ path, message: `${patching ? '' : 'required by '}metrics that need an answer: ${needs.join('; ')}. Only metrics that read the dataset row alone run without a model: ${advice}` }];
}

/** Whether any of these metrics asks a judge (the others are computed without a model call). */
const needsJudge = (uses: readonly MetricUse[]) => uses.some((u) => !isInline(u.name));

async function sealModel(core: CoreContext, model: ModelCreate) {
  const { api_key, ...rest } = model;
  const seal = (value: string) => core.secrets.seal(value);
  const tools = rest.tools ? { tools: await mapServerSecrets(rest.tools, seal) } : {};
  return { model: { ...rest, ...tools }, key: api_key ? await seal(api_key) : null };
}

/**
 * Validates and writes one experiment inside the caller's transaction and
 * returns its id and the task that starts it. `prefix` is the JSON path of
 * the experiment in the request, for error messages. `setMaxCost`: its set
 * has a max_cost, which needs this experiment's prices as its own would.
 */
export async function prepareExperiment(
  core: CoreContext,
  client: Db,
  body: SetExperiment,
  setId: number | null,
  prefix = '',
  inline: InlineDatasets = new Map(),
  setMaxCost = false,
): Promise<{ id: number; task: TaskInput }> {
  const found = await resolveDataset(client, body.dataset, inline, prefix);
  const issues: FieldIssue[] = [];
  // A with_vision experiment reads the rows of the dataset's Parquet upload, as in Evalap.
  const dataset = body.with_vision ? visionRows(found, at(prefix, 'with_vision'), issues) : found;

  const sample = body.sample ?? null;
  sample?.forEach((idx, i) => {
    if (idx >= dataset.size) issues.push({ path: at(prefix, `sample.${i}`), message: `row ${idx} does not exist: the dataset has ${dataset.size} rows (0 to ${dataset.size - 1})` });
  });
  const numTotal = sample ? sample.length : dataset.size;

  const model = body.model ?? null;
  const raw = model !== null && isRawModel(model);
  if (raw) {
    for (const field of ['output', 'execution_time', 'nb_tokens_prompt', 'nb_tokens_completion', 'nb_tool_calls', 'context', 'retrieval_context', 'think'] as const) {
      const values = model[field];
      if (values && values.length !== numTotal) {
        issues.push({ path: at(prefix, `model.${field}`), message: `has ${values.length} items but the experiment has ${numTotal} rows${sample ? ' (its sample)' : ''}` });
      }
    }
  }

  const columns = providedColumns(dataset);
  let uses: ReturnType<typeof checkMetrics> = [];
  try {
    uses = checkMetrics(body.metrics, { columns, path: at(prefix, 'metrics') });
    if (model === null) issues.push(...modellessIssues(uses, columns, at(prefix, 'model')));
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    issues.push(...err.issues);
  }
  if (issues.length) throw new ValidationError('invalid experiment', issues);

  const sealed = model === null ? { model: null, key: null } : raw ? { model: (({ output, execution_time, nb_tokens_prompt, nb_tokens_completion, nb_tool_calls, context, retrieval_context, think, ...m }) => m)(model), key: null } : await sealModel(core, model);
  // The price in force now is kept with the definition: a later edit of the shipped table leaves this run's cost as it was.
  const storedModel = sealed.model && !raw ? pinPrices(sealed.model) : sealed.model;
  // A judge by name (or the default judge) is resolved to its provider now: an unknown one is refused, not launched to fail every observation.
  const resolved = await launchJudge(core.config, body.judge_model, needsJudge(uses), at(prefix, 'judge_model'), uses.find((u) => !isInline(u.name))?.aliasedName);
  const judge = resolved ? { model: { ...resolved }, key: null } : body.judge_model && typeof body.judge_model === 'object' ? await sealModel(core, body.judge_model) : null;
  const storedJudge = judge ? pinPrices(judge.model) : null;
  const caps = capsOf(body);
  if (caps.max_cost !== null || setMaxCost) {
    const parts = { model: storedModel, modelPath: at(prefix, 'model'), judge: storedJudge, judgePath: at(prefix, 'judge_model'), answers: model !== null && !raw, judged: needsJudge(uses) };
    const unpriced = unpricedIssues(parts, caps.max_cost !== null ? at(prefix, 'max_cost') : 'the set\'s max_cost', true);
    if (unpriced.length) throw new ValidationError('invalid experiment', unpriced);
  }

  const id = await store.insertExperiment(client, {
    name: body.name,
    readme: body.readme ?? null,
    experiment_set_id: setId,
    dataset_id: dataset.id,
    model: storedModel,
    model_api_key: sealed.key,
    judge_model: storedJudge,
    judge_api_key: judge?.key ?? null,
    has_raw_output: raw,
    with_vision: Boolean(body.with_vision),
    sample,
    num_total: numTotal,
    num_try: raw ? numTotal : 0,
    num_success: raw ? numTotal : 0,
    caps,
  });
  await store.insertResults(client, id, uses);
  if (raw) {
    // Only bring-your-own outputs pay for per-row work at launch: their rows arrive in the body anyway.
    await store.insertRawAnswers(
      client,
      id,
      model.output.map((answer, i) => ({
        num_line: sample ? sample[i] : i,
        answer,
        think: model.think?.[i],
        context: model.context?.[i],
        retrieval_context: model.retrieval_context?.[i],
        nb_tokens_prompt: model.nb_tokens_prompt?.[i],
        nb_tokens_completion: model.nb_tokens_completion?.[i],
        nb_tool_calls: model.nb_tool_calls?.[i],
        // Clients give seconds, as in Evalap; the store keeps milliseconds, as the runner measures them.
        execution_time: model.execution_time?.[i] == null ? null : Math.round(model.execution_time[i] * 1000),
      })),
    );
  }
  return { id, task: { type: 'fanout', experiment_id: id, stage: 'answers', from: 0 } };
}

/** Runs `fn` in a transaction (the caller's `tx`, or a new one) and sends its
 *  tasks before committing: if SQS refuses them, nothing is written; if the
 *  commit fails, the runner drops tasks whose experiment does not exist. */
export async function withLaunch<T>(core: CoreContext, fn: (client: Db) => Promise<{ value: T; tasks: TaskInput[] }>, tx?: Db): Promise<T> {
  const launch = async (client: Db) => {
    const { value, tasks } = await fn(client);
    await enqueue(core.sqs, core.queueUrl, tasks);
    return value;
  };
  return tx ? launch(tx) : core.db.transaction(launch);
}

export async function createExperiment(core: CoreContext, body: SetExperiment & { experiment_set_id?: number | null }) {
  const { experiment_set_id, ...experiment } = body;
  const id = await withLaunch(core, async (client) => {
    let setMaxCost = false;
    if (experiment_set_id != null) {
      const { rows } = await client.query<{ capped: boolean }>('SELECT max_cost IS NOT NULL AS capped FROM experiment_set WHERE id = $1 FOR UPDATE', [experiment_set_id]);
      if (!rows.length) throw new ValidationError('unknown experiment set', [{ path: 'experiment_set_id', message: `no experiment set ${experiment_set_id}` }]);
      setMaxCost = rows[0].capped;
    }
    const { id, task } = await prepareExperiment(core, client, experiment, experiment_set_id ?? null, '', new Map(), setMaxCost);
    core.logger.info('experiment_created', { experiment_id: id });
    return { value: id, tasks: [task] };
  });
  return getExperiment(core, id, {});
}

export interface ExperimentViewOptions {
  with_results?: boolean;
  with_answers?: boolean;
  with_dataset?: boolean;
  with_eco?: boolean;
}

/** The experiment as the API shows it; read through `db` (a transaction's client) when given, else the core's database. */
export async function getExperiment(core: CoreContext, id: number, o: ExperimentViewOptions, db: Db = core.db) {
  const row = await store.getExperimentRow(db, id);
  const dataset = row.dataset;
  const view = store.experimentView(row);
  const { dataset_id, ...rest } = view;
  // Evalap answers with_dataset and with_eco with its full view (answers and observations too), which its UI reads;
  // with_eco adds each row's emission_carbon and, beyond Evalap, the experiment's totals (its UI sums the answers').
  // Cost is computed here, from the stored token counts and the prices pinned at launch: nothing to keep in step.
  const full = Boolean(o.with_dataset || o.with_eco);
  const eco = Boolean(o.with_eco);
  // Beyond Evalap: the totals of energy, carbon and cost, which the CLI's table reads with the results.
  const totals = eco || Boolean(o.with_results);
  return {
    ...rest,
    dataset: o.with_dataset ? { ...dataset, df: await datasets.datasetRecordsJson(db, dataset_id) } : dataset,
    results: await store.listResults(db, id, Boolean(o.with_results) || full, eco),
    ...(o.with_answers || full ? { answers: await store.listAnswers(db, id, eco) } : {}),
    ...(totals ? { eco: await ecoReport(db, { experimentId: id }), cost: experimentCost(row, (await store.tokenTotals(db, [id])).get(id)!) } : {}),
  };
}


/** A list query: our cursor paging, or Evalap's (`skip`, `backward`), and Evalap's compliance filter. */
export interface ListQuery {
  limit: number;
  cursor?: string;
  skip?: number;
  backward?: boolean;
  compliance?: boolean;
}

/**
 * How to page a list. A client that sends `skip` or `backward` pages as in
 * Evalap (an offset, newest first by default); otherwise it pages by cursor
 * in id order. The two do not mix: an offset from one order would skip
 * items in the other.
 */
export function paging(q: ListQuery) {
  const evalap = q.skip !== undefined || q.backward !== undefined;
  if (evalap && q.cursor !== undefined) {
    throw new ValidationError('invalid query', [{ path: 'cursor', message: 'a cursor pages in id order: send either cursor or skip/backward, not both' }]);
  }
  return { evalap, limit: q.limit, afterId: cursor.decode(q.cursor), offset: q.skip ?? 0, descending: evalap && q.backward !== false, compliance: q.compliance };
}

/** The next page's cursor: only cursor paging has one (Evalap's clients page with skip). */
export const nextCursor = (p: ReturnType<typeof paging>, rows: readonly { id: number }[], more: boolean) =>
  more && !p.evalap ? cursor.encode(rows[rows.length - 1].id) : null;

export async function listExperiments(core: CoreContext, q: ListQuery & { set_id?: number; orphan?: boolean }) {
  const p = paging(q);
  // Evalap lists only experiments in no set unless told otherwise; with a set_id, that set's (Evalap would answer nothing).
  const orphan = q.orphan ?? (p.evalap && q.set_id === undefined ? true : undefined);
  const { rows, more } = await store.listExperimentRows(core.db, { ...p, setIds: q.set_id === undefined ? undefined : [q.set_id], orphan });
  const results = await store.resultsByExperiment(core.db, rows.map((r) => r.id));
  const items = rows.map((row) => ({ ...store.experimentView(row), results: results.get(row.id) ?? [] }));
  return { items, next_cursor: nextCursor(p, rows, more) };
}

export async function patchExperiment(core: CoreContext, id: number, patch: ExperimentPatch) {
  await withLaunch(core, async (client) => {
    const current = await store.lockExperiment(client, id);
    await store.renameExperiment(client, id, patch);
    const changes = capChanges(patch);
    await checkCappable(client, [id], changes, (i) => `experiment ${i}`);
    await store.setCaps(client, 'experiment', id, changes);
    const tasks: TaskInput[] = [];
    if (patch.rerun_answers) {
      if (current.has_raw_output) throw new ValidationError('cannot rerun', [{ path: 'rerun_answers', message: 'this experiment brought its own outputs: there is nothing to generate' }]);
      if (!current.has_model) throw new ValidationError('cannot rerun', [{ path: 'rerun_answers', message: 'this experiment has no model: its metrics read the dataset rows alone, there is nothing to generate' }]);
      await store.resetExperiment(client, id, true);
      tasks.push({ type: 'fanout', experiment_id: id, stage: 'answers', from: 0 });
    }
    if (patch.metrics) {
      const row = await store.getExperimentRow(client, id);
      const stored = await datasets.getDataset(client, row.dataset_id);
      // A vision experiment's rows are the Parquet rows: metrics may read their columns too.
      const dataset = row.with_vision ? { ...stored, columns: visionColumns(stored) } : stored;
      const columns = providedColumns(dataset);
      const existing = new Set((await store.listResults(client, id, false)).map((r) => r.metric_aliased_name));
      const uses = checkMetrics(patch.metrics, { columns, path: 'metrics' });
      const modelless = current.has_model ? [] : modellessIssues(uses, columns, 'metrics', true);
      if (modelless.length) throw new ValidationError('invalid metrics', modelless);
      // Judged metrics added to an experiment without a usable judge (none, or a name from before judges were resolved) get one now, or a 400.
      if (needsJudge(uses) && !row.judge_model?.base_url) {
        const name = typeof row.judge_model?.name === 'string' ? row.judge_model.name : undefined;
        const resolved = await launchJudge(core.config, name, true, 'judge_model', uses.find((u) => !isInline(u.name))?.aliasedName);
        await client.query('UPDATE experiment SET judge_model = $2::jsonb, updated_at = now() WHERE id = $1', [id, JSON.stringify(resolved && pinPrices(resolved))]);
      }
      // A metric the experiment already has is started over, as Evalap reruns it; the others are added.
      const resultIds = [
        ...(await store.resetResults(client, id, uses.filter((u) => existing.has(u.aliasedName)))),
        ...(await store.insertResults(client, id, uses.filter((u) => !existing.has(u.aliasedName)))),
      ];
      if (!patch.rerun_answers) {
        if (current.experiment_status === 'finished') await client.query(`UPDATE experiment SET experiment_status = 'running_metrics', updated_at = now() WHERE id = $1`, [id]);
        tasks.push({ type: 'fanout', experiment_id: id, stage: 'observations', result_ids: resultIds, from: 0, missing_only: true });
      }
      // A judge the new metrics ask, under a max_cost (the experiment's or its set's), needs a price too.
      const budget = (await store.budgetRows(client, [id])).find((r) => r.id === id)!;
      const maxCost = budget.max_cost ?? budget.set_max_cost;
      if (maxCost !== null) await checkCappable(client, [id], { max_cost: maxCost }, (i) => `experiment ${i}`);
    }
    // Work started again at a reached cap would only spend past it.
    if (tasks.length) await refuseAtCaps(client, [id]);
    return { value: undefined, tasks };
  });
  return getExperiment(core, id, {});
}

export const deleteExperiment = (core: CoreContext, id: number) => store.deleteExperiment(core.db, id);

/**
 * The experiments a stop or a retry acts on, read in its transaction with
 * what they belong to locked (the experiment itself, or its set: then no
 * experiment joins the set meanwhile); throws NotFoundError for an unknown
 * id. With it, one stop and one retry serve an experiment and a set alike.
 */
export type ExperimentScope = (client: Db) => Promise<number[]>;

/** One experiment, as a scope. */
const single = (id: number): ExperimentScope => async (client) => {
  await store.lockExperiment(client, id);
  return [id];
};

/** Cancels: the scope's unfinished experiments become `stopped` and the runner drops their queued tasks; finished ones stay finished. Returns the ids stopped. */
export async function stopExperiments(core: CoreContext, scope: ExperimentScope): Promise<number[]> {
  return withLaunch(core, async (client) => ({ value: await store.stopExperiments(client, await scope(client)), tasks: [] }));
}

/**
 * Re-enqueues what failed or is missing: each experiment of the scope with
 * anything left to do is reopened (a stopped one resumes) and gets one retry
 * task, from which the runner works out which rows and metrics to redo.
 * Experiments still running are left to finish unless `force` (Evalap's
 * meaning). Returns the ids reopened.
 */
export async function retryExperiments(core: CoreContext, scope: ExperimentScope, force = false, tx?: Db): Promise<number[]> {
  return withLaunch(
    core,
    async (client) => {
      const ids = await store.reopenForRetry(client, await scope(client), force);
      // An experiment (or set) at its cap would stop again at its first commit, having spent more: refused, nothing reopened.
      await refuseAtCaps(client, ids);
      return { value: ids, tasks: ids.map((experiment_id) => ({ type: 'retry' as const, experiment_id })) };
    },
    tx,
  );
}

export async function stopExperiment(core: CoreContext, id: number) {
  const stopped = await stopExperiments(core, single(id));
  core.logger.info('experiment_stopped', { experiment_id: id, stopped: stopped.length > 0 });
  return getExperiment(core, id, {});
}

export async function retryExperiment(core: CoreContext, id: number, force = false) {
  // Read in the retry's transaction: once it commits, a runner may take the retry task and move
  // the experiment on before a later read, and the answer must say what the retry did.
  const [reopened, view] = await core.db.transaction(async (client) => {
    const ids = await retryExperiments(core, single(id), force, client);
    return [ids, await getExperiment(core, id, {}, client)] as const;
  });
  core.logger.info('experiment_retried', { experiment_id: id, reopened: reopened.length > 0 });
  return view;
}
