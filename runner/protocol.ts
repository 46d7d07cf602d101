/**
 * The bus protocol between the broker (ROUTER, main thread) and the workers
 * (DEALER, one per worker thread). Every message is `[type, json]`; the
 * ROUTER sees `[workerId, type, json]`.
 */
import type { AnswerFields } from '../core/answer.js';
import type { ObservationRecord } from '../core/observation.js';
import type { ChatModel } from '../core/providers/openai.js';
import type { RateLimitState } from '../core/providers/rate-limits.js';

export const Frame = {
  /** worker → broker: connected, with how many tasks it runs at once. */
  Ready: 'ready',
  /** broker → worker: run this task, now if a slot is free, else when one frees. */
  Task: 'task',
  /** worker → broker: this task's outcome; its slot is free again. */
  Done: 'done',
  /** broker → worker: `{ ids }`: hand back those of these tasks that have not started. */
  Recall: 'recall',
  /** worker → broker: `{ ids }`: tasks handed back unstarted (recalled, or queued behind a failed call). */
  Returned: 'returned',
  /** broker → worker: finish what you run, then close and exit. */
  Stop: 'stop',
} as const;

export interface MetricUse {
  resultId: number;
  name: string;
  params: Record<string, unknown> | null;
}

/** An answer on the bus (both ways): the answer's one shape, core/answer.ts. */
export type StoredAnswer = AnswerFields;

/** A task as a worker runs it: everything it needs, nothing it must fetch. */
export interface WorkerTask {
  id: number;
  kind: 'answer' | 'observation';
  attempt: number;
  experimentId: number;
  numLine: number;
  /** The dataset row with Evalap's field names (columns_map applied). */
  row: Record<string, unknown>;
  /** Answer tasks: the model to call when `answer` is absent. */
  model?: ChatModel;
  /** The stored answer, when the row already has one. */
  answer?: StoredAnswer;
  /** Metrics scored in this task, without a model call. */
  inline: MetricUse[];
  /**
   * Observation tasks: the judged metric and its judge, with the evaluation
   * steps the experiment's rows share when its judge shares some (absent:
   * this task writes them, runner/judge-steps.ts).
   */
  judge?: MetricUse & { model: ChatModel | null; steps?: string[] };
  timeoutMs: number;
  /** Electricity-mix zone of the energy and carbon estimates (EVALAP_ECO_ZONE); `auto` when absent. */
  ecoZone?: string;
}

/**
 * What the provider's last reply in a task stated about its rate limits, and
 * when that reply's request was sent (epoch ms): the limiter paces to it.
 * Present only when the reply stated something.
 */
export interface StatedLimits {
  limits?: RateLimitState;
  sentAt?: number;
}

/**
 * How a task's model call(s) ended, for the limiter and the retry decision.
 * `calls`: requests the task sent when more than one (a tool loop's turns, a
 * judge's several steps); each counts against the model's budget.
 */
export type CallResult = (
  | ({ ok: true; tokens: number } & StatedLimits)
  | ({ ok: false; kind: 'throttle' | 'timeout' | 'server' | 'other'; retryable: boolean; retryAfterMs?: number; message: string } & StatedLimits)
) & { calls?: number };

/** An observation on the bus: its one shape (core/observation.ts), for its result. */
export type ObservationFields = ObservationRecord & { resultId: number };

export interface WorkerOutcome {
  id: number;
  /** Present when the task called a model. */
  call?: CallResult;
  /** The answer the task produced (answer tasks that generated one). */
  answer?: StoredAnswer;
  observations: ObservationFields[];
  /** The evaluation steps this task's judge wrote for the experiment's rows to share. */
  madeSteps?: string[];
}

export const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
export const decode = <T>(buf: Buffer): T => JSON.parse(buf.toString()) as T;
