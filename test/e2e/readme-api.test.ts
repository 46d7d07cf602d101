/**
 * README's "Using the API" examples, as a user runs them: in order, in one
 * shell, on a local stack where the quickstart has already run (so a name
 * or an id they take for granted would collide with the quickstart's).
 */
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { startApi, type TestApi } from '../support/api.js';
import { startRunner, type RunningRunner } from '../support/runner.js';

jest.setTimeout(120_000);

const run = promisify(execFile);
const README = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = README.slice(README.indexOf('## Using the API'), README.indexOf('\n## ', README.indexOf('## Using the API') + 1));
const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);

let api: TestApi;
let runner: RunningRunner;
beforeAll(async () => {
  api = await startApi();
  runner = startRunner(api);
});
afterAll(async () => {
  runner.kill();
  await runner.exited;
  await api.close();
});

describe('README "Using the API"', () => {
  it('runs every example as written, in order, after the quickstart', async () => {
    expect(blocks.length).toBeGreaterThan(8);
    const quickstart = await run(process.execPath, ['bin/evalap.js', 'run', 'examples/quickstart.yaml', '--api', api.url], { env: { PATH: process.env.PATH!, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } }).catch((err) => err);
    expect(quickstart instanceof Error ? (quickstart as { stderr?: string }).stderr : '').toBe('');

    const script = blocks.join('\n').replaceAll('http://127.0.0.1:8000', api.url);
    const result = await run('bash', ['-e', '-o', 'pipefail', '-c', script]).catch((err) => err);
    if (result instanceof Error) throw new Error(`a README example failed:\n${(result as { stderr?: string }).stderr ?? result.message}`);

    // What the examples made is theirs, and the quickstart's data is untouched.
    const list = (await api.call('GET', '/v1/experiments?limit=100')).body as any[];
    const byo = list.find((e) => e.name === 'capitals-byo');
    expect(byo).toMatchObject({ dataset: { name: 'capitals-demo', size: 2 }, num_metrics: 3 });
    expect(list.find((e) => e.name === 'capitals-llm')).toMatchObject({ model: { name: 'llama3.2', base_url: 'http://127.0.0.1:11434/v1' } });
    expect((await api.call('GET', '/v1/dataset?name=capitals')).body.size).toBe(8);
    expect(list.filter((e) => e.name === 'careful-model')).toHaveLength(1);
  });
});
