/**
 * A scripted OpenAI-compatible model that calls tools: the test decides each
 * reply from the request (its messages tell which step it is at). Every
 * reply reports 10 prompt and 3 completion tokens, so sums over a loop's
 * calls can be checked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedReply {
  content?: string | null;
  /** `arguments` as the model would write it: JSON text, or anything else to test bad arguments. */
  tool_calls?: { name: string; arguments: string }[];
  /** Default: "tool_calls" with tool calls, else "stop". */
  finish_reason?: string | null;
}

export type Script = (body: any) => ScriptedReply;

export interface ToolModelServer {
  /** Base URL ending in /v1. */
  url: string;
  /** Every chat-completions body received, in order. */
  requests: any[];
  script: Script;
  close(): Promise<void>;
}

export const PROMPT_TOKENS = 10;
export const COMPLETION_TOKENS = 3;

let callId = 0;

export async function startToolModelServer(script: Script): Promise<ToolModelServer> {
  const requests: any[] = [];
  const self: ToolModelServer = { url: '', requests, script, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      requests.push(body);
      const reply = self.script(body);
      const tool_calls = reply.tool_calls?.map((c) => ({ id: `call_${++callId}`, type: 'function', function: { name: c.name, arguments: c.arguments } }));
      const message = { role: 'assistant', content: reply.content ?? null, ...(tool_calls ? { tool_calls } : {}) };
      const finish_reason = reply.finish_reason !== undefined ? reply.finish_reason : tool_calls ? 'tool_calls' : 'stop';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: `chatcmpl-tools${callId}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message, finish_reason }],
        usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: COMPLETION_TOKENS, total_tokens: PROMPT_TOKENS + COMPLETION_TOKENS },
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  self.close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return self;
}

/** The tool results fed back so far, in order. */
export const toolResults = (body: any): string[] => (body.messages as any[]).filter((m) => m.role === 'tool').map((m) => m.content);

/** The user message's text. */
export const userText = (body: any): string => {
  const user = (body.messages as any[]).find((m) => m.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
};
