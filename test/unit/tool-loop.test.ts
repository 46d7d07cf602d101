/**
 * The tool-calling loop of core/agents against real servers: the test MCP
 * server (over stdio, and over streamable HTTP) and a scripted model that
 * asks for tool calls.
 */
import { jest } from '@jest/globals';
import { answerWithTools } from '../../core/agents/agent-answer.js';
import { ToolSetupError } from '../../core/agents/errors.js';
import { closeMcpSessions } from '../../core/agents/mcp-sessions.js';
import { EMPTY_RESULT } from '../../core/agents/tool-loop.js';
import { generateAnswer, type ChatModel } from '../../core/providers/openai.js';
import { startHttpTools, stdioTools, type HttpToolServer } from '../support/mcp-servers.js';
import { COMPLETION_TOKENS, PROMPT_TOKENS, startToolModelServer, toolResults, type ToolModelServer } from '../support/tool-model-server.js';

jest.setTimeout(30_000);

let model: ToolModelServer;
let httpTools: HttpToolServer;

beforeAll(async () => {
  model = await startToolModelServer(() => ({ content: 'unused' }));
  httpTools = await startHttpTools();
});
afterAll(async () => {
  await closeMcpSessions();
  await model.close();
  await httpTools.close();
});
beforeEach(() => {
  model.requests.length = 0;
});

const agent = (extra: Partial<ChatModel> = {}): ChatModel => ({ name: 'agent', base_url: model.url, tools: [stdioTools()], ...extra });

/** Search for the query, then add 2 and 3, then answer with the sum. */
const searchThenAdd = (body: any) => {
  const results = toolResults(body);
  if (results.length === 0) return { tool_calls: [{ name: 'search', arguments: '{"query": "paris"}' }] };
  if (results.length === 1) return { content: 'Let me add.', tool_calls: [{ name: 'add', arguments: '{"a": 2, "b": 3}' }] };
  return { content: `The sum is ${results[1]}.` };
};

describe.each([
  ['stdio', () => stdioTools()],
  ['streamable HTTP', () => ({ name: 'tools', url: httpTools.url })],
])('over %s', (_transport, server) => {
  it('runs the tool calls a model asks for, feeds each result back, and stores the steps as Evalap does', async () => {
    model.script = searchThenAdd;
    const out = await answerWithTools(agent({ tools: [server()], extra_params: { _tools_: ['tools'], top_k: 3 } }), 'What is 2 + 3?', {});

    expect(out.answer).toBe('The sum is 5.');
    expect(out.tool_steps).toEqual([
      [{ tool_name: 'search', tool_params: '{"query": "paris"}', tool_result: 'paris: the first document\n---\nparis: the second document', execution_time: expect.any(Number) }],
      [{ tool_name: 'add', tool_params: '{"a": 2, "b": 3}', tool_result: '5', execution_time: expect.any(Number) }],
    ]);
    expect(out.nb_tool_calls).toBe(2);
    expect(out.context).toEqual(['paris: the first document\n---\nparis: the second document', '5']);
    expect(out.retrieval_context).toEqual(['paris: the first document', 'paris: the second document', '5']);
    // Three model calls, each one's tokens counted.
    expect(out.calls).toBe(3);
    expect(out.nb_tokens_prompt).toBe(3 * PROMPT_TOKENS);
    expect(out.nb_tokens_completion).toBe(3 * COMPLETION_TOKENS);

    const [first, second, third] = model.requests;
    expect(first.tools.map((t: any) => t.function.name).sort()).toEqual(['add', 'echo', 'fail', 'pid', 'search', 'sleep']);
    expect(first.tools.find((t: any) => t.function.name === 'add').function.parameters).toMatchObject({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } });
    expect(first.tool_choice).toBe('auto');
    // Evalap's selection key is ours: never sent; the model's other extra params are.
    for (const r of model.requests) {
      expect(r).not.toHaveProperty('_tools_');
      expect(r.top_k).toBe(3);
    }
    const assistant = second.messages.find((m: any) => m.role === 'assistant');
    const tool = second.messages.find((m: any) => m.role === 'tool');
    expect(assistant.tool_calls[0]).toMatchObject({ type: 'function', function: { name: 'search', arguments: '{"query": "paris"}' } });
    expect(tool).toEqual({ role: 'tool', tool_call_id: assistant.tool_calls[0].id, content: 'paris: the first document\n---\nparis: the second document' });
    expect(third.messages.filter((m: any) => m.role === 'assistant')[1]).toMatchObject({ content: 'Let me add.' });
  });
});

it('stops calling tools after max_tool_steps turns and asks for a last answer with tool_choice none', async () => {
  model.script = (body) => (body.tool_choice === 'none' ? { content: 'out of steps' } : { tool_calls: [{ name: 'add', arguments: '{"a": 1, "b": 1}' }] });
  const out = await answerWithTools(agent({ max_tool_steps: 2 }), 'loop forever', {});

  expect(out.answer).toBe('out of steps');
  expect(out.tool_steps).toHaveLength(2);
  expect(out.nb_tool_calls).toBe(2);
  expect(model.requests.map((r) => r.tool_choice)).toEqual(['auto', 'auto', 'none']);
  // The last call still describes the tools (as Evalap), and ends on the tool results.
  expect(model.requests[2].tools).toHaveLength(6);
  expect(model.requests[2].messages.at(-1).role).toBe('tool');
});

