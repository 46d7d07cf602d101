/**
 * The schedule Lambda. EventBridge Scheduler invokes it (asynchronously)
 * with the schedule's input (core/schedules/eventbridge.ts): {"schedule_id": <id>},
 * optionally with "scheduled_time": "<aws.scheduler.scheduled-time>".
 * A thin handler: validate the event, fire the tick, shape the result.
 *
 * `scheduled_time` makes a retried invocation the same tick (the core
 * launches a tick once); without it the tick is the current minute.
 * Scheduler discards the result of an asynchronous invocation, so every
 * outcome is also logged. What a retry cannot fix (a wrong event, an unknown
 * schedule, a configuration error) is reported, not thrown; anything else
 * (the database unreachable) is thrown, so Lambda retries it.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { loadConfig, type Config } from '../../core/config.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { invocationContext } from '../observability/invocation.js';
import { lambdaLogger } from '../observability/logger.js';
import { launcher, launchSchedule, type TickResult } from './launch.js';
import { publishMetrics, recordOutcome, scheduleMetrics, type ScheduleMetrics } from './metrics.js';

export const ScheduleEvent = z
  .object({
    schedule_id: z.number().int().positive(),
    scheduled_time: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export type ScheduleEvent = z.infer<typeof ScheduleEvent>;

export type ScheduleResult =
  | { status: 'launched'; schedule_id: number; tick_at: string; experiment_set_id: number }
  | { status: 'skipped' | 'failed'; schedule_id: number; tick_at: string; reason: string }
  | { status: 'error'; error: 'invalid_event' | 'not_found' | 'misconfigured'; detail: string; schedule_id?: number };

export interface ScheduleHandlerOptions {
  logger: Logger;
  /** Where the outcome is counted (the Lambda: Powertools Metrics). */
  metrics?: ScheduleMetrics;
  launch?: (scheduleId: number, at: Date) => Promise<TickResult>;
  now?: () => number;
}

const MINUTE = 60_000;

export function createScheduleHandler(options: ScheduleHandlerOptions): (event: unknown) => Promise<ScheduleResult> {
  const { logger, metrics, launch = launchSchedule, now = Date.now } = options;
  return async (event) => {
    const result = await fire(event).catch((err: unknown) => {
      recordOutcome(metrics, true);
      throw err;
    });
    recordOutcome(metrics, result.status !== 'launched' && result.status !== 'skipped');
    return result;
  };

  async function fire(event: unknown): Promise<ScheduleResult> {
    const parsed = ScheduleEvent.safeParse(event);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
      logger.error('schedule_event_invalid', { detail });
      return { status: 'error', error: 'invalid_event', detail: `expected {"schedule_id": <positive integer>, "scheduled_time"?: <ISO time>}: ${detail}` };
    }
    const id = parsed.data.schedule_id;
    const at = parsed.data.scheduled_time ? new Date(parsed.data.scheduled_time) : new Date(Math.floor(now() / MINUTE) * MINUTE);
    const tickAt = at.toISOString();
    try {
      const result = await launch(id, at);
      if (result.status === 'launched') {
        logger.info('schedule_fired', { schedule_id: id, tick_at: tickAt, experiment_set_id: result.experiment_set_id });
        return { status: 'launched', schedule_id: id, tick_at: tickAt, experiment_set_id: result.experiment_set_id! };
      }
      // The core logged why (skipped: info; failed: error).
      return { status: result.status, schedule_id: id, tick_at: tickAt, reason: result.reason ?? '' };
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof ConfigError) {
        const error = err instanceof NotFoundError ? 'not_found' : 'misconfigured';
        logger.error('schedule_not_fired', { schedule_id: id, tick_at: tickAt, error, detail: err.message });
        return { status: 'error', error, detail: err.message, schedule_id: id };
      }
      logger.error('schedule_fire_failed', { schedule_id: id, tick_at: tickAt, error: (err as Error).message });
      throw err;
    }
  }
}

/**
 * The handler in its middy chain: every line it logs carries the invocation's
 * context and the schedule id as correlation id; the outcome's metric is
 * flushed (one EMF line) when the invocation ends, thrown or not.
 */
export function scheduleLambda(config: Config): (event: unknown, context: Context) => Promise<ScheduleResult> {
  const { logger, powertools } = lambdaLogger(config);
  const metrics = scheduleMetrics(config);
  return middy<unknown, ScheduleResult>(createScheduleHandler({ logger, metrics, launch: launcher(config, logger) }))
    .use(invocationContext(powertools, 'schedule_id'))
    .use(publishMetrics(metrics));
}

let lambdaHandler: ((event: unknown, context: Context) => Promise<ScheduleResult>) | undefined;
/** Invoked outside Lambda (a test, a manual call) there is no context; the middleware reads one. */
const NO_CONTEXT = {} as Context;

/** The Lambda entry point: configuration is read on the first invocation. */
export const handler = (event: unknown, context: Context = NO_CONTEXT): Promise<ScheduleResult> => (lambdaHandler ??= scheduleLambda(loadConfig()))(event, context);
