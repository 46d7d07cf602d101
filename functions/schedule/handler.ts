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
import { z } from 'zod';
import { loadConfig } from '../../core/config.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { launchSchedule, type TickResult } from './launch.js';

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
  launch?: (scheduleId: number, at: Date) => Promise<TickResult>;
  now?: () => number;
}

const MINUTE = 60_000;

export function createScheduleHandler(options: ScheduleHandlerOptions): (event: unknown) => Promise<ScheduleResult> {
  const { logger, launch = launchSchedule, now = Date.now } = options;
  return async (event) => {
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
  };
}

let lambdaHandler: ((event: unknown) => Promise<ScheduleResult>) | undefined;

/** The Lambda entry point: configuration is read on the first invocation. */
export const handler = (event: unknown): Promise<ScheduleResult> =>
  (lambdaHandler ??= createScheduleHandler({ logger: createLogger({ level: loadConfig().LOG_LEVEL }) }))(event);
