/**
 * Several runner processes on the one local queue, as several Fargate tasks
 * drain the queue in AWS (RUNNER_PROCESSES). Each is supervised on its own
 * (see runner-process.ts); the stack is healthy only while every one is up,
 * since a runner that keeps crashing is a fault even if the others carry the
 * load. With more than one, each runner's log lines and the supervisor's
 * lines about it carry `runner` (1-based), so they can be told apart.
 */
import type { Logger } from '../core/logger.js';
import { startRunnerProcess, type RunnerProcess, type RunnerProcessOptions } from './runner-process.js';

export function startRunnerProcesses(
  count: number,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  output: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  options: RunnerProcessOptions = {},
): RunnerProcess {
  if (count === 1) return startRunnerProcess(env, logger, output, options);
  const runners = Array.from({ length: count }, (_, i) =>
    startRunnerProcess(env, logger.child({ runner: i + 1 }), tagged(i + 1, output), options),
  );
  return {
    async check() {
      const checks = await Promise.allSettled(runners.map((r) => r.check()));
      const down = checks.flatMap((c, i) => (c.status === 'rejected' ? [`runner ${i + 1} of ${count}: ${(c.reason as Error).message}`] : []));
      if (down.length) throw new Error(down.join('; '));
    },
    async stop() {
      await Promise.all(runners.map((r) => r.stop()));
    },
  };
}

/** Puts `"runner":n` first in a JSON log line; other lines (stderr) get a `[runner n]` prefix. */
function tagged(n: number, output: (line: string) => void): (line: string) => void {
  return (line) => {
    if (line.startsWith('{')) output(`{"runner":${n},${line.slice(1)}`);
    else output(line.startsWith('[runner] ') ? `[runner ${n}] ${line.slice(9)}` : `[runner ${n}] ${line}`);
  };
}
