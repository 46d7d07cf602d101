/**
 * The MCP connections of this thread, reused across tasks.
 *
 * A connection is kept per server definition (its JSON, env and headers
 * included), so every task of a model, and of any model naming the same
 * server, shares it: a stdio server is started once per worker thread, not
 * once per answer, and HTTP keeps one session. Requests on one connection
 * are multiplexed by the SDK, so concurrent tasks need not wait for each
 * other. Per thread rather than per runner because a connection cannot cross
 * threads; the cost is one server process per worker thread.
 *
 * A connection that fails to open is not kept (the next task tries again: an
 * HTTP server may be back), nor is one that closed. All are closed by
 * closeMcpSessions(); if the thread ends without it, stdio children are
 * killed on the thread's exit so none outlives the runner.
 */
import type { McpServer } from '../schemas.js';
import { connectMcp, type McpConnection } from './mcp-client.js';

const sessions = new Map<string, Promise<McpConnection>>();
const children = new Set<number>();
let exitHookInstalled = false;

function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Only synchronous work runs in an exit handler: a signal, not the protocol's shutdown.
  process.on('exit', () => {
    for (const pid of children) {
      try {
        process.kill(pid);
      } catch {
        // Already gone.
      }
    }
  });
}

/** An open connection to `server`, opened now or reused; throws ToolSetupError when it cannot be opened. */
export async function mcpSession(server: McpServer, timeoutMs: number): Promise<McpConnection> {
  const key = JSON.stringify(server);
  const existing = sessions.get(key);
  if (existing) {
    const connection = await existing.catch(() => undefined);
    if (connection && !connection.closed) return connection;
    if (sessions.get(key) === existing) sessions.delete(key);
    if (connection) return mcpSession(server, timeoutMs);
  }
  const opening = connectMcp(server, timeoutMs).then((c) => {
    if (c.pid !== null) {
      killChildrenOnExit();
      children.add(c.pid);
    }
    return c;
  });
  sessions.set(key, opening);
  opening.catch(() => {
    if (sessions.get(key) === opening) sessions.delete(key);
  });
  return opening;
}

/** Closes every connection of this thread (stdio servers exit, HTTP sessions end). */
export async function closeMcpSessions(): Promise<void> {
  const open = [...sessions.values()];
  sessions.clear();
  await Promise.all(
    open.map(async (p) => {
      const c = await p.catch(() => undefined);
      if (!c) return;
      await c.close();
      if (c.pid !== null) children.delete(c.pid);
    }),
  );
}
