/**
 * The runner as a child process of the local stack, as it runs in its own
 * container in AWS. Its JSON log lines go to our stdout; if it exits it is
 * started again, as an ECS service replaces a stopped task, and its state
 * feeds /health.
 *
 * Restarts: a crash (any exit but code 0) is restarted after a pause that
 * doubles with each crash, so a runner that cannot start does not spin; once
 * a runner has been up for a while (HEALTHY_AFTER_MS after `runner_started`)
 * the pause starts small again. A clean exit (code 0) is the runner's own
 * graceful stop, which it does only on SIGTERM or SIGINT: here, a signal from
 * outside the stack (the stack's own stop is told apart by `stopping`), e.g.
 * someone restarting it by hand. Not a fault: logged at info, not counted as
 * a crash, and the runner is started again after the shortest pause, since
 * the stack is still meant to run one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { Logger } from '../core/logger.js';
import { projectRoot } from './paths.js';

export interface RunnerProcess {
  /** Resolves if the runner is up (started and not exited), rejects otherwise: the health check. */
  check(): Promise<void>;
  stop(): Promise<void>;
}

/** Up this long after `runner_started`, a runner has shown it is not crash-looping: the pause resets. */
const HEALTHY_AFTER_MS = 30_000;
const FIRST_PAUSE_MS = 500;
const MAX_PAUSE_MS = 30_000;

export interface RunnerProcessOptions {
  /** The script node runs (default: the built runner, dist/runner/main.js). */
  script?: string;
  healthyAfterMs?: number;
  /** Pause before restarting after a clean exit or a first crash; doubles with each further crash. */
  firstPauseMs?: number;
  maxPauseMs?: number;
}

/** `output` receives the runner's log lines (default: this process's stdout). */
export function startRunnerProcess(
  env: NodeJS.ProcessEnv,
  logger: Logger,
  output: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  options: RunnerProcessOptions = {},
): RunnerProcess {
  const script = options.script ?? path.join(projectRoot(), 'dist', 'runner', 'main.js');
  const { healthyAfterMs = HEALTHY_AFTER_MS, firstPauseMs = FIRST_PAUSE_MS, maxPauseMs = MAX_PAUSE_MS } = options;
  let child: ChildProcess | undefined;
  let ready = false;
  let stopping = false;
  /** Crashes since the runner was last healthy. */
  let crashes = 0;
  let healthyTimer: NodeJS.Timeout | undefined;
  let restartTimer: NodeJS.Timeout | undefined;

  const started = () => {
    ready = true;
    healthyTimer = setTimeout(() => {
      if (crashes > 0) logger.info('runner_restart_backoff_reset', { crashes });
      crashes = 0;
    }, healthyAfterMs);
    healthyTimer.unref();
  };

  const spawnOnce = () => {
    ready = false;
    const proc = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (!ready && line.includes('"event":"runner_started"')) started();
      output(line);
    });
    readline.createInterface({ input: proc.stderr! }).on('line', (line) => output(`[runner] ${line}`));
    proc.on('exit', (code, signal) => {
      ready = false;
      clearTimeout(healthyTimer);
      if (stopping) return;
      const clean = code === 0;
      const pause = clean ? firstPauseMs : Math.min(maxPauseMs, firstPauseMs * 2 ** crashes++);
      logger[clean ? 'info' : 'error']('runner_exited', { code, signal, restart_in_ms: pause });
      restartTimer = setTimeout(() => !stopping && spawnOnce(), pause);
      restartTimer.unref();
    });
  };
  spawnOnce();

  return {
    async check() {
      if (!ready) throw new Error(child?.exitCode != null ? `exited with code ${child.exitCode}` : 'starting');
    },
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      clearTimeout(healthyTimer);
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      });
    },
  };
}
