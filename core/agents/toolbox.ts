/**
 * The tools a model is offered, from its MCP servers and Evalap's
 * `extra_params._tools_` selection, and how a call of one is run: arguments
 * parsed, the right server called with a deadline, any failure turned into
 * text for the model.
 */
import type { ToolDefinition } from '../providers/openai.js';
import type { McpServer } from '../schemas.js';
import { ToolSetupError } from './errors.js';
import type { McpConnection, McpTool, ToolOutcome } from './mcp-client.js';
import { mcpSession } from './mcp-sessions.js';

export interface Toolbox {
  definitions: ToolDefinition[];
  call(name: string, argumentsJson: string): Promise<ToolOutcome>;
}

/** What a model definition says of its tools (core/schemas.ts ModelCreate). */
export interface ToolSettings {
  tools?: McpServer[] | null;
  extra_params?: Record<string, unknown> | null;
  tool_timeout_seconds?: number | null;
}

/** Longest wait for a tool call, and for a server's start and tool listing, unless the model sets tool_timeout_seconds. */
export const DEFAULT_TOOL_TIMEOUT_SECONDS = 30;

interface Entry {
  tool: McpTool;
  connection: McpConnection;
}

/** Every tool of the connections, first server first when two have a tool of the same name (a function name must be unique). */
function byName(connections: McpConnection[]): Map<string, Entry> {
  const tools = new Map<string, Entry>();
  for (const connection of connections) for (const tool of connection.tools) if (!tools.has(tool.name)) tools.set(tool.name, { tool, connection });
  return tools;
}

/**
 * As Evalap's `_tools_`: each name is a tool, or a server whose tools all
 * come with it. No selection offers every tool of every server. A name that
 * is neither is an error, as in Evalap ("MCP tool not found").
 */
function select(all: Map<string, Entry>, selection: unknown): Map<string, Entry> {
  if (!Array.isArray(selection)) return all;
  const chosen = new Map<string, Entry>();
  for (const name of selection) {
    const tool = typeof name === 'string' ? all.get(name) : undefined;
    if (tool) chosen.set(name, tool);
    const server = [...all.values()].filter((e) => e.connection.server === name);
    for (const e of server) chosen.set(e.tool.name, e);
    if (!tool && !server.length) throw new ToolSetupError(`extra_params._tools_: no MCP server of the model has a tool or is named ${JSON.stringify(name)}`);
  }
  return chosen;
}

function parseArguments(text: string): Record<string, unknown> | string {
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `invalid JSON arguments: ${err instanceof Error ? err.message : String(err)}`;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : 'invalid arguments: expected a JSON object';
}

/** Opens (or reuses) the model's servers and returns its tools; throws ToolSetupError when a server is unavailable or a selected name unknown. */
export async function openToolbox(settings: ToolSettings): Promise<Toolbox> {
  const timeoutMs = (settings.tool_timeout_seconds ?? DEFAULT_TOOL_TIMEOUT_SECONDS) * 1000;
  const selection = settings.extra_params?._tools_;
  // Evalap answers without its tools when its MCP bridge is down; here the answer fails instead: a score without the tools would mislead.
  if (!settings.tools?.length && Array.isArray(selection) && selection.length) {
    throw new ToolSetupError(`extra_params._tools_ selects ${JSON.stringify(selection)}, but the model lists no MCP server in \`tools\` (there is no MCP bridge: name the servers there)`);
  }
  const connections = await Promise.all((settings.tools ?? []).map((s) => mcpSession(s, timeoutMs)));
  const offered = select(byName(connections), selection);
  return {
    definitions: [...offered.values()].map(({ tool }) => ({
      type: 'function',
      function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.inputSchema },
    })),
    async call(name, argumentsJson) {
      const entry = offered.get(name);
      if (!entry) return { text: `unknown tool ${JSON.stringify(name)}: the tools offered are ${[...offered.keys()].join(', ')}`, isError: true };
      const args = parseArguments(argumentsJson);
      if (typeof args === 'string') return { text: args, isError: true };
      return entry.connection.call(name, args, timeoutMs);
    },
  };
}
