import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { createSecretBox, hideApiKeys, kmsSecretBox, openApiKeys, sealApiKeys } from '../../core/secrets.js';

const dataKey = Buffer.alloc(32, 7);
const blob = Buffer.from('encrypted-data-key-blob');

describe('secret boxes', () => {
  const kms = mockClient(KMSClient);
  beforeEach(() => {
    kms.reset();
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: dataKey, CiphertextBlob: blob });
    kms.on(DecryptCommand).resolves({ Plaintext: dataKey });
  });

  it('seals with one KMS data key per process and opens with one Decrypt per data key', async () => {
    const box = kmsSecretBox(new KMSClient({ region: 'us-east-1' }), 'arn:aws:kms:us-east-1:1:key/k');
    const a = await box.seal('sk-one');
    const b = await box.seal('sk-two');
    expect(a).toMatch(/^v2:/);
    expect(a).not.toContain('sk-one');
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
    expect(kms.commandCalls(GenerateDataKeyCommand)[0].args[0].input).toMatchObject({ KeySpec: 'AES_256', EncryptionContext: { purpose: 'evalap-provider-keys' } });

    const reader = kmsSecretBox(new KMSClient({ region: 'us-east-1' }), 'arn:aws:kms:us-east-1:1:key/k');
    expect(await reader.open(a)).toBe('sk-one');
    expect(await reader.open(b)).toBe('sk-two');
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
    expect(Buffer.from(kms.commandCalls(DecryptCommand)[0].args[0].input.CiphertextBlob!)).toEqual(blob);
  });

  it('says which key is needed when a secret was sealed by the other scheme', async () => {
    const local = createSecretBox(Buffer.alloc(32, 1));
    const kmsBox = kmsSecretBox(new KMSClient({ region: 'us-east-1' }), 'k');
    await expect(kmsBox.open(await local.seal('x'))).rejects.toThrow(/sealed with a local key/);
    await expect(local.open(await kmsBox.seal('x'))).rejects.toThrow(/sealed with KMS/);
  });

  it('refuses a tampered secret', async () => {
    const box = createSecretBox(Buffer.alloc(32, 1));
    const sealed = await box.seal('sk-secret');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1] ^= 1;
    await expect(box.open('v1:' + raw.toString('base64'))).rejects.toThrow();
  });

  it('seals, hides and reopens every api_key of a document', async () => {
    const box = createSecretBox(Buffer.alloc(32, 2));
    const doc = { experiments: [{ model: { name: 'm', api_key: 'sk-a' } }, { judge_model: { api_key: 'sk-b' } }] };
    const sealed = await sealApiKeys(doc, box);
    expect(JSON.stringify(sealed)).not.toMatch(/sk-a|sk-b/);
    expect(hideApiKeys(sealed)).toEqual({ experiments: [{ model: { name: 'm', has_api_key: true } }, { judge_model: { has_api_key: true } }] });
    expect(await openApiKeys(sealed, box)).toEqual(doc);
  });
});

describe('sealApiKeys on values that are not strings', () => {
  it('seals whatever sits under api_key, so nothing under that name is stored in clear', async () => {
    const box = createSecretBox(Buffer.alloc(32, 3));
    const doc = { model: { api_key: ['sk-in-an-array-123456'] }, judge: { api_key: { nested: 'sk-in-an-object-654321' } }, empty: { api_key: '' }, none: { api_key: null } };
    const sealed = await sealApiKeys(doc, box);
    expect(JSON.stringify(sealed)).not.toMatch(/sk-in-an/);
    expect(sealed).toMatchObject({ empty: { api_key: '' }, none: { api_key: null } });
    expect(await openApiKeys(sealed, box)).toEqual({ model: { api_key: '["sk-in-an-array-123456"]' }, judge: { api_key: '{"nested":"sk-in-an-object-654321"}' }, empty: { api_key: '' }, none: { api_key: null } });
  });
});
