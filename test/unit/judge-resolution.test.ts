/**
 * Judge names resolved from configured providers, as Evalap does: against
 * two local OpenAI-compatible stubs standing in for the providers' GET /models.
 */
import { loadConfig } from '../../core/config.js';
import { UnavailableError, ValidationError } from '../../core/errors.js';
import { clearModelLists } from '../../core/judges/model-lists.js';
import { configuredProviders, providersForLaunch } from '../../core/judges/providers.js';
import { launchJudge, resolveJudgeName } from '../../core/judges/resolve.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';

/** A port nothing listens on (the discard port, closed on test machines). */
const CLOSED = 'http://127.0.0.1:9/v1';

let first: StubModelServer;
let second: StubModelServer;
beforeAll(async () => {
  first = await startModelServer({ models: ['first-judge', 'shared-judge'] });
  second = await startModelServer({ models: ['second-judge', 'shared-judge'] });
});
afterAll(async () => {
  await first.close();
  await second.close();
});
beforeEach(() => {
  clearModelLists();
  first.reset();
  second.reset();
});

/** Mistral at the first stub and OpenAI at the second: Evalap asks Mistral before OpenAI. */
const twoProviders = (extra: Record<string, string> = {}) =>
  loadConfig({ MISTRAL_API_KEY: 'mistral-test-key', MISTRAL_BASE_URL: first.url, OPENAI_API_KEY: 'sk-openai-test-key', OPENAI_BASE_URL: second.url, ...extra });

const resolve = (config: ReturnType<typeof loadConfig>, name: string) => resolveJudgeName(config, configuredProviders(config), name, 'judge_model');

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('resolving a judge name', () => {
  it('finds a name listed by the first configured provider, with its base URL and no key', async () => {
    const judge = await resolve(twoProviders(), 'first-judge');
    expect(judge).toEqual({ name: 'first-judge', base_url: first.url, provider: 'mistral' });
  });

  it('finds a name listed only by the second configured provider', async () => {
    expect(await resolve(twoProviders(), 'second-judge')).toEqual({ name: 'second-judge', base_url: second.url, provider: 'openai' });
  });

  it('takes the earlier provider in Evalap\'s order when two list the name (Mistral before OpenAI)', async () => {
    expect((await resolve(twoProviders(), 'shared-judge')).provider).toBe('mistral');
  });

  it('asks the custom endpoint (EVALAP_JUDGE_BASE_URL) before every named provider', async () => {
    const config = loadConfig({ EVALAP_JUDGE_BASE_URL: second.url, MISTRAL_API_KEY: 'mistral-test-key', MISTRAL_BASE_URL: first.url });
    expect(await resolve(config, 'shared-judge')).toEqual({ name: 'shared-judge', base_url: second.url, provider: 'custom' });
  });

  it('refuses a name no provider lists with a 400 naming the judge and the providers checked', async () => {
    const err = await failure(resolve(twoProviders(), 'gpt-nowhere'));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).status).toBe(400);
    const issue = (err as ValidationError).issues[0];
    expect(issue.path).toBe('judge_model');
    expect(issue.message).toContain('"gpt-nowhere"');
    expect(issue.message).toContain(`mistral (${first.url})`);
    expect(issue.message).toContain(`openai (${second.url})`);
  });

  it('refuses any name with a 400 saying what to configure when no provider is configured', async () => {
    const err = await failure(resolve(loadConfig({}), 'gpt-4o-mini'));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0].message).toMatch(/no judge provider is configured.*OPENAI_API_KEY.*EVALAP_JUDGE_BASE_URL/);
  });

  it('answers 503 when no configured provider can be asked', async () => {
    const config = loadConfig({ MISTRAL_API_KEY: 'mistral-test-key', MISTRAL_BASE_URL: CLOSED, OPENAI_API_KEY: 'sk-openai-test-key', OPENAI_BASE_URL: CLOSED.replace('/v1', '/openai/v1') });
    const err = await failure(resolve(config, 'first-judge'));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).status).toBe(503);
    expect(err.message).toMatch(/no judge provider could be asked: mistral \(http:\/\/127\.0\.0\.1:9\/v1\): unreachable; openai/);
    expect(err.message).not.toContain('test-key');
  });

  it('answers 503, not 400, when the name is not in the lists it got but a provider could not be asked', async () => {
    const config = twoProviders({ MISTRAL_BASE_URL: CLOSED });
    const err = await failure(resolve(config, 'first-judge'));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain('some judge providers could not be asked');
  });

  it('resolves from a provider that answers while another cannot be asked', async () => {
    expect(await resolve(twoProviders({ MISTRAL_BASE_URL: CLOSED }), 'shared-judge')).toMatchObject({ provider: 'openai', base_url: second.url });
  });

  it('lists models with each provider\'s own authentication: a Bearer token, or Anthropic\'s x-api-key and version', async () => {
    await resolve(twoProviders(), 'first-judge');
    expect(first.listings[0].authorization).toBe('Bearer mistral-test-key');
    const anthropic = loadConfig({ ANTHROPIC_API_KEY: 'anthropic-test-key', ANTHROPIC_BASE_URL: second.url });
    second.setBehaviour({ models: ['claude-judge'] });
    try {
      expect(await resolve(anthropic, 'claude-judge')).toMatchObject({ provider: 'anthropic' });
    } finally {
      second.setBehaviour({ models: ['second-judge', 'shared-judge'] });
    }
    const headers = second.listings.at(-1)!;
    expect(headers['x-api-key']).toBe('anthropic-test-key');
    expect(headers['anthropic-version']).toBe('2023-06-01');
    expect(headers.authorization).toBeUndefined();
  });

  it('reuses a provider\'s listing within EVALAP_JUDGE_LIST_TTL_SEC instead of asking again', async () => {
    const config = twoProviders();
    await resolve(config, 'first-judge');
    await resolve(config, 'shared-judge');
    await Promise.all([resolve(config, 'second-judge'), resolve(config, 'first-judge')]);
    expect(first.listings).toHaveLength(1);
    expect(second.listings).toHaveLength(1);
  });

  it('asks again after a listing failed, where a listing that answered is reused', async () => {
    const config = loadConfig({ OPENAI_API_KEY: 'sk-openai-test-key', OPENAI_BASE_URL: second.url });
    second.setBehaviour({ modelsDown: true });
    const err = await failure(resolve(config, 'second-judge'));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain('GET /models answered 503');
    second.setBehaviour({ models: ['second-judge'] });
    expect((await resolve(config, 'second-judge')).provider).toBe('openai');
    second.setBehaviour({ models: [] });
    expect((await resolve(config, 'second-judge')).provider).toBe('openai');
    expect(second.listings).toHaveLength(2);
    second.setBehaviour({ models: ['second-judge', 'shared-judge'] });
  });

  it('serves the names EVALAP_JUDGE_MODELS lists on the custom endpoint without asking its GET /models, and any name with "*"', async () => {
    const listed = loadConfig({ EVALAP_JUDGE_BASE_URL: first.url, EVALAP_JUDGE_MODELS: 'house-judge, other-judge' });
    expect(await resolve(listed, 'other-judge')).toEqual({ name: 'other-judge', base_url: first.url, provider: 'custom' });
    await expect(resolve(listed, 'first-judge')).rejects.toBeInstanceOf(ValidationError);
    const any = loadConfig({ EVALAP_JUDGE_BASE_URL: first.url, EVALAP_JUDGE_MODELS: '*' });
    expect((await resolve(any, 'whatever-judge')).provider).toBe('custom');
    expect(first.listings).toHaveLength(0);
  });

  it('takes the providers\' keys from the provider keys secret when EVALAP_PROVIDER_KEYS_SECRET_ARN is set, its non-empty fields over the environment', async () => {
    const config = loadConfig({ EVALAP_PROVIDER_KEYS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:provider-keys', OPENAI_API_KEY: 'sk-from-env', OPENAI_BASE_URL: second.url, MISTRAL_API_KEY: 'mistral-from-env', MISTRAL_BASE_URL: first.url });
    const asked: string[] = [];
    const secrets = () => async (arn: string) => (asked.push(arn), { OPENAI_API_KEY: 'sk-from-secret', MISTRAL_API_KEY: '', ANTHROPIC_API_KEY: 'anthropic-from-secret' });
    const providers = await providersForLaunch(config, secrets);
    expect(asked).toEqual([config.EVALAP_PROVIDER_KEYS_SECRET_ARN]);
    expect(providers.map((p) => [p.id, p.apiKey])).toEqual([['mistral', 'mistral-from-env'], ['openai', 'sk-from-secret'], ['anthropic', 'anthropic-from-secret']]);
  });

  it('ignores a named provider without its key, even with a base URL set', () => {
    expect(configuredProviders(loadConfig({ OPENAI_BASE_URL: first.url })).map((p) => p.id)).toEqual([]);
  });
});

