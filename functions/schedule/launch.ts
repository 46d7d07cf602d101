/**
 * What a schedule's firing does in AWS: one tick of the schedule, through the
 * core's `tick` (core/schedules/tick.ts), the same the local stack's cron calls.
 * It launches the schedule's experiment set (written to PostgreSQL, one
 * fan-out task per experiment enqueued), or records why not (paused, the
 * previous run still going); a tick delivered twice launches once.
 */
import { loadConfig } from '../../core/config.js';
import { closeCore, createCore, type Core } from '../../core/context.js';
import { tick } from '../../core/schedules/tick.js';

export type TickResult = Awaited<ReturnType<typeof tick>>;

let core: Core | undefined;

/** The core of this process (module scope: Lambda keeps it across invocations), built from the environment on first use; it connects to nothing until used. */
const launchCore = (): Core => (core ??= createCore(loadConfig()));

/** Closes and forgets the process's core (tests; Lambda never needs it). */
export async function closeLaunchCore(): Promise<void> {
  const current = core;
  core = undefined;
  if (current) await closeCore(current);
}

/** Fires schedule `scheduleId`'s tick due at `at`. */
export async function launchSchedule(scheduleId: number, at: Date, on?: Core): Promise<TickResult> {
  return tick(on ?? launchCore(), scheduleId, at);
}
