/**
 * Tool-using models end to end: the API takes a model with MCP servers, the
 * built runner (its own process) runs the tool-calling loop in its worker
 * threads against the test MCP server (over stdio and streamable HTTP) and a
 * scripted model, each answer stores its tool steps and the context its
 * tools returned, and nb_tool_calls and a judge score the answers.
 */
import { jest } from '@jest/globals';
import { runnerFixtures, terminal } from '../support/runner.js';
import { startHttpTools, stdioTools, type HttpToolServer } from '../support/mcp-servers.js';
import { startToolModelServer, toolResults, userText, type ToolModelServer } from '../support/tool-model-server.js';

jest.setTimeout(90_000);

const fx = runnerFixtures();
let model: ToolModelServer;
let httpTools: HttpToolServer;
const ROWS = 3;
/** A credential in a server's env or headers: stored sealed, never shown. */
const SECRET = 'tool-secret-5ac7e1';

/** The agent searches for its question, adds the row's two numbers, and answers with the sum; the judge says 1 when an answer gives the expected sum. */
function script(body: any) {
  if (body.model === 'stub-judge') {
    const prompt = JSON.stringify(body.messages);
    const [a, b] = /(\d+) \+ (\d+)/.exec(prompt)!.slice(1).map(Number);
    return { content: prompt.includes(`The sum is ${a + b}.`) ? '1' : '0' };
  }
  const results = toolResults(body);
  const [a, b] = /(\d+) \+ (\d+)/.exec(userText(body))!.slice(1).map(Number);
  if (results.length === 0) return { tool_calls: [{ name: 'search', arguments: JSON.stringify({ query: userText(body) }) }] };
  if (results.length === 1) return { tool_calls: [{ name: 'add', arguments: JSON.stringify({ a, b }) }] };
  return { content: `The sum is ${results[1]}.` };
}

beforeAll(async () => {
  model = await startToolModelServer(script);
  httpTools = await startHttpTools();
  const df = JSON.stringify(Array.from({ length: ROWS }, (_, i) => ({ query: `${i} + 10`, output_true: String(i + 10) })));
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name: 'sums', readme: '', df } })).status).toBe(200);
});
afterAll(async () => {
  await model.close();
  await httpTools.close();
});

const agent = (over: Record<string, unknown>) => ({ name: 'agent', base_url: model.url, ...over });

describe.each([
  ['stdio', () => ({ tools: [{ ...stdioTools('calc'), env: { TOOL_TOKEN: SECRET } }], extra_params: { _tools_: ['calc'] } })],
  ['streamable HTTP', () => ({ tools: [{ name: 'web', url: httpTools.url, headers: { authorization: `Bearer ${SECRET}` } }], extra_params: { _tools_: ['search', 'add'] } })],
])('with an MCP server over %s', (transport, tools) => {
  it('stores each answer\'s tool steps and tool context, and scores them by nb_tool_calls and a judge', async () => {
    model.requests.length = 0;
    const created = await fx.api.call('POST', '/v1/experiment', {
      body: { name: `agents-${transport}`, dataset: 'sums', model: agent(tools()), judge_model: { name: 'stub-judge', base_url: model.url }, metrics: ['nb_tool_calls', 'judge_exactness'] },
    });
    expect(created.status).toBe(200);
    fx.runner();
    const exp = await terminal(fx.api, created.body.id, 60_000);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_try: ROWS, num_success: ROWS });

    const docs = (await fx.api.call('GET', `/v1/experiment/${created.body.id}/rows?limit=10`)).body.rows;
    expect(docs).toHaveLength(ROWS);
    for (const row of docs) {
      const i = row.num_line;
      const query = `${i} + 10`;
      const found = `${query}: the first document\n---\n${query}: the second document`;
      expect(row.answer).toMatchObject({
        answer: `The sum is ${i + 10}.`,
        error_msg: null,
        nb_tool_calls: 2,
        // Three model calls of 10 prompt and 3 completion tokens each.
        nb_tokens_prompt: 30,
        nb_tokens_completion: 9,
        tool_steps: [
          [{ tool_name: 'search', tool_params: JSON.stringify({ query }), tool_result: found, execution_time: expect.any(Number) }],
          [{ tool_name: 'add', tool_params: JSON.stringify({ a: i, b: 10 }), tool_result: String(i + 10), execution_time: expect.any(Number) }],
        ],
        context: [found, String(i + 10)],
        retrieval_context: [`${query}: the first document`, `${query}: the second document`, String(i + 10)],
      });
      expect(row.observations.nb_tool_calls).toMatchObject({ score: 2, error_msg: null });
      expect(row.observations.judge_exactness).toMatchObject({ score: 1, error_msg: null });
    }
    const result = (name: string) => exp.results.find((r: { metric_name: string }) => r.metric_name === name);
    expect(result('nb_tool_calls')).toMatchObject({ metric_status: 'finished', num_success: ROWS });
    expect(result('judge_exactness')).toMatchObject({ metric_status: 'finished', num_success: ROWS });

    expect(JSON.stringify((await fx.api.call('GET', `/v1/experiment/${created.body.id}`)).body)).not.toContain(SECRET);

    const agentCalls = model.requests.filter((r) => r.model === 'agent');
    expect(agentCalls).toHaveLength(3 * ROWS);
    for (const r of agentCalls) {
      expect(r).not.toHaveProperty('_tools_');
      expect(r.tools.map((t: any) => t.function.name).sort()).toEqual(transport === 'stdio' ? ['add', 'echo', 'fail', 'pid', 'search', 'sleep'] : ['add', 'search']);
    }
  });
});

