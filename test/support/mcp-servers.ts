/** The test MCP server (mcp-tools-server.mjs) as model definitions name it, and its HTTP flavour started for a test file. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

export const MCP_SERVER_SCRIPT = path.resolve('test/support/mcp-tools-server.mjs');

/** The stdio server: started by whoever connects to it. */
export const stdioTools = (name = 'tools', extra: string[] = []) => ({ name, command: process.execPath, args: [MCP_SERVER_SCRIPT, ...extra] });

export interface HttpToolServer {
  url: string;
  pid: number;
  close(): Promise<void>;
}

/** The same tools over streamable HTTP on a free local port. */
export async function startHttpTools(): Promise<HttpToolServer> {
  const proc: ChildProcess = spawn(process.execPath, [MCP_SERVER_SCRIPT, '--http'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`the HTTP MCP server exited (${code})`)));
    readline.createInterface({ input: proc.stdout! }).once('line', (line) => resolve(JSON.parse(line).port));
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    pid: proc.pid!,
    close: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
