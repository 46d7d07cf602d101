/**
 * One connection to one MCP server with the official SDK's client: over
 * stdio (a child process) or streamable HTTP. It lists the server's tools
 * once and calls them with a deadline.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { McpServer } from '../schemas.js';
import { ToolSetupError } from './errors.js';

export interface McpTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** A tool call's text for the model, and whether the call failed. */
export interface ToolOutcome {
  text: string;
  isError: boolean;
}

export interface McpConnection {
  server: string;
  tools: McpTool[];
  /** The stdio server's process id, for a synchronous kill when the thread exits. */
  pid: number | null;
  /** Set once the transport closed (the server exited, the connection dropped): the connection is not reused. */
  readonly closed: boolean;
  call(name: string, args: Record<string, unknown>, timeoutMs: number): Promise<ToolOutcome>;
  close(): Promise<void>;
}

/** What a server wrote on stderr last: enough to say why it did not start, never the whole stream. */
const STDERR_TAIL = 500;

/** The client's name in the initialize handshake. */
const CLIENT_INFO = { name: 'evalap-runner', version: '1.0.0' };

const isStdio = (s: McpServer): s is Extract<McpServer, { command: string }> => 'command' in s;

function transportFor(server: McpServer): { transport: Transport; stderr: () => string } {
  if (isStdio(server)) {
    // stderr piped, not inherited: the runner's own output stays JSON log lines.
    const transport = new StdioClientTransport({ command: server.command, args: server.args ?? [], env: server.env ?? undefined, cwd: server.cwd ?? undefined, stderr: 'pipe' });
    let tail = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-STDERR_TAIL);
    });
    return { transport, stderr: () => tail.trim() };
  }
  const transport = new StreamableHTTPClientTransport(new URL(server.url), server.headers ? { requestInit: { headers: server.headers } } : undefined);
  return { transport, stderr: () => '' };
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Connects, completes the handshake and lists the tools, within `timeoutMs`; a failure closes what was opened and throws ToolSetupError. */
export async function connectMcp(server: McpServer, timeoutMs: number): Promise<McpConnection> {
  const { transport, stderr } = transportFor(server);
  const client = new Client(CLIENT_INFO);
  let closed = false;
  client.onclose = () => {
    closed = true;
  };
  // A transport error after the handshake surfaces as a failed call; without a handler the SDK only logs it.
  client.onerror = () => undefined;
  try {
    await client.connect(transport, { timeout: timeoutMs });
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: timeoutMs });
      for (const t of page.tools) tools.push({ name: t.name, description: t.description, inputSchema: t.inputSchema as Record<string, unknown> });
      cursor = page.nextCursor;
    } while (cursor);
    const pid = transport instanceof StdioClientTransport ? transport.pid : null;
    return {
      server: server.name,
      tools,
      pid,
      get closed() {
        return closed;
      },
      call: (name, args, ms) => callTool(client, name, args, ms),
      close: () => client.close().catch(() => undefined),
    };
  } catch (err) {
    await client.close().catch(() => undefined);
    const said = stderr();
    throw new ToolSetupError(`MCP server '${server.name}' is unavailable: ${messageOf(err)}${said ? ` (stderr: ${said})` : ''}`);
  }
}

/**
 * The text parts of the result joined by a blank line, as Evalap reads them.
 * A tool's own failure (`isError`) and a failed request (timeout, a server
 * gone) both come back as text for the model, flagged.
 */
async function callTool(client: Client, name: string, args: Record<string, unknown>, timeoutMs: number): Promise<ToolOutcome> {
  try {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs });
    const parts = Array.isArray(result.content) ? result.content : [];
    const text = parts.filter((p: any) => p?.type === 'text' && typeof p.text === 'string').map((p: any) => p.text as string).join('\n\n');
    return { text, isError: result.isError === true };
  } catch (err) {
    return { text: `tool call failed: ${messageOf(err)}`, isError: true };
  }
}
