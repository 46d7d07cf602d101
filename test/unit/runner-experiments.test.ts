/**
 * What the runner knows of its experiments (runner/experiments.ts), read
 * from the real PostgreSQL of the test run: a configuration read once per
 * CONFIG_TTL_MS (a manual clock moves time), kept only while running; its
 * stored keys opened; its judge chosen; and which experiments were seen
 * stopped.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { loadConfig, type Config } from '../../core/config.js';
import { createSecretBox } from '../../core/secrets.js';
import { CONFIG_TTL_MS, Experiments, MEMORY_SWEEP_SIZE, STOPPED_MEMORY_MS } from '../../runner/experiments.js';
import type { Resolved } from '../../runner/plan.js';
import { makeDf, startApi, type TestApi } from '../support/api.js';
import { ManualClock } from '../support/manual-clock.js';

const MODEL_KEY = 'sk-model-key-0123456789';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'rows', readme: '', df: makeDf(2) } })).status).toBe(200);
});
afterAll(async () => {
  await api.close();
});

let n = 0;
/** A launched experiment whose model has a key (sealed by the API). */
async function experiment(): Promise<number> {
  const res = await api.call('POST', '/v1/experiment', { body: { name: `exp-${++n}`, dataset: 'rows', model: { name: 'gen', base_url: 'http://127.0.0.1:9/v1', api_key: MODEL_KEY }, metrics: ['exact_match'] } });
  expect(res.status).toBe(200);
  return res.body.id;
}

/** The runner's configuration: the test run's environment with `over` (an empty value unsets). */
function config(over: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, OPENAI_API_KEY: '', EVALAP_JUDGE_BASE_URL: '', EVALAP_JUDGE_MODEL: '', EVALAP_JUDGE_API_KEY: '', ...over });
}

/** The test's database as the cache sees it: configuration reads counted, the next ones failing while `failing`. */
function countedPool() {
  const reads = { count: 0, failing: false };
  const pool = {
    query: (sql: string, params: unknown[]) => {
      reads.count++;
      return reads.failing ? Promise.reject(Object.assign(new Error('connection terminated'), { code: '57P01' })) : api.pool.query(sql, params);
    },
  } as unknown as pg.Pool;
  return { reads, pool };
}

function experiments(over: Record<string, string> = {}, secrets = api.core.secrets) {
  const clock = new ManualClock();
  const { reads, pool } = countedPool();
  return { experiments: new Experiments({ pool, secrets, config: config(over), clock }), clock, reads };
}

const setColumns = (id: number, sql: string, params: unknown[] = []) => api.pool.query(`UPDATE experiment SET ${sql} WHERE id = $1`, [id, ...params]);

describe('the configuration cache', () => {
  it('reads a configuration once for the callers within CONFIG_TTL_MS, and afresh after, seeing a change', async () => {
    const id = await experiment();
    const { experiments: e, clock, reads } = experiments();
    const first = e.config(id);
    expect(e.config(id)).toBe(first);
    expect((await first)?.chatModel?.name).toBe('gen');
    await setColumns(id, `model = model || '{"name": "renamed"}'::jsonb`);
    await clock.advance(CONFIG_TTL_MS - 1);
    expect((await e.config(id))?.chatModel?.name).toBe('gen');
    expect(reads.count).toBe(1);
    await clock.advance(1);
    expect((await e.config(id))?.chatModel?.name).toBe('renamed');
    expect(reads.count).toBe(2);
  });

  it('reads afresh when asked within CONFIG_TTL_MS, and serves that read to the callers after', async () => {
    const id = await experiment();
    const { experiments: e, reads } = experiments();
    await e.config(id);
    const fresh = e.config(id, true);
    expect(e.config(id)).toBe(fresh);
    await fresh;
    expect(reads.count).toBe(2);
  });

  it('keeps no stopped configuration: a retry may resume the experiment any moment', async () => {
    const id = await experiment();
    await setColumns(id, "experiment_status = 'stopped'");
    const { experiments: e, reads } = experiments();
    expect((await e.config(id))?.status).toBe('stopped');
    await e.config(id);
    expect(reads.count).toBe(2);
  });

  it('answers undefined for an experiment that does not exist, and keeps no answer for it', async () => {
    const { experiments: e, reads } = experiments();
    expect(await e.config(2_000_000_000)).toBeUndefined();
    expect(await e.config(2_000_000_000)).toBeUndefined();
    expect(reads.count).toBe(2);
  });

  it('keeps no failed read: the next caller reads again', async () => {
    const id = await experiment();
    const { experiments: e, reads } = experiments();
    reads.failing = true;
    await expect(e.config(id)).rejects.toThrow('connection terminated');
    reads.failing = false;
    expect((await e.config(id))?.id).toBe(id);
    expect(reads.count).toBe(2);
  });
});

describe('keys', () => {
  it('opens the model\'s stored key for the model call, the stored form staying sealed', async () => {
    const id = await experiment();
    const c = (await experiments().experiments.config(id))!;
    expect(c.chatModel).toMatchObject({ name: 'gen', base_url: 'http://127.0.0.1:9/v1', api_key: MODEL_KEY });
    expect(c.modelApiKey).not.toContain(MODEL_KEY);
    expect(c.keyError).toBeUndefined();
  });

  it('gives no model and no judge, but the reason, when this runner\'s secret key cannot open the stored key', async () => {
    const id = await experiment();
    const c = (await experiments({}, createSecretBox(randomBytes(32))).experiments.config(id))!;
    expect(c).toMatchObject({ chatModel: null, judge: null, keyError: 'the stored provider key cannot be decrypted with this runner\'s key' });
  });

  it('gives no model to call for bring-your-own outputs', async () => {
    const id = await experiment();
    await setColumns(id, 'has_raw_output = true');
    expect((await experiments().experiments.config(id))!.chatModel).toBeNull();
  });
});

