/**
 * ECS task scale-in protection while the runner holds messages. The runner
 * says when it goes from holding nothing to holding something (`busy`) and
 * back (`idle`); one timer does the rest: protection is asked of the ECS
 * agent at once when the runner becomes busy, renewed while it stays busy,
 * and cleared once it has held nothing for `QUIET_PERIOD_MS`. Outside ECS
 * (no `ECS_AGENT_URI`) nothing is ever sent.
 *
 * The agent endpoint (ECS developer guide, "Task scale-in protection
 * endpoint": https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html):
 * `PUT ${ECS_AGENT_URI}/task-protection/v1/state` with
 * `{"ProtectionEnabled":true,"ExpiresInMinutes":N}` (N from 1 to 2880) or
 * `{"ProtectionEnabled":false}`. It answers `{"protection":{...}}` on
 * success, `{"failure":{"Arn","Detail","Reason"}}` when ECS refused the task
 * (with HTTP 200: a 200 is not a success by itself), and
 * `{"requestID","error":{"Arn","Code","Message"}}` with a 4xx/5xx on an
 * exception (AccessDeniedException without ecs:UpdateTaskProtection on the
 * task role, ThrottlingException, RequestCanceled when the agent could not
 * reach ECS). The agent rejects unknown request fields (amazon-ecs-agent,
 * ecs-agent/tmds/handlers/taskprotection/v1/handlers/handlers.go).
 *
 * Failures never reach the runner: they are logged and retried with
 * back-off on the same timer.
 */
import http from 'node:http';
import { Delays } from '../core/backoff.js';
import type { Logger } from '../core/logger.js';

/**
 * How long the runner must have held nothing before its protection is
 * cleared, by default (RUNNER_TASK_PROTECTION_QUIET_SEC). Longer than the longest SQS long poll (20 s, the cap of
 * RUNNER_POLL_WAIT_SEC), so a runner that runs dry between two receives of a
 * busy queue is refilled before it gives protection up: each clear and
 * re-enable would cost two ECS API calls, which are throttled, for nothing.
 * Short beside the minutes a scaling policy waits between scale-ins, so an
 * idle runner is soon a candidate again.
 */
export const QUIET_PERIOD_MS = 30_000;

/**
 * Longest wait for one answer of the agent. The agent gives its own call to
 * ECS 4 s (ecsCallTimeout in amazon-ecs-agent's task protection handler) and
 * then answers RequestCanceled: past 10 s the agent itself is not answering.
 */
export const CALL_TIMEOUT_MS = 10_000;

/** Bytes of an answer read; the agent's are a few hundred. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The ECS limits on ExpiresInMinutes (see the endpoint page above). */
const MIN_MINUTES = 1;
const MAX_MINUTES = 2880;

export interface TaskProtectionOptions {
  /** ECS_AGENT_URI, set by ECS in every task; unset, this class sends nothing. */
  agentUri: string | undefined;
  /** RUNNER_TASK_PROTECTION_MIN: minutes of protection each enable or renewal asks for. */
  minutes: number;
  /** RUNNER_TASK_PROTECTION_QUIET_SEC in ms: how long the runner holds nothing before the protection is cleared. @defaultvalue QUIET_PERIOD_MS */
  quietMs?: number;
  logger: Logger;
}

type Action = 'enable' | 'clear';

type Outcome =
  | { ok: true; expirationDate: unknown }
  | {
      ok: false;
      /** The agent answered, so nothing changed; false when the call may have taken effect (timeout, lost connection, 5xx). */
      definite: boolean;
      status: number;
      code: string;
      message: string;
    };

/**
 * Asks the ECS agent for scale-in protection while the runner is busy.
 *
 * @example
 * const protection = new TaskProtection({ agentUri: config.ECS_AGENT_URI, minutes: config.RUNNER_TASK_PROTECTION_MIN, logger });
 * protection.busy();        // the runner went from 0 held messages to some
 * protection.idle();        // … and back to 0
 * await protection.close(); // at shutdown, once the messages are handed back
 */
