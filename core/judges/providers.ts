/**
 * The providers a judge given by name can come from, in the order they are
 * asked (the precedence when several serve the same name): the operator's
 * own endpoint (EVALAP_JUDGE_BASE_URL) first, as it is the most specific
 * choice, then Evalap's providers in Evalap's order (evalap/clients/llm.py:
 * Albert, Mistral, OpenAI, Anthropic, Scaleway), with Evalap's key variable
 * names. A named provider is configured when its key is set; the custom one
 * when its URL is.
 */
import type { Config } from '../config.js';
import type { SecretSource } from '../secret-source.js';

export const JUDGE_PROVIDER_IDS = ['custom', 'albert', 'mistral', 'openai', 'anthropic', 'scaleway'] as const;
export type JudgeProviderId = (typeof JUDGE_PROVIDER_IDS)[number];

type UrlVariable = 'EVALAP_JUDGE_BASE_URL' | 'ALBERT_BASE_URL' | 'MISTRAL_BASE_URL' | 'OPENAI_BASE_URL' | 'ANTHROPIC_BASE_URL' | 'SCALEWAY_BASE_URL';
type KeyVariable = 'EVALAP_JUDGE_API_KEY' | 'ALBERT_API_KEY' | 'MISTRAL_API_KEY' | 'OPENAI_API_KEY' | 'ANTHROPIC_API_KEY' | 'SCALEWAY_API_KEY';

const VARIABLES_OF: Record<JudgeProviderId, { url: UrlVariable; key: KeyVariable }> = {
  custom: { url: 'EVALAP_JUDGE_BASE_URL', key: 'EVALAP_JUDGE_API_KEY' },
  albert: { url: 'ALBERT_BASE_URL', key: 'ALBERT_API_KEY' },
  mistral: { url: 'MISTRAL_BASE_URL', key: 'MISTRAL_API_KEY' },
  openai: { url: 'OPENAI_BASE_URL', key: 'OPENAI_API_KEY' },
  anthropic: { url: 'ANTHROPIC_BASE_URL', key: 'ANTHROPIC_API_KEY' },
  scaleway: { url: 'SCALEWAY_BASE_URL', key: 'SCALEWAY_API_KEY' },
};

/** The variables (and provider keys secret fields) holding the providers' keys. */
export const PROVIDER_KEY_VARIABLES: readonly KeyVariable[] = JUDGE_PROVIDER_IDS.map((id) => VARIABLES_OF[id].key);

/** A provider's keys by variable name: from the environment, or the secret's non-empty fields. */
export type ProviderKeys = Partial<Record<KeyVariable, string>>;

export interface JudgeProvider {
  id: JudgeProviderId;
  baseUrl: string;
  /** Undefined for a custom endpoint that needs none. */
  apiKey: string | undefined;
  /** Names served without asking GET /models (EVALAP_JUDGE_MODELS), or '*' for any name. */
  listedModels?: readonly string[] | '*';
}

/** What the configuration says, with `keys` (from the secret) over the environment's. */
function keysFrom(config: Config, keys: ProviderKeys = {}): ProviderKeys {
  const out: ProviderKeys = {};
  for (const name of PROVIDER_KEY_VARIABLES) {
    const value = keys[name]?.trim() ? keys[name] : config[name];
    if (value) out[name] = value;
  }
  return out;
}

/** The configured providers, in precedence order. */
export function configuredProviders(config: Config, secretKeys?: ProviderKeys): JudgeProvider[] {
  const keys = keysFrom(config, secretKeys);
  const out: JudgeProvider[] = [];
  for (const id of JUDGE_PROVIDER_IDS) {
    const vars = VARIABLES_OF[id];
    const baseUrl = config[vars.url];
    const apiKey = keys[vars.key];
    if (id === 'custom' ? !baseUrl : !apiKey || !baseUrl) continue;
    const provider: JudgeProvider = { id, baseUrl: baseUrl!.replace(/\/+$/, ''), apiKey };
    if (id === 'custom' && config.EVALAP_JUDGE_MODELS) {
      const names = config.EVALAP_JUDGE_MODELS.split(',').map((n) => n.trim()).filter(Boolean);
      provider.listedModels = names.includes('*') ? '*' : names;
    }
    out.push(provider);
  }
  return out;
}

/** The provider a stored judge was resolved from, if it was (its key is then the runner's own, never stored). */
export function resolvedProvider(judge: Record<string, unknown> | null | undefined): JudgeProviderId | undefined {
  const id = judge?.provider;
  return (JUDGE_PROVIDER_IDS as readonly unknown[]).includes(id) ? (id as JudgeProviderId) : undefined;
}

/** One configured provider by id (the runner's, for an experiment whose judge was resolved to it). */
export function providerById(config: Config, id: string): JudgeProvider | undefined {
  return configuredProviders(config).find((p) => p.id === id);
}

/**
 * The providers the API checks: with EVALAP_PROVIDER_KEYS_SECRET_ARN (AWS),
 * the keys come from that secret through the process's cache, so a key put
 * there takes effect within EVALAP_SECRET_TTL_SEC; else from the environment.
 */
export async function providersForLaunch(config: Config, secrets: () => SecretSource): Promise<JudgeProvider[]> {
  const arn = config.EVALAP_PROVIDER_KEYS_SECRET_ARN;
  if (!arn) return configuredProviders(config);
  const secret = await secrets()(arn);
  const keys: ProviderKeys = {};
  for (const name of PROVIDER_KEY_VARIABLES) if (typeof secret[name] === 'string') keys[name] = secret[name] as string;
  return configuredProviders(config, keys);
}

/** The headers that authenticate with `provider`: Anthropic's own (x-api-key, anthropic-version), else a Bearer token. */
export function providerHeaders(provider: Pick<JudgeProvider, 'id' | 'apiKey'>): Record<string, string> {
  if (!provider.apiKey) return {};
  // https://docs.anthropic.com/en/api/versioning and https://platform.claude.com/docs/en/api/models-list
  if (provider.id === 'anthropic') return { 'x-api-key': provider.apiKey, 'anthropic-version': '2023-06-01' };
  return { authorization: `Bearer ${provider.apiKey}` };
}

/** A base URL fit for a message: any credentials in it hidden. */
export const shownUrl = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');
