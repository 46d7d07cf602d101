/**
 * In AWS, the Lambdas are given secret ARNs rather than secrets: the
 * database's (rotated) credentials and the API keys. This reads them into an
 * environment for `loadConfig`, once per cold start.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

type Env = Record<string, string | undefined>;

async function secretJson(client: SecretsManagerClient, arn: string): Promise<Record<string, unknown>> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  try {
    return JSON.parse(out.SecretString ?? '{}');
  } catch {
    throw new Error(`secret ${arn} is not JSON`);
  }
}

/** `env` with the fields of DATABASE_SECRET_ARN (as PG*) and EVALAP_API_KEYS_SECRET_ARN added. */
export async function withAwsSecrets(env: Env, client = new SecretsManagerClient({ region: env.AWS_REGION })): Promise<Env> {
  const out: Env = { ...env };
  if (env.DATABASE_SECRET_ARN && !env.DATABASE_URL && !env.PGHOST) {
    const db = await secretJson(client, env.DATABASE_SECRET_ARN);
    Object.assign(out, { PGHOST: String(db.host ?? ''), PGPORT: String(db.port ?? '5432'), PGDATABASE: String(db.dbname ?? 'postgres'), PGUSER: String(db.username ?? ''), PGPASSWORD: String(db.password ?? '') });
  }
  if (env.EVALAP_API_KEYS_SECRET_ARN) {
    const keys = await secretJson(client, env.EVALAP_API_KEYS_SECRET_ARN);
    for (const name of ['EVALAP_API_KEYS', 'EVALAP_ADMIN_KEY'] as const) if (typeof keys[name] === 'string') out[name] = keys[name] as string;
  }
  return out;
}
