/**
 * What a schedule's firing does in AWS: one tick of the schedule, through the
 * core's `tick` (core/schedules/tick.ts), the same the local stack's cron calls.
 * It launches the schedule's experiment set (written to PostgreSQL, one
 * fan-out task per experiment enqueued), or records why not (paused, the
 * previous run still going); a tick delivered twice launches once.
 */
import { loadConfig, type Config } from '../../core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../../core/context.js';
import type { Logger } from '../../core/logger.js';
import { tick } from '../../core/schedules/tick.js';

export type TickResult = Awaited<ReturnType<typeof tick>>;

let core: CoreContext | undefined;

/** The core of this process (module scope: Lambda keeps it across invocations), built from the environment on first use; it connects to nothing until used. */
const launchCore = (config: Config = loadConfig(), logger?: Logger): CoreContext => (core ??= createCoreContext(config, logger ? { logger } : {}));

/** Closes and forgets the process's core (tests; Lambda never needs it). */
export async function closeLaunchCore(): Promise<void> {
  const current = core;
  core = undefined;
  if (current) await closeCoreContext(current);
}

/** `launchSchedule` on the process's core built from `config` with the Lambda's `logger`, so the core's lines carry the invocation's context too. */
export const launcher = (config: Config, logger: Logger) => (scheduleId: number, at: Date): Promise<TickResult> => tick(launchCore(config, logger), scheduleId, at);

/** Fires schedule `scheduleId`'s tick due at `at`. */
export async function launchSchedule(scheduleId: number, at: Date, on?: CoreContext): Promise<TickResult> {
  return tick(on ?? launchCore(), scheduleId, at);
}
