/**
 * Evalap's judges through the real runner and a stub judge: a bare-number
 * reply (after a think block) is the stored score, the judge is called at
 * temperature 0.2 with the judge model's system_prompt as its only system
 * message, and the judge model's own sampling_params win.
 */
import { jest } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, terminal } from '../support/runner.js';

jest.setTimeout(120_000);

let api: TestApi;
let stub: StubModelServer;

beforeAll(async () => {
  api = await startApi();
  stub = await startModelServer({
    // The judges are called by name; the generation model gets its default echo.
    reply: (body) => (body.model === 'judge' ? '<think>Two of the three elements are there.</think>\n4.5' : body.model === 'cold-judge' ? '7' : `answer to: ${body.messages.at(-1).content}`),
  });
});
afterAll(async () => {
  await stub.close();
  await api.close();
});

async function run(name: string, judge_model: Record<string, unknown>): Promise<{ scores: (number | null)[]; judgeRequests: typeof stub.requests }> {
  const created = await api.call('POST', '/v1/experiment', {
    body: { name, dataset: 'essentials', model: { name: 'gen', base_url: stub.url }, judge_model: { base_url: stub.url, ...judge_model }, metrics: ['judge_relevant'] },
  });
  expect(created.status).toBe(200);
  const runner = startRunner(api);
  try {
    expect(await terminal(api, created.body.id, 90_000)).toMatchObject({ experiment_status: 'finished' });
  } finally {
    runner.kill();
    await runner.exited;
  }
  const { rows } = await api.pool.query(
    `SELECT o.score, o.error_msg FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1 AND r.metric_name = 'judge_relevant' ORDER BY o.num_line`,
    [created.body.id],
  );
  for (const r of rows) expect(r.error_msg).toBeNull();
  return { scores: rows.map((r) => r.score), judgeRequests: stub.requests.filter((r) => r.model === judge_model.name) };
}

it('stores the bare number a judge replies as the score of judge_relevant, calling it at temperature 0.2 with its system_prompt', async () => {
  const df = JSON.stringify([
    { query: 'Documents for a passport?', output_true: 'ID card, photo, proof of address' },
    { query: 'Documents for a driving licence?', output_true: 'ID card, photo, medical certificate' },
  ]);
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'essentials', readme: '', df } })).status).toBe(200);

  const { scores, judgeRequests } = await run('relevant', { name: 'judge', system_prompt: 'Tu es un évaluateur rigoureux.' });
  expect(scores).toEqual([4.5, 4.5]);
  expect(judgeRequests).toHaveLength(2);
  for (const r of judgeRequests) {
    expect(r.body.temperature).toBe(0.2);
    expect(r.body.messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user']);
    expect(r.body.messages[0].content).toBe('Tu es un évaluateur rigoureux.');
    // judge_relevant reads the reference answer, as Evalap's does.
    expect(r.body.messages[1].content).toMatch(/<reference_answer>\nID card, photo, (proof of address|medical certificate)\n<\/reference_answer>/);
  }
});

it("lets the judge model's sampling_params set the temperature, and sends no system message without a system_prompt", async () => {
  const { scores, judgeRequests } = await run('relevant-cold', { name: 'cold-judge', sampling_params: { temperature: 0 } });
  expect(scores).toEqual([7, 7]);
  for (const r of judgeRequests) {
    expect(r.body.temperature).toBe(0);
    expect(r.body.messages.map((m: { role: string }) => m.role)).toEqual(['user']);
  }
});
