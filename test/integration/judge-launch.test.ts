/**
 * Judges given by name are resolved at launch from the configured providers
 * (two local stubs standing in for OpenAI and Mistral), on every launch
 * route; an unknown judge is a 400 that writes nothing; and the runner calls
 * a resolved judge at its provider's URL with its own key for that provider.
 */
import { jest } from '@jest/globals';
import { clearModelLists } from '../../core/judges/model-lists.js';
import { tick } from '../../core/schedules/tick.js';
import { makeDf, startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, stopRunners, terminal, type RunningRunner } from '../support/runner.js';

jest.setTimeout(90_000);

const API_OPENAI_KEY = 'sk-openai-api-side-0001';
const RUNNER_OPENAI_KEY = 'sk-openai-runner-side-0002';

let openai: StubModelServer;
let mistral: StubModelServer;
let api: TestApi;
/** The same providers, and no default judge. */
let bare: TestApi;
const runners: RunningRunner[] = [];

/** The providers' variables; EVALAP_JUDGE_BASE_URL blanked so the developer's environment cannot add a custom endpoint. */
const providers = () => ({
  EVALAP_JUDGE_BASE_URL: '',
  EVALAP_JUDGE_MODELS: '',
  OPENAI_API_KEY: API_OPENAI_KEY,
  OPENAI_BASE_URL: openai.url,
  MISTRAL_API_KEY: 'mistral-api-side-0003',
  MISTRAL_BASE_URL: mistral.url,
});

beforeAll(async () => {
  openai = await startModelServer({ models: ['gpt-judge'], reply: () => '7' });
  mistral = await startModelServer({ models: ['mistral-judge'], reply: () => '7' });
  api = await startApi({ ...providers(), EVALAP_JUDGE_MODEL: 'mistral-judge' });
  bare = await startApi({ ...providers(), EVALAP_JUDGE_MODEL: '' });
  for (const a of [api, bare]) expect((await a.call('POST', '/v1/dataset', { body: { name: 'judged', readme: '', df: makeDf(2) } })).status).toBe(200);
});
afterAll(async () => {
  await stopRunners(runners);
  await api.close();
  await bare.close();
  await openai.close();
  await mistral.close();
});
beforeEach(() => clearModelLists());
afterEach(() => stopRunners(runners));

const own = (name: string) => ({ aliased_name: name, output: ['a', 'b'] });
const experiment = (name: string, extra: Record<string, unknown> = {}) => ({ name, dataset: 'judged', model: own(name), metrics: ['judge_notator'], ...extra });

/** The judge as stored: what the runner reads. */
async function storedJudge(a: TestApi, id: number): Promise<{ judge_model: Record<string, unknown> | null; judge_api_key: string | null }> {
  const { rows } = await a.pool.query('SELECT judge_model, judge_api_key FROM experiment WHERE id = $1', [id]);
  return rows[0];
}

