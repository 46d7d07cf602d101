/**
 * The runner as a child process of the local stack, as it runs in its own
 * container in AWS. Its JSON log lines go to our stdout; if it dies it is
 * started again (with a growing pause), and its state feeds /health.
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

/** `output` receives the runner's log lines (default: this process's stdout). */
export function startRunnerProcess(env: NodeJS.ProcessEnv, logger: Logger, output: (line: string) => void = (line) => process.stdout.write(line + '\n')): RunnerProcess {
  const script = path.join(projectRoot(), 'dist', 'runner', 'main.js');
  let child: ChildProcess | undefined;
  let ready = false;
  let stopping = false;
  let restarts = 0;

  const spawnOnce = () => {
    ready = false;
    const proc = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.includes('"event":"runner_started"')) ready = true;
      output(line);
    });
    readline.createInterface({ input: proc.stderr! }).on('line', (line) => output(`[runner] ${line}`));
    proc.on('exit', (code, signal) => {
      ready = false;
      if (stopping) return;
      const pause = Math.min(30_000, 500 * 2 ** restarts++);
      logger.error('runner_exited', { code, signal, restart_in_ms: pause });
      setTimeout(() => !stopping && spawnOnce(), pause).unref();
    });
  };
  spawnOnce();

  return {
    async check() {
      if (!ready) throw new Error(child?.exitCode != null ? `exited with code ${child.exitCode}` : 'starting');
    },
    async stop() {
      stopping = true;
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      });
    },
  };
}