describe('the judge', () => {
  async function judgeOf(judgeModel: unknown, over: Record<string, string> = {}, judgeKey?: string): Promise<Resolved['judge']> {
    const id = await experiment();
    await setColumns(id, 'judge_model = $2::jsonb, judge_api_key = $3', [JSON.stringify(judgeModel), judgeKey ? await api.core.secrets.seal(judgeKey) : null]);
    return (await experiments(over).experiments.config(id))!.judge;
  }

  it('is called with this runner\'s URL and key for the provider the API resolved it to', async () => {
    const judge = await judgeOf({ name: 'gpt-judge', provider: 'openai', sampling_params: { temperature: 0 } }, { OPENAI_API_KEY: 'sk-runner-openai', OPENAI_BASE_URL: 'http://127.0.0.1:8/v1/' });
    expect(judge).toEqual({ name: 'gpt-judge', sampling_params: { temperature: 0 }, base_url: 'http://127.0.0.1:8/v1', api_key: 'sk-runner-openai' });
  });

  it('is none when this runner has no key for the provider the API resolved it to', async () => {
    expect(await judgeOf({ name: 'gpt-judge', provider: 'openai' })).toBeNull();
  });

  it('is a full model as given, with its own stored key opened', async () => {
    const judge = await judgeOf({ name: 'my-judge', base_url: 'http://127.0.0.1:7/v1' }, { OPENAI_API_KEY: 'sk-runner-openai' }, 'sk-judge-key');
    expect(judge).toEqual({ name: 'my-judge', base_url: 'http://127.0.0.1:7/v1', api_key: 'sk-judge-key' });
  });

  it('is a name alone (launched before names were resolved) sent to the custom judge endpoint with its key', async () => {
    const judge = await judgeOf({ name: 'old-judge' }, { EVALAP_JUDGE_BASE_URL: 'http://127.0.0.1:6/v1', EVALAP_JUDGE_API_KEY: 'sk-custom', EVALAP_JUDGE_MODEL: 'default-judge' });
    expect(judge).toEqual({ name: 'old-judge', base_url: 'http://127.0.0.1:6/v1', api_key: 'sk-custom' });
  });

  it('is the default judge at the custom endpoint when the experiment names none', async () => {
    const id = await experiment();
    const c = (await experiments({ EVALAP_JUDGE_BASE_URL: 'http://127.0.0.1:6/v1', EVALAP_JUDGE_MODEL: 'default-judge' }).experiments.config(id))!;
    expect(c.judgeModel).toBeNull();
    expect(c.judge).toEqual({ name: 'default-judge', base_url: 'http://127.0.0.1:6/v1', api_key: null });
  });

  it('is none for a name alone when this runner has no custom judge endpoint', async () => {
    expect(await judgeOf({ name: 'old-judge' }, { EVALAP_JUDGE_MODEL: 'default-judge' })).toBeNull();
  });
});

describe('stop tracking', () => {
  it('remembers experiments marked stopped and forgets their configurations', async () => {
    const id = await experiment();
    const { experiments: e, reads } = experiments();
    await e.config(id);
    expect(e.isStopped(id)).toBe(false);
    e.markStopped([id]);
    expect(e.isStopped(id)).toBe(true);
    await e.config(id);
    expect(reads.count).toBe(2);
  });

  it('forgets stops older than STOPPED_MEMORY_MS once it remembers more than MEMORY_SWEEP_SIZE, and no others', async () => {
    const { experiments: e, clock } = experiments();
    const old = Array.from({ length: MEMORY_SWEEP_SIZE }, (_, i) => i + 1);
    e.markStopped(old);
    await clock.advance(STOPPED_MEMORY_MS);
    e.markStopped([MEMORY_SWEEP_SIZE + 1]);
    // Not older than STOPPED_MEMORY_MS yet: all kept.
    expect(old.every((id) => e.isStopped(id))).toBe(true);
    await clock.advance(1);
    e.markStopped([MEMORY_SWEEP_SIZE + 2]);
    expect(old.some((id) => e.isStopped(id))).toBe(false);
    expect(e.isStopped(MEMORY_SWEEP_SIZE + 1)).toBe(true);
    expect(e.isStopped(MEMORY_SWEEP_SIZE + 2)).toBe(true);
  });

  it('reports as newly stopped the experiments read stopped or missing that it did not know stopped, and clears the stops of those read running', async () => {
    const running = await experiment();
    const stopped = await experiment();
    const known = await experiment();
    await setColumns(stopped, "experiment_status = 'stopped'");
    await setColumns(known, "experiment_status = 'stopped'");
    const { experiments: e } = experiments();
    e.markStopped([running, known]);
    const configs = new Map<number, Resolved | undefined>([
      [running, await e.config(running)],
      [stopped, await e.config(stopped)],
      [known, await e.config(known)],
      [2_000_000_000, undefined],
    ]);
    expect(e.reconcile(configs)).toEqual([stopped, 2_000_000_000]);
    // A resumed experiment (a retry) runs again; one already known stopped is not reported twice.
    expect(e.isStopped(running)).toBe(false);
    expect(e.isStopped(known)).toBe(true);
    // Reporting is not remembering: the runner marks what it acts on.
    expect(e.isStopped(stopped)).toBe(false);
  });
});
