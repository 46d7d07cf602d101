/**
 * Secrets from AWS Secrets Manager (database credentials, API keys), read
 * through a cache with a short time to live (EVALAP_SECRET_TTL_SEC), the
 * convention of Powertools' parameters utility, which does the caching: a
 * rotated password or a revoked API key takes effect within the TTL, with no
 * restart, and a refused login rereads at once (`refresh`).
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { UnavailableError } from './errors.js';

/** Reads a JSON secret; `refresh` skips the cache. */
export type SecretSource = (arn: string, refresh?: boolean) => Promise<Record<string, unknown>>;

export function secretSource(options: { ttlSec: number; region: string; client?: SecretsManagerClient }): SecretSource {
  const provider = new SecretsProvider({ awsSdkV3Client: options.client ?? new SecretsManagerClient({ region: options.region }) });
  return async (arn, refresh = false) => {
    const name = arn.split(':').slice(-1)[0];
    let value: unknown;
    try {
      value = await provider.get(arn, { maxAge: options.ttlSec, forceFetch: refresh, transform: 'json' });
    } catch (err) {
      // Never the secret's value in a message: only which secret and why (Powertools wraps the SDK's error).
      const cause = ((err as Error).cause ?? err) as Error;
      throw new UnavailableError(`secret ${name} cannot be read (${cause.name})`, 5, err);
    }
    if (!value || typeof value !== 'object') throw new UnavailableError(`secret ${name} is not a JSON object`, 30);
    return value as Record<string, unknown>;
  };
}

/** The password field of a database secret (RDS's: {"username", "password"}). */
export async function databasePassword(source: SecretSource, arn: string, refresh: boolean): Promise<string> {
  const secret = await source(arn, refresh);
  if (typeof secret.password !== 'string') throw new UnavailableError('the database secret has no password field', 30);
  return secret.password;
}