it('records a tool that throws, one that times out, bad JSON arguments and an unknown tool in the step, tells the model, and goes on', async () => {
  model.script = (body) =>
    toolResults(body).length === 0
      ? {
          tool_calls: [
            { name: 'fail', arguments: '{}' },
            { name: 'sleep', arguments: '{"ms": 20000}' },
            { name: 'add', arguments: '{"a": 1,' },
            { name: 'nope', arguments: '{}' },
            { name: 'add', arguments: '{"a": 1, "b": 2}' },
          ],
        }
      : { content: 'done' };
  const out = await answerWithTools(agent({ tool_timeout_seconds: 0.5 }), 'break things', {});

  expect(out.answer).toBe('done');
  const [broken, slow, badArgs, unknown, fine] = out.tool_steps![0];
  expect(broken).toMatchObject({ tool_name: 'fail', is_error: true, tool_result: expect.stringContaining('the tool broke') });
  expect(slow).toMatchObject({ tool_name: 'sleep', tool_params: '{"ms": 20000}', is_error: true, tool_result: expect.stringMatching(/timed out/i) });
  expect(badArgs).toMatchObject({ tool_name: 'add', tool_params: '{"a": 1,', is_error: true, tool_result: expect.stringContaining('invalid JSON arguments') });
  expect(unknown).toMatchObject({ tool_name: 'nope', is_error: true, tool_result: expect.stringContaining('unknown tool "nope"') });
  // The server outlived the timeout: the next call on the same connection works.
  expect(fine).toEqual({ tool_name: 'add', tool_params: '{"a": 1, "b": 2}', tool_result: '3', execution_time: expect.any(Number) });
  expect(out.nb_tool_calls).toBe(5);
  // Failed calls are not retrieval context.
  expect(out.context).toEqual(['3']);
  expect(out.retrieval_context).toBeNull();
  expect(toolResults(model.requests[1])).toEqual([broken.tool_result, slow.tool_result, badArgs.tool_result, unknown.tool_result, '3']);
});

it('tells the model a tool returned nothing in Evalap\'s words', async () => {
  model.script = (body) => (toolResults(body).length === 0 ? { tool_calls: [{ name: 'echo', arguments: '{"text": ""}' }] } : { content: 'ok' });
  const out = await answerWithTools(agent(), 'q', {});
  expect(out.tool_steps).toEqual([[{ tool_name: 'echo', tool_params: '{"text": ""}', tool_result: '', execution_time: expect.any(Number) }]]);
  expect(toolResults(model.requests[1])).toEqual([EMPTY_RESULT]);
});

it('offers only the tools or servers that extra_params._tools_ names', async () => {
  model.script = () => ({ content: 'no tools needed' });
  await answerWithTools(agent({ extra_params: { _tools_: ['add', 'pid'] } }), 'q', {});
  expect(model.requests[0].tools.map((t: any) => t.function.name).sort()).toEqual(['add', 'pid']);
  const plain = await answerWithTools(agent(), 'q', {});
  // A reply without tool calls: no steps, and 0 tool calls as Evalap stores it.
  expect(plain).toMatchObject({ answer: 'no tools needed', tool_steps: null, nb_tool_calls: 0, context: null, retrieval_context: null });
});

it('refuses a _tools_ name that no server has, and a server that cannot start, with the reason', async () => {
  model.script = () => ({ content: 'never' });
  await expect(answerWithTools(agent({ extra_params: { _tools_: ['translate'] } }), 'q', {})).rejects.toThrow(new ToolSetupError('extra_params._tools_: no MCP server of the model has a tool or is named "translate"'));
  await expect(answerWithTools(agent({ tools: [stdioTools('broken', ['--fail-start'])] }), 'q', {})).rejects.toThrow(/MCP server 'broken' is unavailable: .*TOOLS_CONFIG is missing/);
  await expect(answerWithTools(agent({ tools: [{ name: 'absent', command: 'evalap-no-such-command' }] }), 'q', {})).rejects.toThrow(/MCP server 'absent' is unavailable: .*ENOENT/);
  expect(model.requests).toHaveLength(0);
});

it('keeps one connection per server definition across answers', async () => {
  model.script = (body) => (toolResults(body).length === 0 ? { tool_calls: [{ name: 'pid', arguments: '' }] } : { content: toolResults(body)[0] });
  const first = await answerWithTools(agent(), 'q', {});
  const second = await answerWithTools(agent(), 'q', {});
  expect(Number(first.answer)).toBeGreaterThan(0);
  expect(second.answer).toBe(first.answer);
});

it('never sends _tools_ for a model without tools, and counts 0 tool calls for a plain answer', async () => {
  model.script = () => ({ content: 'plain' });
  const out = await generateAnswer({ name: 'plain', base_url: model.url, extra_params: { _tools_: [], seed: 1 } }, 'q', {});
  expect(out.nb_tool_calls).toBe(0);
  expect(model.requests[0]).not.toHaveProperty('_tools_');
  expect(model.requests[0]).not.toHaveProperty('tools');
  expect(model.requests[0].seed).toBe(1);
});
