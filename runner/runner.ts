/**
 * The runner's main thread: the lifecycle of each received message, from the
 * poller to its delete or release. Fan-out and retry tasks go to tasks/;
 * answer and observation tasks are read with one query per received batch,
 * planned (plan.ts), handed to the broker, their outcomes committed in groups.
 * Also the runner's start, stats and graceful shutdown.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import { afterFailedCall, afterLostWorker, Delays, releaseDelaySec, SQS_MAX_DELAY_SEC } from '../core/backoff.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { CallableModel } from '../core/model-config.js';
import { parseTask, SQS_BATCH_MAX, SqsOutageLog, type Task, type TaskInput } from '../core/queue.js';
import type { SecretBox } from '../core/secrets.js';
import { untilReachable } from '../core/store/pool.js';
import { sweep } from '../core/sweeper.js';
import type { AnswerOutcome, ObservationOutcome } from '../core/store/outcomes.js';
import { rowStates, type ExperimentConfig, type ResultConfig, type RowState } from '../core/store/work.js';
import { Acks } from './acks.js';
import { Broker, type Dispatchable } from './broker.js';
import { Committer } from './committer.js';
import { Experiments } from './experiments.js';
import { JudgeSteps, sameSteps } from './judge-steps.js';
import type { StepsKey } from '../core/store/judge-steps.js';
import { VisibilityHeartbeat } from './heartbeat.js';
import { Limiters } from './limiter.js';
import { RateShare } from './rate-share.js';
import { MAX_RECEIVE_LOOPS, Poller } from './poller.js';
import { WorkerPool } from './pool.js';
import { TaskProtection } from './task-protection.js';
import { runFanout, type FanoutDeps } from './tasks/fanout.js';
import { runRetry } from './tasks/retry.js';
import { judgeTasks, plan, staleConfigs, type Decision, type Resolved, type WorkTask } from './plan.js';
import type { WorkerOutcome, WorkerTask } from './protocol.js';

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
  /** Its worker writes the evaluation steps the experiment's rows share (see JudgeSteps). */
  makesSteps?: StepsKey;
}

/** What the runner remembers of a task while a worker runs it. */
interface Context {
  held: Held;
  task: Dispatchable;
  config: Resolved;
  /** Results this row still lacks, all scored or failed by this task or its follow-ups. */
  pending: ResultConfig[];
}

/** A new model's first wave is waited for this long at most before its freed slots are refilled. */
const FIRST_WAVE_MS = 1000;
/** Past this, the runner starts polling with the workers it has; the others join when ready. */
const WORKERS_READY_TIMEOUT_MS = 20_000;
/** A model met for the first time waits this long at most for its share of the limits (see RateShare). */
const SHARE_WAIT_MS = 1000;
/** Pool connections opened before polling (see warmConnections). */
const WARM_CONNECTIONS = 4;
/** A claim to write shared evaluation steps holds this many model-call timeouts: the steps call, the row's own call, a retry. */
const STEPS_LEASE_CALLS = 3;
/** How often a task waiting for steps another runner writes looks again. */
const STEPS_POLL_MS = 500;

export class Runner {
  private readonly held = new Map<string, Held>();
  private readonly contexts = new Map<number, Context>();
  private readonly experiments: Experiments;
  private readonly steps: JudgeSteps;
  private readonly fanoutDeps: FanoutDeps;
  private readonly background = new Set<Promise<unknown>>();
  private readonly limiters: Limiters;
  /** Limits shared with the other runners; none when RUNNER_RATE_SHARE_INTERVAL_MS is 0. */
  private readonly rateShare: RateShare | undefined;
  private readonly broker: Broker;
  /** The worker threads (`deps.pool` is PostgreSQL's). */
  private readonly workers: WorkerPool;
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