describe('POST /v1/experiment', () => {
  it('stores a judge given by name as the provider serving it, with its base URL and no key', async () => {
    const res = await api.call('POST', '/v1/experiment', { body: experiment('by-name', { judge_model: 'gpt-judge' }) });
    expect(res.status).toBe(200);
    expect(res.body.judge_model).toMatchObject({ name: 'gpt-judge', base_url: openai.url, has_api_key: false });
    expect(await storedJudge(api, res.body.id)).toEqual({ judge_model: { name: 'gpt-judge', base_url: openai.url, provider: 'openai' }, judge_api_key: null });
    expect(JSON.stringify(await storedJudge(api, res.body.id))).not.toContain(API_OPENAI_KEY);
  });

  it('refuses a judge no provider serves with a 400 naming it and the providers checked, writing nothing', async () => {
    const before = await api.footprint();
    const res = await api.call('POST', '/v1/experiment', { body: experiment('unknown', { judge_model: 'gpt-nowhere' }) });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/judge_model: no configured provider serves the judge "gpt-nowhere"; checked the GET \/models of mistral \(.*\), openai \(.*\)/);
    expect(await api.footprint()).toEqual(before);
  });

  it('gives an experiment asking a judged metric without a judge the default judge, resolved', async () => {
    const res = await api.call('POST', '/v1/experiment', { body: experiment('default') });
    expect(res.status).toBe(200);
    expect((await storedJudge(api, res.body.id)).judge_model).toEqual({ name: 'mistral-judge', base_url: mistral.url, provider: 'mistral' });
  });

  it('refuses a judged metric with no judge and no default judge with a 400', async () => {
    const before = await bare.footprint();
    const res = await bare.call('POST', '/v1/experiment', { body: experiment('no-judge') });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/judge_model: metric judge_notator needs a judge/);
    expect(await bare.footprint()).toEqual(before);
  });

  it('launches an experiment with no judged metric and no judge without asking any provider', async () => {
    const res = await bare.call('POST', '/v1/experiment', { body: experiment('plain', { metrics: ['exact_match'] }) });
    expect(res.status).toBe(200);
    expect(res.body.judge_model).toBeNull();
  });

  it('answers 503 with Retry-After, writing nothing, when no provider can be asked', async () => {
    const down = await startApi({ ...providers(), OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', MISTRAL_BASE_URL: 'http://127.0.0.1:9/mistral/v1' });
    try {
      await down.call('POST', '/v1/dataset', { body: { name: 'judged', readme: '', df: makeDf(2) } });
      const before = await down.footprint();
      const res = await down.call('POST', '/v1/experiment', { body: experiment('down', { judge_model: 'gpt-judge' }) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('30');
      expect(res.body.detail).toMatch(/cannot resolve the judge "gpt-judge": no judge provider could be asked/);
      expect(res.text).not.toContain(API_OPENAI_KEY);
      expect(await down.footprint()).toEqual(before);
    } finally {
      await down.close();
    }
  });
});

describe('POST /v1/experiment_set', () => {
  it('refuses an explicit experiment with an unknown judge, naming where it is', async () => {
    const res = await api.call('POST', '/v1/experiment_set', { body: { name: 'set-bad', readme: '', experiments: [experiment('e0', { judge_model: 'gpt-nowhere' })] } });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/experiments\.0\.judge_model: no configured provider serves the judge "gpt-nowhere"/);
  });

  it('resolves the judge of every experiment of a cv grid, and refuses a grid whose judge is unknown', async () => {
    const grid = (judge: string) => ({ name: `grid-${judge}`, readme: '', cv: { common_params: { dataset: 'judged', metrics: ['judge_notator'], judge_model: judge }, grid_params: { model: [own('g1'), own('g2')] } } });
    const ok = await api.call('POST', '/v1/experiment_set', { body: grid('gpt-judge') });
    expect(ok.status).toBe(200);
    for (const e of ok.body.experiments) expect((await storedJudge(api, e.id)).judge_model).toEqual({ name: 'gpt-judge', base_url: openai.url, provider: 'openai' });
    const bad = await api.call('POST', '/v1/experiment_set', { body: grid('gpt-nowhere') });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/cv\.grid\.0\.judge_model: no configured provider serves the judge "gpt-nowhere"/);
  });
});

