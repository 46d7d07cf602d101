/**
 * The local stack's stand-in for EventBridge Scheduler: every minute, fire
 * the ticks that fell due since the last check, through the same `tick` the
 * schedule Lambda calls in AWS.
 */
import type { CoreContext } from '../core/context.js';
import { dueTicks, tick } from '../core/schedules/tick.js';

export function startLocalCron(core: CoreContext, intervalMs = 30_000): { stop(): void } {
  // Ticks missed while the stack was down are not replayed: only those due from now on.
  let since = Date.now();
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    const now = Date.now();
    try {
      for (const due of await dueTicks(core, now, since)) await tick(core, due.id, due.at);
      since = now;
    } catch (err) {
      core.logger.error('local_cron_failed', { error: (err as Error).message });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