describe('the judge an experiment launches with', () => {
  it('is the default judge (EVALAP_JUDGE_MODEL), resolved, when a judged metric is asked and no judge given', async () => {
    expect(await launchJudge(twoProviders({ EVALAP_JUDGE_MODEL: 'second-judge' }), undefined, true, 'judge_model')).toEqual({ name: 'second-judge', base_url: second.url, provider: 'openai' });
  });

  it('is refused with a 400 when a judged metric is asked, no judge given and no default configured', async () => {
    const err = await failure(launchJudge(twoProviders(), null, true, 'experiments.0.judge_model', 'judge_notator'));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([{ path: 'experiments.0.judge_model', message: expect.stringMatching(/^metric judge_notator needs a judge: .*EVALAP_JUDGE_MODEL/) }]);
  });

  it('is none when no metric needs one and none is given, and nothing is asked', async () => {
    expect(await launchJudge(twoProviders({ EVALAP_JUDGE_MODEL: 'first-judge' }), undefined, false, 'judge_model')).toBeNull();
    expect(first.listings).toHaveLength(0);
  });

  it('keeps the settings of a judge given as a model without base_url, resolving its name and dropping any key', async () => {
    const judge = await launchJudge(twoProviders(), { name: 'second-judge', system_prompt: 'Be strict.', api_key: 'sk-stray' }, true, 'judge_model');
    expect(judge).toEqual({ name: 'second-judge', base_url: second.url, provider: 'openai', system_prompt: 'Be strict.' });
  });

  it('is left to the caller when given as a full model', async () => {
    expect(await launchJudge(twoProviders(), { name: 'x', base_url: first.url }, true, 'judge_model')).toBeNull();
  });

  it('is resolved when given by name even if no metric needs it, as Evalap checks every name', async () => {
    await expect(launchJudge(twoProviders(), 'gpt-nowhere', false, 'judge_model')).rejects.toBeInstanceOf(ValidationError);
  });
});
