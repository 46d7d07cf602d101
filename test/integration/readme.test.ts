import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { startApi, type TestApi } from '../support/api.js';

const run = promisify(execFile);
const README = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

describe('README', () => {
  it('has curl examples', () => {
    expect(blocks.length).toBeGreaterThan(5);
  });

  // In order: later examples use what earlier ones created (dataset 1, experiment 1, set 1).
  it('runs every curl example as written, each answering 2xx', async () => {
    for (const block of blocks) {
      const script = block.replaceAll('http://127.0.0.1:8000', api.url);
      const result = await run('bash', ['-e', '-o', 'pipefail', '-c', script]).catch((err) => err);
      if (result instanceof Error) throw new Error(`README example failed:\n${block}\n${(result as { stderr?: string }).stderr ?? result.message}`);
    }
    const byo = await api.call('GET', '/v1/experiment/1?with_results=true');
    expect(byo.body).toMatchObject({ name: 'capitals-byo', num_metrics: 3 });
    const set = await api.call('GET', '/v1/experiment_set/1');
    expect(set.body.experiments).toHaveLength(4);
  });
});
