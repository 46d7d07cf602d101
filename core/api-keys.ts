/**
 * The API keys in force: from the environment (EVALAP_API_KEYS,
 * EVALAP_ADMIN_KEY), or in AWS from a secret read through the short-lived
 * cache (EVALAP_API_KEYS_SECRET_ARN), so a key added or revoked there takes
 * effect on warm Lambdas within EVALAP_SECRET_TTL_SEC.
 */
import { apiKeys, VARIABLES, type Config } from './config.js';
import { UnavailableError } from './errors.js';
import type { SecretSource } from './secret-source.js';

export interface ApiKeys {
  user: readonly string[];
  admin: string | undefined;
}

export interface ApiKeySource {
  read(): Promise<ApiKeys>;
  /** True when reading calls a service (Secrets Manager), false when the keys are in the process. */
  remote: boolean;
}

/** Where the keys come from: the secret when EVALAP_API_KEYS_SECRET_ARN is set, else the environment. */
export function apiKeySource(config: Config, secrets: () => SecretSource): ApiKeySource {
  const fromEnv = apiKeys(config);
  const arn = config.EVALAP_API_KEYS_SECRET_ARN;
  if (!arn) return { remote: false, read: async () => fromEnv };
  return { remote: true, read: async () => {
    const secret = await secrets()(arn);
    try {
      const field = (name: 'EVALAP_API_KEYS' | 'EVALAP_ADMIN_KEY') => (typeof secret[name] === 'string' && secret[name] ? VARIABLES[name].parse(secret[name] as string, name) : []);
      const admin = field('EVALAP_ADMIN_KEY');
      if (admin.length > 1) throw new Error('EVALAP_ADMIN_KEY: exactly one admin key is expected');
      return { user: field('EVALAP_API_KEYS'), admin: admin[0] };
    } catch (err) {
      // A malformed secret must not open the API: refuse every request until it is fixed.
      throw new UnavailableError(`the API keys secret is malformed (${(err as Error).message})`, 60);
    }
  } };
}
