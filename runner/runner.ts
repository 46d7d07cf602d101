/**
 * The runner's main thread: polls SQS within its credits, runs fan-out and
 * retry tasks itself (they are database and queue work), prepares answer and
 * observation tasks with one query per received batch, hands them to the
 * broker, commits outcomes in groups, then deletes or releases messages.
 */
import { SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import type { Config } from '../core/config.js';
import { providerById, resolvedProvider } from '../core/judges/providers.js';
import type { Logger } from '../core/logger.js';
import { isInline } from '../core/metrics/score.js';
import type { ChatModel } from '../core/providers/openai.js';
import { enqueue, parseTask, SqsOutageLog, type Task, type TaskInput } from '../core/queue.js';
import type { SecretBox } from '../core/secrets.js';
import { untilReachable } from '../core/store/pool.js';
import { sweep } from '../core/sweeper.js';
import type { AnswerOutcome, ObservationOutcome } from '../core/store/outcomes.js';
import { experimentConfig, fanoutChunk, resetFailures, rowStates, type ExperimentConfig, type ResultConfig, type RowState } from '../core/store/work.js';
import { Acks } from './acks.js';
import { Broker, type Dispatchable } from './bus.js';
import { Committer } from './committer.js';
import { VisibilityHeartbeat } from './heartbeat.js';
import { Limiters } from './limiter.js';
import { Poller } from './poller.js';
import { WorkerPool } from './pool.js';
import { TaskProtection } from './task-protection.js';
import type { MetricUse, StoredAnswer, WorkerOutcome, WorkerTask } from './protocol.js';

export interface RunnerDeps {
  config: Config;
  pool: pg.Pool;
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string | undefined;
  secrets: SecretBox;
  logger: Logger;
  workerScript: URL;
  busAddress: string;
  threads: number;
}

/** A received message, from receipt until it is deleted or released. */
interface Held {
  id: string;
  receiptHandle: string;
  task?: Task;
  /** Attempts already made at this task (a redelivery counts as one). */
  attempt: number;
  /** Model (or judge) calls started for this task, in this delivery and the ones it was handed over from. */
  calls: number;
  /** Calls it arrived with: those started here are carried on if it is handed back. */
  carried: number;
  settled: boolean;
  /** Its outcome is being stored: it no longer occupies a task slot. */
  committing?: boolean;
}

/** What the runner remembers of a task while a worker runs it. */
interface Context {
  held: Held;
  task: Dispatchable;
  config: Resolved;
  /** Results this row still lacks, all scored or failed by this task or its follow-ups. */
  pending: ResultConfig[];
}

/** An experiment's configuration with its keys opened. */
interface Resolved extends ExperimentConfig {
  chatModel: ChatModel | null;
  judge: ChatModel | null;
  keyError?: string;
}

const CONFIG_TTL_MS = 2000;
/** Receipts of a fan-out whose experiment is not visible yet before it is taken as rolled back. */
const LAUNCH_RACE_ATTEMPTS = 4;
/** Back-offs longer than this hand the message back to SQS instead of holding it. */
const HOLD_LIMIT_MS = 30_000;
/** A new model's first wave is waited for this long at most before its freed slots are refilled. */
const FIRST_WAVE_MS = 1000;
/** How long a stopped experiment is remembered (a resumed one is cleared by its fresh config; this bounds memory). */
const STOPPED_MEMORY_MS = 10 * 60_000;
/** Past this, the runner starts polling with the workers it has; the others join when ready. */
const WORKERS_READY_TIMEOUT_MS = 20_000;
/** Parallel sends for the head of a fan-out: as many as the poller has receive loops at most. */
const FANOUT_HEAD_STREAMS = 10;
/** Pool connections opened before polling (see warmConnections). */
const WARM_CONNECTIONS = 4;

export class Runner {
  private readonly held = new Map<string, Held>();
  private readonly contexts = new Map<number, Context>();
  private readonly configs = new Map<number, { at: number; value: Promise<Resolved | undefined> }>();
  /** Experiments seen stopped (or deleted), with when: their tasks still here are dropped. */
  private readonly stopped = new Map<number, number>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly limiters: Limiters;
  private readonly broker: Broker;
  private readonly pool: WorkerPool;
  private readonly poller: Poller;
  private readonly heartbeat: VisibilityHeartbeat;
  /** ECS scale-in protection while anything is held: told of the transitions of `held` between empty and not. */
  private readonly protection: TaskProtection;
  private readonly acks: Acks;
  private readonly committer: Committer;
  private readonly maxHeld: number;
  private readonly handOverLog: SqsOutageLog;
  private nextTaskId = 1;
  /** Held messages whose outcome is being committed. */
  private committingHeld = 0;
  private stopping = false;
  private closing: Promise<void> | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private readonly counters = { done: 0, retries: 0, failed: 0, dropped: 0, deadLettered: 0 };
  /** Tests only: the query whose first attempt crashes its worker thread (EVALAP_FAULT_INJECTION). */
  private readonly crashOn: string | undefined;

  constructor(private readonly deps: RunnerDeps) {
    const { config, logger, sqs, queueUrl } = deps;
    const slots = config.MAX_CONCURRENT_TASKS;
    this.crashOn = config.EVALAP_FAULT_INJECTION?.match(/^crash-worker-on-query:(.*)$/)?.[1];
    const prefetch = config.RUNNER_PREFETCH ?? defaultPrefetch(slots);
    this.maxHeld = slots + prefetch;
    this.handOverLog = new SqsOutageLog(logger, 'hand_over_failed');
    this.limiters = new Limiters({
      maxConcurrency: slots,
      firstWaveMs: FIRST_WAVE_MS,
      onLimitChange: (key, limit, reason) => logger.info('model_limit_changed', { model: key, limit, reason }),
    });
    this.broker = new Broker({
      address: deps.busAddress,
      limiters: this.limiters,
      logger,
      onOutcome: (task, outcome) => this.onOutcome(task, outcome),
      onLost: (task) => this.onLost(task),
      discard: (task) => this.discardIfStopped(task),
    });
    this.pool = new WorkerPool({ size: deps.threads, slots, address: deps.busAddress, script: deps.workerScript, logger, onExit: (id) => this.broker.workerLost(id) });
    this.heartbeat = new VisibilityHeartbeat({ sqs, queueUrl, visibilityTimeoutSec: config.RUNNER_VISIBILITY_TIMEOUT_SEC, intervalMs: config.RUNNER_HEARTBEAT_INTERVAL_MS, logger });
    this.acks = new Acks(sqs, queueUrl, logger);
    this.protection = new TaskProtection({ agentUri: config.ECS_AGENT_URI, minutes: config.RUNNER_TASK_PROTECTION_MIN, logger });
    this.committer = new Committer({
      pool: deps.pool,
      sqs,
      queueUrl,
      logger,
      onSkipped: (ids) => this.onStopped(ids),
      moreComing: () => this.broker.runningCount > 0,
    });
    this.poller = new Poller({
      sqs,
      queueUrl,
      waitSec: config.RUNNER_POLL_WAIT_SEC,
      visibilityTimeoutSec: config.RUNNER_VISIBILITY_TIMEOUT_SEC,
      credits: () => this.credits(),
      onMessages: (messages) => this.onMessages(messages),
      logger,
      loops: Math.min(10, Math.ceil(this.maxHeld / 10)),
      // Half the prefetch stays ready while a batch of the other half is fetched.
      minBatch: Math.max(1, Math.floor(prefetch / 2)),
    });
  }

  /**
   * Starts the worker threads and waits until they are on the bus (loading
   * their modules takes a few hundred milliseconds) before taking messages:
   * a task received earlier would only wait, its visibility running.
   */
  async start(): Promise<void> {
    const started = Date.now();
    await this.broker.bind();
    this.pool.start();
    const [ready] = await Promise.all([this.broker.workersReady(this.deps.threads, WORKERS_READY_TIMEOUT_MS), this.warmConnections()]);
    if (!ready) {
      this.deps.logger.warn('workers_slow_to_start', { ready_after_ms: WORKERS_READY_TIMEOUT_MS, expected: this.deps.threads });
    }
    this.heartbeat.start();
    this.poller.start();
    this.statsTimer = setInterval(() => this.logStats(), this.deps.config.RUNNER_STATS_INTERVAL_MS);
    this.statsTimer.unref();
    this.sweepTimer = setInterval(() => this.sweep(), this.deps.config.RUNNER_SWEEP_INTERVAL_SEC * 1000);
    this.sweepTimer.unref();
    this.deps.logger.info('runner_started', {
      max_concurrent_tasks: this.deps.config.MAX_CONCURRENT_TASKS,
      worker_threads: this.deps.threads,
      prefetch: this.maxHeld - this.deps.config.MAX_CONCURRENT_TASKS,
      startup_ms: Date.now() - started,
    });
  }

  /**
   * Opens a few pool connections and runs the row-state query on each before
   * polling: a run's first batches are prepared concurrently, and on a cold
   * connection (opened, then planning against empty catalog caches) that took
   * 20–90 ms instead of 2 (c32 bench start).
   */
  private async warmConnections(): Promise<void> {
    const probe = () => rowStates(this.deps.pool, [{ experiment_id: 0, num_line: 0 }]);
    await Promise.all(Array.from({ length: WARM_CONNECTIONS }, probe)).catch((err: Error) =>
      this.deps.logger.warn('pool_warm_up_failed', { error: err.message }),
    );
  }

  /**
   * Messages this runner may still receive. A message whose outcome is being
   * committed holds no task slot, so up to MAX_CONCURRENT_TASKS of those do
   * not count: commits overlap with the next tasks instead of starving them.
   */
  private credits(): number {
    const overlap = Math.min(this.committingHeld, this.deps.config.MAX_CONCURRENT_TASKS);
    return this.maxHeld - (this.held.size - overlap);
  }

  // ------------------------------------------------------------ receiving

  private onMessages(messages: Message[]): void {
    // Messages received after SIGTERM are handed straight back: nothing to protect.
    if (this.held.size === 0 && messages.length && !this.stopping) this.protection.busy();
    const work: Held[] = [];
    for (const m of messages) {
      const held: Held = { id: m.MessageId!, receiptHandle: m.ReceiptHandle!, attempt: Math.max(0, Number(m.Attributes?.ApproximateReceiveCount ?? 1) - 1), calls: 0, carried: 0, settled: false };
      this.held.set(held.id, held);
      this.heartbeat.track(held.id, held.receiptHandle);
      if (this.stopping) {
        this.settle(held, 'release');
        continue;
      }
      const parsed = parseTask(m.Body);
      if (typeof parsed === 'string') {
        this.track(this.deadLetter(held, m.Body, parsed));
        continue;
      }
      held.task = parsed;
      if (parsed.type === 'answer' || parsed.type === 'observation') {
        held.attempt += parsed.attempts ?? 0;
        held.calls = held.carried = parsed.calls ?? 0;
      }
      if (parsed.type === 'fanout' || parsed.type === 'retry') this.track(this.control(held, parsed));
      else work.push(held);
    }
    if (work.length) this.track(this.prepare(work));
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch((err: Error) => this.deps.logger.error('runner_error', { error: err.message, stack: err.stack }));
    this.background.add(guarded);
    void guarded.finally(() => this.background.delete(guarded));
  }

  /** Deletes (done for good) or releases (to be redone) a message, and frees its credit. */
  private settle(held: Held, how: 'delete' | 'release', delaySec = 0): void {
    if (held.settled) return;
    held.settled = true;
    if (held.committing) this.committingHeld--;
    this.held.delete(held.id);
    if (this.held.size === 0) this.protection.idle();
    this.heartbeat.untrack(held.id);
    if (how === 'delete') this.acks.delete(held);
    else if (held.calls > held.carried) this.track(this.handOver(held, delaySec));
    else void this.acks.release([held], delaySec);
    this.poller.notify();
  }

  /**
   * Hands a task back as a copy that carries its attempts and calls (SQS
   * cannot change a message's body), then deletes the original; should the
   * copy not go, the original is released as it is: its work is not lost,
   * only the count of its calls.
   */
  private async handOver(held: Held, delaySec: number): Promise<void> {
    const task = { ...(held.task as Extract<Task, { type: 'answer' | 'observation' }>), attempts: held.attempt, calls: held.calls };
    try {
      // SQS delays a message at most 15 minutes.
      await this.deps.sqs.send(new SendMessageCommand({ QueueUrl: this.deps.queueUrl, MessageBody: JSON.stringify(task), DelaySeconds: Math.min(900, delaySec) }));
    } catch (err) {
      this.handOverLog.failed({ message_id: held.id, error: (err as Error).message });
      return this.acks.release([held], delaySec);
    }
    this.handOverLog.succeeded();
    this.acks.delete(held);
  }

  private async deadLetter(held: Held, body: string | undefined, reason: string): Promise<void> {
    this.counters.deadLettered++;
    this.deps.logger.error('message_dead_lettered', { message_id: held.id, reason });
    if (!this.deps.dlqUrl) {
      // Without a DLQ, keep it out of the way for an hour rather than lose it.
      this.settle(held, 'release', 3600);
      return;
    }
    await this.deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.deps.dlqUrl,
        MessageBody: body || '(empty)',
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) }, source_message_id: { DataType: 'String', StringValue: held.id } },
      }),
    );
    this.settle(held, 'delete');
  }

  // -------------------------------------------------- fan-out and retry tasks

  private async control(held: Held, task: Task): Promise<void> {
    try {
      if (task.type === 'retry') {
        if (await resetFailures(this.deps.pool, task.experiment_id)) {
          await enqueue(this.deps.sqs, this.deps.queueUrl, [{ type: 'fanout', experiment_id: task.experiment_id, stage: 'answers', from: 0, missing_only: true }]);
        }
      } else if (task.type === 'fanout') {
        const chunk = await fanoutChunk(this.deps.pool, task.experiment_id, task.from, this.deps.config.EVALAP_FANOUT_CHUNK, task.missing_only);
        if (chunk === 'missing' && held.attempt < LAUNCH_RACE_ATTEMPTS) {
          // The API sends a launch's fan-out just before committing the experiment: look again shortly.
          // An experiment still missing after that was rolled back, and its task is dropped.
          return this.settle(held, 'release', held.attempt + 1);
        }
        if (typeof chunk === 'object') {
          const tasks: TaskInput[] = [
            ...chunk.lines.map((num_line) => ({ type: 'answer' as const, experiment_id: task.experiment_id, num_line })),
            // An experiment without a model has no answers: its rows go straight to their observations.
            ...chunk.observations.map((o) => ({ type: 'observation' as const, experiment_id: task.experiment_id, ...o })),
          ];
          // The continuation goes last: if this task dies half-way, its redelivery redoes the chunk, idempotently.
          const started = Date.now();
          // This runner will likely take the first of these tasks: their configuration is read meanwhile.
          void this.config(task.experiment_id).catch(() => undefined);
          // One batch after another: parallel streams made bursts that starved the workers of CPU
          // (c32 bench: 1.17 of ideal with 8 streams, 1.10 with one), and a chunk is still sent far
          // faster than it is worked through. Except the head of a run, a first wave for every slot,
          // sent at once: the limiter waits for a new model's first wave to come back, so the
          // wave's stragglers would idle every slot that finished early.
          const head = task.from === 0 ? Math.ceil(this.deps.config.MAX_CONCURRENT_TASKS / 10) * 10 : 0;
          await enqueue(this.deps.sqs, this.deps.queueUrl, tasks.slice(0, head), Math.min(head / 10, FANOUT_HEAD_STREAMS));
          await enqueue(this.deps.sqs, this.deps.queueUrl, tasks.slice(head));
          if (chunk.next !== null) await enqueue(this.deps.sqs, this.deps.queueUrl, [{ ...task, from: chunk.next }]);
          this.deps.logger.debug('fanout_chunk_sent', { experiment_id: task.experiment_id, from: task.from, tasks: tasks.length, enqueue_ms: Date.now() - started });
        } else this.counters.dropped++;
      }
      this.settle(held, 'delete');
    } catch (err) {
      this.deps.logger.error('control_task_failed', { task: task.type, experiment_id: task.experiment_id, error: (err as Error).message });
      this.settle(held, 'release', Math.min(60, 2 ** held.attempt));
    }
  }

  // ------------------------------------------------ answer and observation tasks

  private config(id: number, fresh = false): Promise<Resolved | undefined> {
    const now = Date.now();
    const cached = this.configs.get(id);
    if (cached && !fresh && now - cached.at < CONFIG_TTL_MS) return cached.value;
    const value = experimentConfig(this.deps.pool, id).then((c) => c && this.resolve(c));
    this.configs.set(id, { at: now, value });
    // Only a running configuration is kept: a stopped (or missing) one may be resumed by a retry any moment.
    const forget = () => this.configs.get(id)?.value === value && this.configs.delete(id);
    value.then((c) => (!c || c.status === 'stopped') && forget(), forget);
    if (this.configs.size > 1000) for (const [k, v] of this.configs) if (now - v.at >= CONFIG_TTL_MS) this.configs.delete(k);
    return value;
  }

  private async resolve(c: ExperimentConfig): Promise<Resolved> {
    try {
      const open = async (sealed: string | null) => (sealed ? await this.deps.secrets.open(sealed) : null);
      const chatModel = c.hasRawOutput || c.model === null ? null : ({ ...(c.model as unknown as ChatModel), api_key: await open(c.modelApiKey) });
      const judge = this.judgeOf(c, await open(c.judgeApiKey));
      return { ...c, chatModel, judge };
    } catch {
      return { ...c, chatModel: null, judge: null, keyError: 'the stored provider key cannot be decrypted with this runner\'s key' };
    }
  }

  /**
   * The experiment's judge: one the API resolved from a provider, called
   * with this runner's key and URL for that provider (null when it has no
   * key for it); a full model as given, with its stored key; or, for
   * experiments launched before names were resolved, a name (or the
   * default judge) sent to the custom judge endpoint.
   */
  private judgeOf(c: ExperimentConfig, key: string | null): ChatModel | null {
    const { EVALAP_JUDGE_MODEL, EVALAP_JUDGE_BASE_URL, EVALAP_JUDGE_API_KEY } = this.deps.config;
    const given = c.judgeModel as (Partial<ChatModel> & { name: string; provider?: unknown }) | null;
    const provider = resolvedProvider(given);
    if (provider) {
      const served = providerById(this.deps.config, provider);
      if (!served) return null;
      const { provider: _, ...model } = given!;
      return { ...(model as ChatModel), base_url: served.baseUrl, api_key: served.apiKey ?? null };
    }
    if (given?.base_url) return { ...(given as ChatModel), api_key: key };
    const name = given?.name ?? EVALAP_JUDGE_MODEL;
    if (!name || !EVALAP_JUDGE_BASE_URL) return null;
    return { name, base_url: EVALAP_JUDGE_BASE_URL, api_key: EVALAP_JUDGE_API_KEY ?? null };
  }

  /** Hydrates a received batch with one query for its rows, then dispatches or settles each task. */
  private async prepare(batch: Held[]): Promise<void> {
    let states: RowState[];
    let configs: Map<number, Resolved | undefined>;
    try {
      const ids = [...new Set(batch.map((h) => h.task!.experiment_id))];
      configs = new Map(await Promise.all(ids.map(async (id) => [id, await this.config(id)] as const)));
      const keys = batch.map((h) => ({ experiment_id: h.task!.experiment_id, num_line: (h.task as { num_line: number }).num_line }));
      states = await rowStates(this.deps.pool, keys);
      // A metric added or reset (PATCH) since the configuration was cached: its rows would be found complete
      // and dropped, or scored with the old params.
      const stale = ids.filter((id) => {
        const known = new Set(configs.get(id)?.results.map((r) => `${r.id}.${r.version}`));
        return states.some((s) => s.experiment_id === id && s.results.some((r) => !known.has(r)));
      });
      for (const id of stale) configs.set(id, await this.config(id, true));
    } catch (err) {
      this.deps.logger.error('prepare_failed', { error: (err as Error).message });
      for (const held of batch) this.settle(held, 'release', 5);
      // The database is down: no more work until it answers, or every message received meanwhile is handed back, its receive count rising towards the DLQ.
      this.poller.hold(untilReachable(this.deps.pool));
      return;
    }
    const byKey = new Map(states.map((s) => [`${s.experiment_id}:${s.num_line}`, s]));
    // A fresh configuration is the truth: a stopped experiment may have been resumed by a retry.
    const newlyStopped: number[] = [];
    for (const [id, c] of configs) {
      if (c && c.status !== 'stopped') this.stopped.delete(id);
      else if (!this.stopped.has(id)) newlyStopped.push(id);
    }
    if (newlyStopped.length) this.onStopped(newlyStopped);
    for (const held of batch) {
      if (held.settled) continue;
      const task = held.task as Extract<Task, { type: 'answer' | 'observation' }>;
      const config = configs.get(task.experiment_id);
      const state = byKey.get(`${task.experiment_id}:${task.num_line}`);
      if (!config || config.status === 'stopped' || !state) {
        this.counters.dropped++;
        this.settle(held, 'delete');
        continue;
      }
      this.plan(held, task, config, state);
    }
  }

  private plan(held: Held, task: Extract<Task, { type: 'answer' | 'observation' }>, config: Resolved, state: RowState): void {
    const experimentId = task.experiment_id;
    const numLine = task.num_line;
    const missing = config.results.filter((r) => !state.observed.includes(r.id));
    // An experiment without a model scores the dataset row alone: it has no answer to record or to wait for.
    const modelless = config.model === null;
    if (!state.data) return this.fail(held, config, numLine, `row ${numLine} does not exist in the dataset`, missing, state.answer === null && !modelless);
    const row = canonicalRow(state.data, config.columnsMap);
    const base = { attempt: held.attempt, experimentId, numLine, row, timeoutMs: this.deps.config.RUNNER_MODEL_TIMEOUT_MS, ecoZone: this.deps.config.EVALAP_ECO_ZONE };

    if (task.type === 'observation') {
      const result = missing.find((r) => r.id === task.result_id);
      if (!result) return this.settle(held, 'delete');
      if (!modelless && (!state.answer || state.answer.error_msg !== null)) return this.fail(held, config, numLine, 'the row has no answer to score', [result], false);
      const judge = config.judge;
      const wire: WorkerTask = { ...base, id: this.nextTaskId++, kind: 'observation', answer: state.answer ? storedAnswer(state.answer) : undefined, inline: [], judge: { ...use(result), model: judge } };
      return this.dispatch(held, config, wire, [result], judge ?? undefined);
    }

    const inline = missing.filter((r) => isInline(r.name));
    if (state.answer) {
      if (state.answer.error_msg !== null) {
        // The row failed for good; results added since have nothing to score.
        if (missing.length) return this.fail(held, config, numLine, `no answer: ${state.answer.error_msg}`, missing, false);
        return this.settle(held, 'delete');
      }
      if (!inline.length) return this.commit(held, { answers: [], observations: [], followUps: this.judgeTasks(experimentId, numLine, missing) });
      const wire: WorkerTask = { ...base, id: this.nextTaskId++, kind: 'answer', answer: storedAnswer(state.answer), inline: inline.map(use) };
      return this.dispatch(held, config, wire, missing);
    }
    if (!config.chatModel) return this.fail(held, config, numLine, config.keyError ?? 'the experiment has no model to generate answers with', missing, true);
    const wire: WorkerTask = { ...base, id: this.nextTaskId++, kind: 'answer', model: config.chatModel, inline: inline.map(use) };
    if (this.crashOn !== undefined && held.attempt === 0 && row.query === this.crashOn) wire.crash = true;
    this.dispatch(held, config, wire, missing, config.chatModel);
  }

  private dispatch(held: Held, config: Resolved, wire: WorkerTask, pending: ResultConfig[], model?: ChatModel): void {
    if (held.settled) return;
    const budget = model ? { requestsPerMinute: num(model, 'requests_per_minute'), tokensPerMinute: num(model, 'tokens_per_minute') } : undefined;
    const task: Dispatchable = { wire, modelKey: model ? `${model.base_url}|${model.name}` : undefined, budget, notBefore: 0 };
    this.contexts.set(wire.id, { held, task, config, pending });
    this.broker.submit(task);
  }

  private judgeTasks(experimentId: number, numLine: number, missing: ResultConfig[]): TaskInput[] {
    return missing.filter((r) => !isInline(r.name)).map((r) => ({ type: 'observation', experiment_id: experimentId, result_id: r.id, num_line: numLine }));
  }

  /** Records a row (or its observations) as failed for good. */
  private fail(held: Held, config: ExperimentConfig, numLine: number, error: string, results: ResultConfig[], withAnswer: boolean): void {
    this.counters.failed++;
    const answers: AnswerOutcome[] = withAnswer ? [{ experiment_id: config.id, num_line: numLine, answer: null, error_msg: error, num_try: held.calls }] : [];
    const observations = results.map((r) => failedObservation(config.id, r.id, numLine, withAnswer ? `no answer: ${error}` : error));
    this.commit(held, { answers, observations, followUps: [] });
  }

  private commit(held: Held, item: Outcomes, isRecordOfRefusal = false): void {
    if (!held.committing) {
      held.committing = true;
      this.committingHeld++;
      this.poller.notify();
    }
    this.committer.add({
      ...item,
      done: () => {
        this.counters.done++;
        this.settle(held, 'delete');
      },
      failed: () => this.settle(held, 'release', 5),
      rejected: (err) => {
        // Not even the record of the refusal could be stored: leave it to redelivery and the dead-letter queue.
        if (isRecordOfRefusal) return this.settle(held, 'release', 60);
        this.counters.failed++;
        this.commit(held, refused(item, `the outcome could not be stored: ${err.message}`), true);
      },
    });
  }

  /**
   * Experiments found stopped (by a commit that had to drop their outcomes,
   * or by their configuration): the tasks of theirs prepared before and
   * waiting here or at the workers are dropped at once, not run first. Tasks
   * already calling a model finish, and their outcomes are dropped by the
   * commit. Tasks prepared later follow their fresh configuration.
   */
  private onStopped(ids: number[]): void {
    const now = Date.now();
    for (const id of ids) {
      this.stopped.set(id, now);
      this.configs.delete(id);
    }
    if (this.stopped.size > 1000) for (const [id, at] of this.stopped) if (now - at > STOPPED_MEMORY_MS) this.stopped.delete(id);
    this.broker.recallWhere((t) => this.stopped.has(t.wire.experimentId));
    this.broker.pump();
  }

  private discardIfStopped(task: Dispatchable): boolean {
    if (!this.stopped.has(task.wire.experimentId)) return false;
    const ctx = this.contexts.get(task.wire.id);
    this.contexts.delete(task.wire.id);
    if (ctx && !ctx.held.settled) {
      this.counters.dropped++;
      this.settle(ctx.held, 'delete');
    }
    return true;
  }

  // -------------------------------------------------------------- outcomes

  private onOutcome(task: Dispatchable, outcome: WorkerOutcome): void {
    const ctx = this.contexts.get(task.wire.id);
    this.contexts.delete(task.wire.id);
    if (!ctx || ctx.held.settled) return;
    const { held, config, pending } = ctx;
    const wire = task.wire;
    const call = outcome.call;
    if (call) held.calls++;
    if (call && !call.ok) {
      if (call.retryable && held.attempt + 1 < this.deps.config.RUNNER_MAX_ATTEMPTS) {
        return this.retryLater(ctx, call.retryAfterMs ?? backoffMs(held.attempt));
      }
      const error = call.retryable ? `${call.message} (failed ${held.attempt + 1} attempts)` : call.message;
      return this.fail(held, config, wire.numLine, error, pending, wire.kind === 'answer');
    }
    // A judged observation took the judge's calls; a metric computed here took one try.
    const observationTries = wire.kind === 'observation' ? Math.max(1, held.calls) : 1;
    const observations = outcome.observations.map((o) => ({ experiment_id: config.id, result_id: o.resultId, num_line: wire.numLine, score: o.score, observation: o.observation, error_msg: o.error_msg, execution_time: o.execution_time, emission_carbon: o.emission_carbon ?? null, num_try: observationTries }));
    const answers: AnswerOutcome[] = outcome.answer ? [{ experiment_id: config.id, num_line: wire.numLine, ...outcome.answer, error_msg: null, num_try: held.calls }] : [];
    const followUps = wire.kind === 'answer' ? this.judgeTasks(config.id, wire.numLine, pending) : [];
    this.commit(held, { answers, observations, followUps });
  }

  private retryLater(ctx: Context, delayMs: number): void {
    this.counters.retries++;
    ctx.held.attempt++;
    if (delayMs > HOLD_LIMIT_MS) return this.settle(ctx.held, 'release', Math.ceil(delayMs / 1000));
    const wire = { ...ctx.task.wire, id: this.nextTaskId++, attempt: ctx.held.attempt, crash: false };
    const task: Dispatchable = { ...ctx.task, wire, notBefore: Date.now() + delayMs };
    this.contexts.set(wire.id, { ...ctx, task });
    this.broker.submit(task);
  }

  /** A worker died with this task: run it again, up to the attempt limit. */
  private onLost(task: Dispatchable): void {
    const ctx = this.contexts.get(task.wire.id);
    this.contexts.delete(task.wire.id);
    if (!ctx || ctx.held.settled) return;
    // The task had started: a call it makes was likely sent.
    if (task.wire.model || task.wire.judge) ctx.held.calls++;
    if (ctx.held.attempt + 1 >= this.deps.config.RUNNER_MAX_ATTEMPTS) {
      return this.fail(ctx.held, ctx.config, task.wire.numLine, `the worker running this task died ${ctx.held.attempt + 1} times`, ctx.pending, task.wire.kind === 'answer' && !task.wire.answer);
    }
    this.retryLater(ctx, 0);
  }

  /** One sweep at a time here (and across runners, by the database's lock); a failed sweep waits for the next tick. */
  private sweep(): void {
    if (this.sweeping || this.stopping) return;
    this.sweeping = true;
    const { pool, sqs, queueUrl, dlqUrl, logger, config } = this.deps;
    const run = sweep({ pool, sqs, queueUrl, dlqUrl, logger, stallAfterSec: config.EVALAP_STALL_AFTER_SEC, maxRequeues: config.EVALAP_STALL_REQUEUES })
      .catch((err: Error) => logger.warn('sweep_failed', { error: err.message }))
      .finally(() => (this.sweeping = false));
    this.track(run);
  }

  private logStats(): void {
    const interval = this.deps.config.RUNNER_STATS_INTERVAL_MS / 1000;
    this.deps.logger.info('runner_stats', {
      done_per_s: Math.round((this.counters.done / interval) * 10) / 10,
      held: this.held.size,
      pending: this.broker.pendingCount,
      running: this.broker.runningCount,
      committing: this.committer.size,
      retries: this.counters.retries,
      failed: this.counters.failed,
      dropped: this.counters.dropped,
      dead_lettered: this.counters.deadLettered,
      models: this.limiters.all().map((l) => l.stats()),
    });
    this.counters.done = 0;
  }

  // -------------------------------------------------------------- shutdown

  /**
   * Graceful stop (SIGTERM): stop polling, hand back what has not started,
   * let running tasks finish within the grace period, hand back the rest,
   * then close everything. Memoized.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const { logger, config } = this.deps;
    const deadline = Date.now() + config.RUNNER_SHUTDOWN_GRACE_MS;
    this.stopping = true;
    logger.info('runner_stopping', { held: this.held.size, running: this.broker.runningCount });
    const step = async (name: string, fn: () => Promise<unknown> | unknown) => {
      try {
        await fn();
      } catch (err) {
        logger.error('shutdown_step_failed', { step: name, error: (err as Error).message });
      }
    };
    await step('stop_polling', () => this.poller.stop());
    await step('release_pending', () => {
      this.broker.pause();
      this.releaseNotStarted();
    });
    await step('wait_running', async () => {
      while ((this.broker.runningCount > 0 || this.committer.size > 0 || this.background.size > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        this.releaseNotStarted();
      }
    });
    await step('flush_commits', () => this.committer.idle());
    await step('release_rest', () => {
      for (const held of [...this.held.values()]) this.settle(held, 'release');
    });
    // Hand-overs of tasks that had made calls: a copy is sent before the original goes.
    await step('hand_over', async () => {
      while (this.background.size > 0) await Promise.all([...this.background]);
    });
    await step('stop_workers', async () => {
      this.broker.stopWorkers();
      // Tasks still running were handed back already: their outcomes would be dropped, so no wait for them.
      await this.pool.close(this.broker.runningCount > 0 ? 0 : 2000);
    });
    await step('heartbeat', () => this.heartbeat.close());
    await step('acks', () => this.acks.drain());
    // Last: until the messages are handed back, the task still holds work that protection is for.
    await step('task_protection', () => this.protection.close());
    await step('bus', () => this.broker.close());
    clearInterval(this.statsTimer);
    clearInterval(this.sweepTimer);
    logger.info('runner_stopped', {});
  }

  private releaseNotStarted(): void {
    for (const task of this.broker.drainPending()) {
      const ctx = this.contexts.get(task.wire.id);
      this.contexts.delete(task.wire.id);
      if (ctx) this.settle(ctx.held, 'release');
    }
  }
}

// ----------------------------------------------------------------- helpers

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

type Outcomes = { answers: AnswerOutcome[]; observations: (ObservationOutcome & { experiment_id: number })[]; followUps: TaskInput[] };

/** The outcomes of `item` recorded as failed with `error`, its follow-up judge tasks included (they have no answer to score). */
function refused(item: Outcomes, error: string): Outcomes {
  const answers = item.answers.map((a) => ({ experiment_id: a.experiment_id, num_line: a.num_line, answer: null, error_msg: error, num_try: a.num_try }));
  const judged = item.followUps.flatMap((t) => (t.type === 'observation' ? [failedObservation(t.experiment_id, t.result_id, t.num_line, `no answer: ${error}`)] : []));
  const observations = [...item.observations.map((o) => failedObservation(o.experiment_id, o.result_id, o.num_line, error)), ...judged];
  return { answers, observations, followUps: [] };
}

function failedObservation(experimentId: number, resultId: number, numLine: number, error: string): ObservationOutcome & { experiment_id: number } {
  return { experiment_id: experimentId, result_id: resultId, num_line: numLine, score: null, error_msg: error, num_try: 1 };
}

const num = (m: ChatModel, key: string): number | null => {
  const v = (m as unknown as Record<string, unknown>)[key];
  return typeof v === 'number' ? v : null;
};

/**
 * Messages held beyond the task slots: enough for two receives of ten, so a
 * freed slot finds a task already prepared while the next batch is fetched,
 * and a quarter of the slots on large runners.
 */
function defaultPrefetch(slots: number): number {
  return Math.max(20, Math.ceil(slots / 4));
}

/** Jittered exponential back-off ("full jitter"): 0.5 s, 1 s, 2 s ... capped at 20 s. */
export function backoffMs(attempt: number): number {
  return Math.round(Math.random() * Math.min(20_000, 500 * 2 ** attempt));
}