describe('schedule launches', () => {
  it('records a run whose template names an unknown judge as failed, launching nothing', async () => {
    const created = await api.call('POST', '/v1/schedule', { body: { name: 'nightly-bad', cron: '0 3 * * *', template: { experiments: [experiment('n', { judge_model: 'gpt-nowhere' })] } } });
    expect(created.status).toBe(200);
    const outcome = await tick(api.core, created.body.id, new Date('2030-01-01T03:00:00Z'));
    expect(outcome.status).toBe('failed');
    // The recorded reason names the field and the judge, not only "invalid experiment".
    expect(outcome.reason).toMatch(/judge_model: no configured provider serves the judge "gpt-nowhere"/);
    expect(outcome.experiment_set_id).toBeUndefined();
    expect((await api.pool.query(`SELECT count(*)::int AS n FROM experiment_set WHERE name LIKE 'nightly-bad%'`)).rows[0].n).toBe(0);
  });

  it('launches a template naming a served judge with that judge resolved', async () => {
    const created = await api.call('POST', '/v1/schedule', { body: { name: 'nightly-ok', cron: '0 3 * * *', template: { experiments: [experiment('n', { judge_model: 'gpt-judge' })] } } });
    const outcome = await tick(api.core, created.body.id, new Date('2030-01-01T03:00:00Z'));
    expect(outcome.status).toBe('launched');
    const set = await api.call('GET', `/v1/experiment_set/${outcome.experiment_set_id}`);
    expect((await storedJudge(api, set.body.experiments[0].id)).judge_model).toMatchObject({ name: 'gpt-judge', provider: 'openai' });
  });
});

describe('PATCH /v1/experiment adding judged metrics', () => {
  it('gives an experiment that had no judge the default judge', async () => {
    const created = await api.call('POST', '/v1/experiment', { body: experiment('patched', { metrics: ['exact_match'] }) });
    expect(created.body.judge_model).toBeNull();
    const res = await api.call('PATCH', `/v1/experiment/${created.body.id}`, { body: { metrics: ['judge_notator'] } });
    expect(res.status).toBe(200);
    expect((await storedJudge(api, created.body.id)).judge_model).toEqual({ name: 'mistral-judge', base_url: mistral.url, provider: 'mistral' });
  });

  it('refuses them with a 400 when there is no judge and no default, changing nothing', async () => {
    const created = await bare.call('POST', '/v1/experiment', { body: experiment('patched-bare', { metrics: ['exact_match'] }) });
    const before = await bare.footprint();
    const res = await bare.call('PATCH', `/v1/experiment/${created.body.id}`, { body: { metrics: ['judge_notator'] } });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/judge_model: metric judge_notator needs a judge/);
    expect(await bare.footprint()).toEqual(before);
    expect((await storedJudge(bare, created.body.id)).judge_model).toBeNull();
  });
});

describe('the runner', () => {
  it('calls a judge resolved by name at its provider\'s URL with the runner\'s own key for that provider', async () => {
    // Only this experiment's tasks on the queue: the ones launched above would call the same judge.
    await api.purge();
    const res = await api.call('POST', '/v1/experiment', { body: experiment('judged-run', { judge_model: 'gpt-judge' }) });
    expect(res.status).toBe(200);
    openai.reset();
    runners.push(startRunner(api, { OPENAI_API_KEY: RUNNER_OPENAI_KEY, OPENAI_BASE_URL: openai.url }));
    const done = await terminal(api, res.body.id, 60_000);
    expect(done.experiment_status).toBe('finished');
    const calls = openai.requests.filter((r) => r.model === 'gpt-judge');
    expect(calls).toHaveLength(2);
    for (const call of calls) expect(call.authorization).toBe(`Bearer ${RUNNER_OPENAI_KEY}`);
    expect(mistral.requests.filter((r) => r.model === 'gpt-judge')).toHaveLength(0);
  });

  it('fails the observations with a clear error when it has no key for the judge\'s provider', async () => {
    await api.purge();
    const res = await api.call('POST', '/v1/experiment', { body: experiment('keyless-run', { judge_model: 'gpt-judge' }) });
    openai.reset();
    runners.push(startRunner(api, {}));
    const done = await terminal(api, res.body.id, 60_000);
    const observations = done.results[0].observation_table ?? (await api.call('GET', `/v1/experiment/${res.body.id}?with_results=true`)).body.results[0].observation_table;
    expect(observations.map((o: { error_msg: string }) => o.error_msg)).toEqual([expect.stringContaining('no key for the provider'), expect.stringContaining('no key for the provider')]);
    expect(openai.requests).toHaveLength(0);
  });
});
