/**
 * An agent's tool steps in the web interface: a set whose model calls tools
 * on the test MCP server (streamable HTTP) is run by the built runner, and a
 * row opened whole in a real browser shows each turn's tool calls, their
 * arguments and results, and flags the call that failed.
 */
import { jest } from '@jest/globals';
import type { Browser } from 'puppeteer-core';
import { startHttpTools, type HttpToolServer } from '../support/mcp-servers.js';
import { runnerFixtures, waitUntil } from '../support/runner.js';
import { startToolModelServer, toolResults, userText, type ToolModelServer } from '../support/tool-model-server.js';
import { launchBrowser, openPage, screenshot, seriousViolations, view, type UiPage } from './ui-browser.js';

jest.setTimeout(120_000);

const fx = runnerFixtures();
let model: ToolModelServer;
let tools: HttpToolServer;
let browser: Browser;
let ui: UiPage;

/** Searches for the question, then calls a tool the server does not have (a recorded error), then answers. */
function script(body: any) {
  const results = toolResults(body);
  if (results.length === 0) return { tool_calls: [{ name: 'search', arguments: JSON.stringify({ query: userText(body) }) }] };
  if (results.length === 1) return { tool_calls: [{ name: 'no_such_tool', arguments: '{}' }] };
  return { content: 'Done after two turns.' };
}

beforeAll(async () => {
  model = await startToolModelServer(script);
  tools = await startHttpTools();
  const df = JSON.stringify([{ query: '2 + 2', output_true: '4' }]);
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name: 'agent-ui', readme: '', df } })).status).toBe(200);
  const set = await fx.api.call('POST', '/v1/experiment_set', {
    body: {
      name: 'agent-ui',
      experiments: [{ name: 'agent-ui', dataset: 'agent-ui', model: { name: 'agent', base_url: model.url, tools: [{ name: 'web', url: tools.url }] }, metrics: ['nb_tool_calls'] }],
    },
  });
  expect(set.status).toBe(200);
  fx.runner();
  await waitUntil(async () => (await fx.api.call('GET', `/v1/experiment_set/${set.body.id}`)).body.status === 'finished', 60_000, 'the set to finish');
  browser = await launchBrowser();
  ui = await openPage(browser, `${fx.api.url}/`);
  await view(ui, `#/set/${set.body.id}/details`, '[role="cell"] .linkish');
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await model?.close();
  await tools?.close();
});

it("shows a row's tool steps turn by turn, with each call's arguments and result, the failed call flagged", async () => {
  await ui.page.click('[role="cell"] .linkish');
  await ui.page.waitForSelector('.row-detail .tool-steps');
  const turns = await ui.page.$$eval('.row-detail .tool-steps > li', (els) => els.map((e) => e.textContent ?? ''));
  expect(turns).toHaveLength(2);
  expect(turns[0]).toMatch(/turn 1.*search\(\{"query":"2 \+ 2"\}\).*2 \+ 2: the first document/s);
  expect(turns[1]).toMatch(/turn 2.*no_such_tool\(\{\}\).*failed/s);
  expect(await ui.page.$$eval('.row-detail .tool-steps > li:nth-child(2) div.error', (els) => els.length)).toBe(1);
  // The steps are shown once, as steps, not again as a raw answer field.
  expect(await ui.page.$eval('.row-detail', (e) => e.textContent ?? '')).not.toContain('answer.tool_steps');
  expect(await seriousViolations(ui.page)).toEqual([]);
  expect(ui.errors).toEqual([]);
  await ui.page.$eval('.row-detail .tool-steps', (e) => (e as unknown as { scrollIntoView(): void }).scrollIntoView());
  await screenshot(ui.page, 'row-tool-steps');
});
