/**
 * `evalap serve`: the platform (local/main.ts) as a child in its own process
 * group, each signal we get passed on once. In the terminal's group, a Ctrl-C
 * would reach it twice (from the terminal and from us), and its second signal
 * means "force the exit", skipping PostgreSQL's stop.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../local/paths.js';
import { ExitCode } from './errors.js';

export function serve(): Promise<number> {
  const child = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'local', 'main.js')], { stdio: 'inherit', detached: true });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward(signal));
  // When `tee` (or whatever reads our output) dies, the child gets EPIPE on its own writes and stops; we write nothing more.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.failed))));
}
