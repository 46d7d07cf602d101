import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../core/config.js';
import { withAwsSecrets } from '../../core/secret-env.js';

describe('withAwsSecrets', () => {
  const mock = mockClient(SecretsManagerClient);
  beforeEach(() => mock.reset());

  it('turns the database secret and the API-keys secret into the settings loadConfig reads', async () => {
    mock.on(GetSecretValueCommand, { SecretId: 'arn:db' }).resolves({ SecretString: JSON.stringify({ host: 'db.internal', port: 5432, dbname: 'evalap', username: 'app', password: 'rotated/pw' }) });
    mock.on(GetSecretValueCommand, { SecretId: 'arn:keys' }).resolves({ SecretString: JSON.stringify({ EVALAP_API_KEYS: 'user-key-aaaaaaaaaaaa', EVALAP_ADMIN_KEY: 'admin-key-bbbbbbbbbbbb' }) });
    const env = await withAwsSecrets({ DATABASE_SECRET_ARN: 'arn:db', EVALAP_API_KEYS_SECRET_ARN: 'arn:keys', PGSSLMODE: 'verify-full' }, new SecretsManagerClient({ region: 'us-east-1' }));
    const config = loadConfig(env);
    expect(config.DATABASE_URL).toBe('postgresql://app:rotated%2Fpw@db.internal:5432/evalap?sslmode=verify-full');
    expect(config.EVALAP_API_KEYS).toEqual(['user-key-aaaaaaaaaaaa']);
    expect(config.EVALAP_ADMIN_KEY).toEqual(['admin-key-bbbbbbbbbbbb']);
  });

  it('reads nothing when the environment already has a database URL and no key secret', async () => {
    const env = await withAwsSecrets({ DATABASE_URL: 'postgresql://x@y/z', DATABASE_SECRET_ARN: 'arn:db' }, new SecretsManagerClient({ region: 'us-east-1' }));
    expect(mock.calls()).toHaveLength(0);
    expect(env.DATABASE_URL).toBe('postgresql://x@y/z');
  });

  it('fails clearly on a secret that is not JSON', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: 'not json' });
    await expect(withAwsSecrets({ EVALAP_API_KEYS_SECRET_ARN: 'arn:keys' }, new SecretsManagerClient({ region: 'us-east-1' }))).rejects.toThrow('secret arn:keys is not JSON');
  });
});
