/**
 * The application's secrets:
 * - `<stack>/api-keys`: {"EVALAP_API_KEYS": "<comma-separated user keys>",
 *   "EVALAP_ADMIN_KEY": "<admin key>"}. The admin key is generated at the
 *   first deploy, so the API is never open; user keys start empty.
 * - `<stack>/provider-keys`: {"EVALAP_JUDGE_API_KEY": "", "ALBERT_API_KEY": "",
 *   "MISTRAL_API_KEY": "", "OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "",
 *   "SCALEWAY_API_KEY": ""}, the keys of the model providers the platform
 *   itself calls (judges given by name), set by the operator. The API reads
 *   it to list a provider's models when it resolves a judge name; the
 *   runner, to call the judge.
 * - a KMS key (yearly rotation) under which provider keys given in
 *   experiments are sealed before they are stored (envelope encryption:
 *   GenerateDataKey in the API, Decrypt in the runner).
 * Values are set with `aws secretsmanager put-secret-value` (README.md, "Deploy to AWS");
 * a redeploy leaves them alone as long as the initial values below stay the
 * same: CloudFormation rewrites a secret's value only when its template
 * changes (adding a provider key field, or changing the admin key's
 * generation, resets what operators put there).
 */
import { RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PROVIDER_KEY_VARIABLES } from '../core/judges/providers.js';

/** The fields of the API keys secret, named as the variables the API reads. */
export const API_KEY_FIELDS = { user: 'EVALAP_API_KEYS', admin: 'EVALAP_ADMIN_KEY' } as const;
/** The fields of the provider keys secret, named as the variables the API and the runner read. */
export const PROVIDER_KEY_FIELDS: readonly string[] = PROVIDER_KEY_VARIABLES;

export class AppSecrets extends Construct {
  readonly apiKeys: secretsmanager.Secret;
  readonly providerKeys: secretsmanager.Secret;
  readonly providerKeyEncryption: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Named after the stack, so two stacks (dev, prod) can share an account.
    const prefix = Stack.of(this).stackName;
    this.apiKeys = new secretsmanager.Secret(this, 'ApiKeys', {
      secretName: `${prefix}/api-keys`,
      description: 'Evalap API keys: EVALAP_API_KEYS (comma-separated user keys, 16+ characters each) and EVALAP_ADMIN_KEY (generated).',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ [API_KEY_FIELDS.user]: '' }),
        generateStringKey: API_KEY_FIELDS.admin,
        passwordLength: 48,
        excludePunctuation: true,
        includeSpace: false,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.providerKeys = new secretsmanager.Secret(this, 'ProviderKeys', {
      secretName: `${prefix}/provider-keys`,
      description: 'Evalap model provider keys of the judges given by name (the API lists their models, the runner calls them); an empty value means none.',
      // Placeholders, not secrets: the operator puts the real values (the template is never re-applied to the value).
      secretObjectValue: Object.fromEntries(PROVIDER_KEY_FIELDS.map((k) => [k, SecretValue.unsafePlainText('')])),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.providerKeyEncryption = new kms.Key(this, 'ProviderKeyEncryption', {
      description: 'Evalap: envelope encryption of the provider API keys stored with experiments',
      enableKeyRotation: true,
      alias: `alias/${prefix}/provider-keys`,
      // Losing this key loses every stored provider key: keep it when the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