export class TaskProtection {
  private readonly url: URL | undefined;
  private readonly minutes: number;
  private readonly periodMs: number;
  private readonly logger: Logger;
  private isBusy = false;
  private idleSince = 0;
  /** When the protection last confirmed lapses (counted from when its call was sent); 0: known cleared. */
  private protectedUntil = 0;
  /** A call whose outcome is unknown was made: protection may be on whatever `protectedUntil` says. */
  private uncertain = false;
  /** Consecutive failed calls, and the earliest time of the next one. */
  private failures = 0;
  private retryAt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The call in flight (there is never more than one) and how to cut it short. */
  private call: Promise<void> | undefined;
  private abortCall: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private readonly quietMs: number;

  constructor(options: TaskProtectionOptions) {
    const { minutes, agentUri, logger, quietMs = QUIET_PERIOD_MS } = options;
    this.quietMs = quietMs;
    if (!Number.isInteger(minutes) || minutes < MIN_MINUTES || minutes > MAX_MINUTES) {
      throw new RangeError(`minutes must be an integer from ${MIN_MINUTES} to ${MAX_MINUTES}, got ${minutes}`);
    }
    this.minutes = minutes;
    this.periodMs = minutes * 60_000;
    this.logger = logger;
    if (agentUri) {
      const url = URL.canParse(agentUri) ? new URL(`${agentUri.replace(/\/+$/, '')}/task-protection/v1/state`) : undefined;
      // The agent serves plain HTTP on a link-local address; anything else is not the agent.
      if (url?.protocol === 'http:') this.url = url;
      else logger.warn('task_protection_disabled', { reason: 'ECS_AGENT_URI is not an http:// URL' });
    }
  }

  /** The runner went from holding no message to holding some: protect it now. Idempotent. */
  busy(): void {
    if (!this.url || this.closing || this.isBusy) return;
    this.isBusy = true;
    this.schedule();
  }

  /** The runner holds no message any more: clear protection unless it is busy again within the quiet period. Idempotent. */
  idle(): void {
    if (!this.url || this.closing || !this.isBusy) return;
    this.isBusy = false;
    this.idleSince = Date.now();
    this.schedule();
  }