it('fails the answers of a model whose MCP server cannot start, with the server\'s reason, and still finishes', async () => {
  model.requests.length = 0;
  const created = await fx.api.call('POST', '/v1/experiment', {
    body: { name: 'agents-broken', dataset: 'sums', model: agent({ tools: [stdioTools('broken', ['--fail-start'])] }), metrics: ['nb_tool_calls'] },
  });
  expect(created.status).toBe(200);
  fx.runner();
  const exp = await terminal(fx.api, created.body.id, 60_000);
  expect(exp).toMatchObject({ experiment_status: 'finished', num_try: ROWS, num_success: 0 });
  const { rows } = await fx.api.pool.query('SELECT error_msg, tool_steps FROM answer WHERE experiment_id = $1', [created.body.id]);
  expect(rows).toHaveLength(ROWS);
  for (const r of rows) {
    expect(r.error_msg).toMatch(/MCP server 'broken' is unavailable: .*TOOLS_CONFIG is missing/);
    expect(r.tool_steps).toBeNull();
  }
  expect(model.requests).toHaveLength(0);
});

it('accepts Evalap\'s _tools_ without MCP servers, as its scripts send it, and fails those answers saying why', async () => {
  model.requests.length = 0;
  const created = await fx.api.call('POST', '/v1/experiment', { body: { name: 'agents-bridge', dataset: 'sums', model: agent({ extra_params: { _tools_: ['search_albert_collections_v1'] } }), metrics: ['nb_tool_calls'] } });
  expect(created.status).toBe(200);
  fx.runner();
  const exp = await terminal(fx.api, created.body.id, 60_000);
  expect(exp).toMatchObject({ experiment_status: 'finished', num_try: ROWS, num_success: 0 });
  const { rows } = await fx.api.pool.query('SELECT DISTINCT error_msg FROM answer WHERE experiment_id = $1', [created.body.id]);
  expect(rows).toEqual([{ error_msg: expect.stringContaining('extra_params._tools_ selects ["search_albert_collections_v1"], but the model lists no MCP server in `tools`') }]);
  expect(model.requests).toHaveLength(0);
});

const invalid: [string, Record<string, unknown>, RegExp][] = [
  ['a server entry with neither command nor url', { tools: [{ name: 'x' }] }, /model\.tools\.0\.command: give `command` \(a server over stdio\) or `url`/],
  ['a server url that is not http', { tools: [{ name: 'x', url: 'file:///etc/passwd' }] }, /model\.tools\.0\.url: Invalid URL/],
  ['two servers of one name', { tools: [stdioTools('a'), { name: 'a', url: 'http://127.0.0.1:1/mcp' }] }, /MCP server names must be unique/],
  ['a _tools_ selection that is not a list of names', { tools: [stdioTools()], extra_params: { _tools_: 'search' } }, /_tools_: expected a list of tool or MCP server names/],
  ['a step limit out of range', { tools: [stdioTools()], max_tool_steps: 0 }, /max_tool_steps/],
];
it.each(invalid)('refuses a model with %s, with a 400 that says where', async (_name, over, detail) => {
  const before = await fx.api.footprint();
  const res = await fx.api.call('POST', '/v1/experiment', { body: { name: 'agents-bad', dataset: 'sums', model: agent(over), metrics: ['nb_tool_calls'] } });
  expect(res.status).toBe(400);
  expect(res.body.detail).toMatch(detail);
  expect(await fx.api.footprint()).toEqual(before);
});