  constructor(private readonly deps: RunnerDeps) {
    const { config, logger, sqs, queueUrl } = deps;
    const slots = config.MAX_CONCURRENT_TASKS;
    const prefetch = config.RUNNER_PREFETCH ?? defaultPrefetch(slots);
    this.maxHeld = slots + prefetch;
    this.handOverLog = new SqsOutageLog(logger, 'hand_over_failed');
    this.experiments = new Experiments({ pool: deps.pool, secrets: deps.secrets, config });
    this.steps = new JudgeSteps({ db: deps.pool, logger, owner: randomUUID(), leaseMs: STEPS_LEASE_CALLS * config.RUNNER_MODEL_TIMEOUT_MS, pollMs: STEPS_POLL_MS });
    this.fanoutDeps = {
      ...deps,
      chunkSize: config.EVALAP_FANOUT_CHUNK,
      slots,
      warm: (id) => void this.experiments.config(id).catch(() => undefined),
    };
    const sharing = config.RUNNER_RATE_SHARE_INTERVAL_MS > 0;
    this.limiters = new Limiters({
      maxConcurrency: slots,
      firstWaveMs: FIRST_WAVE_MS,
      shared: sharing ? { waitMs: SHARE_WAIT_MS, exchange: () => this.rateShare?.soon() } : undefined,
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
    this.rateShare = sharing
      ? new RateShare({ pool: deps.pool, limiters: this.limiters, logger, intervalMs: config.RUNNER_RATE_SHARE_INTERVAL_MS, onChange: (closed) => this.broker.reconsider(closed) })
      : undefined;
    this.workers = new WorkerPool({ size: deps.threads, slots, address: deps.busAddress, script: deps.workerScript, logger, onExit: (id) => this.broker.workerLost(id) });
    this.heartbeat = new VisibilityHeartbeat({ sqs, queueUrl, visibilityTimeoutSec: config.RUNNER_VISIBILITY_TIMEOUT_SEC, intervalMs: config.RUNNER_HEARTBEAT_INTERVAL_MS, logger });
    this.acks = new Acks(sqs, queueUrl, logger);
    this.protection = new TaskProtection({ agentUri: config.ECS_AGENT_URI, minutes: config.RUNNER_TASK_PROTECTION_MIN, quietMs: config.RUNNER_TASK_PROTECTION_QUIET_SEC * 1000, logger });
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
      loops: Math.min(MAX_RECEIVE_LOOPS, Math.ceil(this.maxHeld / SQS_BATCH_MAX)),
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
    this.workers.start();
    const [ready] = await Promise.all([this.broker.workersReady(this.deps.threads, WORKERS_READY_TIMEOUT_MS), this.warmConnections(), this.rateShare?.start()]);
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
   * many times longer than on a warm one.
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
    if (held.makesSteps) {
      // Handed back or failed before its steps were stored: the claim goes to the next task.
      this.track(this.steps.settle(held.makesSteps, undefined));
      held.makesSteps = undefined;
    }
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
    const task = { ...(held.task as WorkTask), attempts: held.attempt, calls: held.calls };
    try {
      await this.deps.sqs.send(new SendMessageCommand({ QueueUrl: this.deps.queueUrl, MessageBody: JSON.stringify(task), DelaySeconds: Math.min(SQS_MAX_DELAY_SEC, delaySec) }));
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
      this.settle(held, 'release', Delays.noDeadLetterQueueSec);
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
      if (task.type === 'retry') await runRetry(this.deps, task);
      else if (task.type === 'fanout') {
        const result = await runFanout(this.fanoutDeps, task, { messageId: held.id, attempt: held.attempt });
        if (result === 'not_visible') return this.settle(held, 'release', Delays.launchRaceSec(held.attempt));
        if (result === 'dropped') this.counters.dropped++;
      }
      this.settle(held, 'delete');
    } catch (err) {
      this.deps.logger.error('control_task_failed', { task: task.type, experiment_id: task.experiment_id, error: (err as Error).message });
      this.settle(held, 'release', Delays.controlTaskRetrySec(held.attempt));
    }
  }

  // ------------------------------------------------ answer and observation tasks

  /** Hydrates a received batch with one query for its rows, then dispatches or settles each task. */
  private async prepare(batch: Held[]): Promise<void> {
    let states: RowState[];
    let configs: Map<number, Resolved | undefined>;
    try {
      const ids = [...new Set(batch.map((h) => h.task!.experiment_id))];
      configs = new Map(await Promise.all(ids.map(async (id) => [id, await this.experiments.config(id)] as const)));
      const keys = batch.map((h) => ({ experiment_id: h.task!.experiment_id, num_line: (h.task as { num_line: number }).num_line }));
      states = await rowStates(this.deps.pool, keys);
      for (const id of staleConfigs(configs, states)) configs.set(id, await this.experiments.config(id, true));
    } catch (err) {
      this.deps.logger.error('prepare_failed', { error: (err as Error).message });
      for (const held of batch) this.settle(held, 'release', Delays.databaseTroubleSec);
      // The database is down: no more work until it answers, or every message received meanwhile is handed back, its receive count rising towards the DLQ.
      this.poller.hold(untilReachable(this.deps.pool));
      return;
    }
    const byKey = new Map(states.map((s) => [`${s.experiment_id}:${s.num_line}`, s]));
    const newlyStopped = this.experiments.reconcile(configs);
    if (newlyStopped.length) this.onStopped(newlyStopped);
    const settings = { timeoutMs: this.deps.config.RUNNER_MODEL_TIMEOUT_MS, ecoZone: this.deps.config.EVALAP_ECO_ZONE };
    for (const held of batch) {
      if (held.settled) continue;
      const task = held.task as WorkTask;
      const config = configs.get(task.experiment_id);
      const decision = plan(task, held.attempt, config, byKey.get(`${task.experiment_id}:${task.num_line}`), settings);
      this.carryOut(held, task, config, decision);
    }
  }

  private carryOut(held: Held, task: WorkTask, config: Resolved | undefined, decision: Decision): void {
    switch (decision.kind) {
      case 'drop':
        this.counters.dropped++;
        return this.settle(held, 'delete');
      case 'done':
        return this.settle(held, 'delete');
      case 'fail':
        return this.fail(held, config!, task.num_line, decision.error, decision.results, decision.withAnswer);
      case 'commit':
        return this.commit(held, { answers: [], observations: [], followUps: decision.followUps });
      case 'dispatch':
        return this.dispatch(held, config!, { ...decision.wire, id: this.nextTaskId++ }, decision.pending, decision.model);
    }
  }

  private dispatch(held: Held, config: Resolved, wire: WorkerTask, pending: ResultConfig[], model?: CallableModel): void {
    if (held.settled) return;
    const stepsKey = wire.judge && this.steps.keyOf(wire.experimentId, wire.judge);
    if (stepsKey) return this.track(this.dispatchWithSteps(held, config, wire, pending, stepsKey, model));
    this.submit(held, config, wire, pending, model);
  }

  /** A task of a metric whose rows share evaluation steps: sent with the stored steps, or to write them, once the store says which. */
  private async dispatchWithSteps(held: Held, config: Resolved, wire: WorkerTask, pending: ResultConfig[], key: StepsKey, model?: CallableModel): Promise<void> {
    let gate;
    try {
      gate = await this.steps.gate(key, () => !held.settled && !this.stopping);
    } catch (err) {
      this.deps.logger.error('judge_steps_failed', { experiment_id: key.experimentId, metric: key.metric, error: (err as Error).message });
      return this.settle(held, 'release', Delays.databaseTroubleSec);
    }
    if (!gate) return;
    if (held.settled) {
      // Handed back while it waited: a claim it took is given up.
      if ('make' in gate) this.track(this.steps.settle(gate.make, undefined));
      return;
    }
    if ('make' in gate) held.makesSteps = gate.make;
    this.submit(held, config, 'steps' in gate ? withSteps(wire, gate.steps) : wire, pending, model);
  }

  private submit(held: Held, config: Resolved, wire: WorkerTask, pending: ResultConfig[], model?: CallableModel): void {
    const budget = model ? { requestsPerMinute: perMinute(model.requests_per_minute), tokensPerMinute: perMinute(model.tokens_per_minute) } : undefined;
    const task: Dispatchable = { wire, modelKey: model ? `${model.base_url}|${model.name}` : undefined, budget, notBefore: 0 };
    this.contexts.set(wire.id, { held, task, config, pending });
    this.broker.submit(task);
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
      failed: () => this.settle(held, 'release', Delays.databaseTroubleSec),
      rejected: (err) => {
        // Not even the record of the refusal could be stored: leave it to redelivery and the dead-letter queue.
        if (isRecordOfRefusal) return this.settle(held, 'release', Delays.unstorableSec);
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
    this.experiments.markStopped(ids);
    this.broker.recallWhere((t) => this.experiments.isStopped(t.wire.experimentId));
    this.broker.pump();
  }

  private discardIfStopped(task: Dispatchable): boolean {
    if (!this.experiments.isStopped(task.wire.experimentId)) return false;
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
      const next = afterFailedCall(call, held.attempt, this.deps.config.RUNNER_MAX_ATTEMPTS);
      if (next.retry) return this.retryLater(ctx, next.delayMs);
      return this.fail(held, config, wire.numLine, next.error, pending, wire.kind === 'answer');
    }
    if (held.makesSteps) return this.track(this.afterStepsWritten(ctx, outcome));
    this.commitOutcome(ctx, outcome);
  }

  /**
   * The outcome of the task that was to write the shared evaluation steps:
   * they are stored before its row is committed, and the row is judged again
   * should other steps have been stored first.
   */
  private async afterStepsWritten(ctx: Context, outcome: WorkerOutcome): Promise<void> {
    const { held } = ctx;
    const key = held.makesSteps!;
    held.makesSteps = undefined;
    let stored: string[] | null;
    try {
      stored = await this.steps.settle(key, outcome.madeSteps);
    } catch (err) {
      this.deps.logger.error('judge_steps_failed', { experiment_id: key.experimentId, metric: key.metric, error: (err as Error).message });
      return this.settle(held, 'release', Delays.databaseTroubleSec);
    }
    if (held.settled) return;
    if (stored && outcome.madeSteps && !sameSteps(stored, outcome.madeSteps)) {
      const task: Dispatchable = { ...ctx.task, wire: { ...withSteps(ctx.task.wire, stored), id: this.nextTaskId++ }, notBefore: 0 };
      this.contexts.set(task.wire.id, { ...ctx, task });
      return this.broker.submit(task);
    }
    this.commitOutcome(ctx, outcome);
  }

  private commitOutcome({ held, config, pending, task: { wire } }: Context, outcome: WorkerOutcome): void {
    // A judged observation took the judge's calls; a metric computed here took one try.
    const observationTries = wire.kind === 'observation' ? Math.max(1, held.calls) : 1;
    const observations = outcome.observations.map((o) => ({ experiment_id: config.id, result_id: o.resultId, num_line: wire.numLine, score: o.score, observation: o.observation, error_msg: o.error_msg, execution_time: o.execution_time, emission_carbon: o.emission_carbon ?? null, num_try: observationTries }));
    const answers: AnswerOutcome[] = outcome.answer ? [{ experiment_id: config.id, num_line: wire.numLine, ...outcome.answer, error_msg: null, num_try: held.calls }] : [];
    const followUps = wire.kind === 'answer' ? judgeTasks(config.id, wire.numLine, pending) : [];
    this.commit(held, { answers, observations, followUps });
  }

  private retryLater(ctx: Context, delayMs: number): void {
    this.counters.retries++;
    ctx.held.attempt++;
    const releaseSec = releaseDelaySec(delayMs);
    if (releaseSec !== undefined) return this.settle(ctx.held, 'release', releaseSec);
    const wire = { ...ctx.task.wire, id: this.nextTaskId++, attempt: ctx.held.attempt };
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
    const next = afterLostWorker(ctx.held.attempt, this.deps.config.RUNNER_MAX_ATTEMPTS);
    if (!next.retry) return this.fail(ctx.held, ctx.config, task.wire.numLine, next.error, ctx.pending, task.wire.kind === 'answer' && !task.wire.answer);
    this.retryLater(ctx, next.delayMs);
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
        await new Promise((r) => setTimeout(r, Delays.shutdownPollMs));
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
      await this.workers.close(this.broker.runningCount > 0 ? 0 : Delays.shutdownWorkersMs);
    });
    await step('heartbeat', () => this.heartbeat.close());
    await step('rate_share', () => this.rateShare?.stop());
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

/** The task with the evaluation steps its judge shares with the experiment's other rows. */
const withSteps = (wire: WorkerTask, steps: string[]): WorkerTask => ({ ...wire, judge: { ...wire.judge!, steps } });

/** A stored budget, or none: the stored JSON is read as it is, whatever wrote it. */
const perMinute = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/**
 * Messages held beyond the task slots: enough for two receives of ten, so a
 * freed slot finds a task already prepared while the next batch is fetched,
 * and a quarter of the slots on large runners.
 */
function defaultPrefetch(slots: number): number {
  return Math.max(2 * SQS_BATCH_MAX, Math.ceil(slots / 4));
}