  /**
   * Stops the timer, cuts short a call in flight and, if the task may be
   * protected, clears protection with one last call (no retry: the task is
   * stopping). Call it once the runner's messages are handed back. Never
   * rejects; returns the same promise on every call.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.abortCall?.();
      await this.call;
      if (!this.url || !this.mayBeProtected()) return;
      const sentAt = Date.now();
      this.settle('clear', await this.put('clear').done, sentAt, false);
    })();
    return this.closing;
  }

  private mayBeProtected(): boolean {
    return this.uncertain || this.protectedUntil > Date.now();
  }

  /** Sets the one timer for the next call due, or makes it now. A call in flight reschedules when it ends. */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closing || this.call) return;
    const next = this.next();
    if (!next) return;
    const delay = Math.max(next.at, this.retryAt) - Date.now();
    if (delay <= 0) return this.run(next.action);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, delay);
    // Protection never keeps the process alive by itself.
    this.timer.unref();
  }

  /**
   * What is due, and from when. A renewal is another enable: ECS restarts the
   * expiry of a protected task on each call (UpdateTaskProtection, ECS API
   * reference: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateTaskProtection.html).
   * It is due at half the protection, so the other half is left for retries.
   */
  private next(): { action: Action; at: number } | undefined {
    if (this.isBusy) return { action: 'enable', at: this.uncertain ? 0 : this.protectedUntil - this.periodMs / 2 };
    if (this.mayBeProtected()) return { action: 'clear', at: this.idleSince + this.quietMs };
    return undefined;
  }

  private run(action: Action): void {
    const sentAt = Date.now();
    const renewal = action === 'enable' && this.protectedUntil > sentAt && !this.uncertain;
    const { done, abort } = this.put(action);
    this.abortCall = abort;
    this.call = done
      .then((outcome) => {
        // Cut short by close(): only what it may have done matters, close() clears it.
        if (this.closing && !outcome.ok) this.uncertain ||= !outcome.definite;
        else this.settle(action, outcome, sentAt, renewal, true);
      })
      .finally(() => {
        this.call = undefined;
        this.abortCall = undefined;
        this.schedule();
      });
  }

  /** Records and logs the outcome of a call; on failure, sets the back-off when `retry`. */
  private settle(action: Action, outcome: Outcome, sentAt: number, renewal: boolean, retry = false): void {
    if (outcome.ok) {
      this.failures = 0;
      this.retryAt = 0;
      this.uncertain = false;
      if (action === 'enable') {
        this.protectedUntil = sentAt + this.periodMs;
        const fields = { expires_in_minutes: this.minutes, expiration_date: outcome.expirationDate };
        if (renewal) this.logger.debug('task_protection_renewed', fields);
        else this.logger.info('task_protection_enabled', fields);
      } else {
        this.protectedUntil = 0;
        this.logger.info('task_protection_cleared', {});
      }
      return;
    }
    this.failures++;
    if (!outcome.definite) this.uncertain = true;
    let retryInMs: number | null = null;
    if (retry) {
      retryInMs = Delays.taskProtectionRetryMs(this.failures, this.periodMs);
      this.retryAt = Date.now() + retryInMs;
    }
    this.logger.warn('task_protection_failed', {
      action,
      status: outcome.status,
      code: outcome.code,
      message: outcome.message,
      attempt: this.failures,
      retry_in_ms: retryInMs,
    });
  }

  /** One PUT to the agent, within CALL_TIMEOUT_MS. `done` never rejects. */
  private put(action: Action): { done: Promise<Outcome>; abort: () => void } {
    const url = this.url!;
    const payload = JSON.stringify(action === 'enable' ? { ProtectionEnabled: true, ExpiresInMinutes: this.minutes } : { ProtectionEnabled: false });
    let abort = () => {};
    const done = new Promise<Outcome>((resolve) => {
      let finished = false;
      let deadline: NodeJS.Timeout | undefined;
      const finish = (outcome: Outcome) => {
        if (finished) return;
        finished = true;
        clearTimeout(deadline);
        resolve(outcome);
      };
      const lost = (status: number, code: string, message: string): Outcome => ({ ok: false, definite: false, status, code, message });
      // A fresh connection per call: calls are minutes apart, and a kept-alive socket to the agent would only go stale.
      const req = http.request(url, { method: 'PUT', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
        });
        res.on('end', () => finish(interpret(action, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
        res.on('error', (err) => finish(lost(res.statusCode ?? 0, 'ResponseError', err.message)));
        res.on('close', () => finish(lost(res.statusCode ?? 0, 'ResponseIncomplete', 'the connection closed before the answer was complete')));
      });
      deadline = setTimeout(() => {
        finish(lost(0, 'Timeout', `no answer within ${CALL_TIMEOUT_MS} ms`));
        req.destroy();
      }, CALL_TIMEOUT_MS);
      deadline.unref();
      abort = () => {
        finish(lost(0, 'Aborted', 'cut short by shutdown'));
        req.destroy();
      };
      req.on('error', (err: NodeJS.ErrnoException) => finish(lost(0, err.code ?? 'RequestError', err.message)));
      req.end(payload);
    });
    return { done, abort };
  }
}

/** Reads an answer of the agent (shapes in the file comment). */
function interpret(action: Action, status: number, text: string): Outcome {
  let body: { protection?: { ProtectionEnabled?: unknown; ExpirationDate?: unknown }; failure?: { Reason?: unknown; Detail?: unknown }; error?: { Code?: unknown; Message?: unknown } } = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as typeof body;
  } catch {
    // Not JSON: judged by its status below.
  }
  if (status >= 200 && status < 300 && body.protection && typeof body.protection === 'object') {
    if (body.protection.ProtectionEnabled !== (action === 'enable')) {
      return { ok: false, definite: true, status, code: 'UnexpectedState', message: `the agent reports ProtectionEnabled=${String(body.protection.ProtectionEnabled)}` };
    }
    return { ok: true, expirationDate: body.protection.ExpirationDate ?? null };
  }
  if (body.failure && typeof body.failure === 'object') {
    return { ok: false, definite: true, status, code: String(body.failure.Reason ?? 'Failure'), message: clip(body.failure.Detail) };
  }
  // A 4xx is the agent or ECS refusing (nothing changed); after a 5xx, ECS may have applied the call.
  const definite = status >= 400 && status < 500;
  if (body.error && typeof body.error === 'object') {
    return { ok: false, definite, status, code: String(body.error.Code ?? 'Error'), message: clip(body.error.Message) };
  }
  return { ok: false, definite, status, code: 'UnexpectedAnswer', message: clip(text) };
}

function clip(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
