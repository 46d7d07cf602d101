/**
 * Encryption of stored provider keys: AES-256-GCM under a key kept outside
 * the database (EVALAP_SECRET_KEY, or locally a key file under the data
 * folder). The stored form is `v1:<base64 iv|tag|ciphertext>`, so the scheme
 * can change without ambiguity.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import fs from 'node:fs';
import path from 'node:path';

export interface SecretBox {
  seal(plain: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

const IV = 12;
const TAG = 16;

function encrypt(key: Buffer, plain: string): Buffer {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function decrypt(key: Buffer, raw: Buffer): string {
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV));
  decipher.setAuthTag(raw.subarray(IV, IV + TAG));
  return Buffer.concat([decipher.update(raw.subarray(IV + TAG)), decipher.final()]).toString('utf8');
}

/** `v1:` — AES-256-GCM under a local 32-byte key (EVALAP_SECRET_KEY or the key file). */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  return {
    seal: async (plain) => 'v1:' + encrypt(key, plain).toString('base64'),
    async open(sealed) {
      if (!sealed.startsWith('v1:')) throw new Error(`this key was sealed with ${sealed.slice(0, 3) === 'v2:' ? 'KMS' : 'an unknown scheme'}; configure the matching key`);
      return decrypt(key, Buffer.from(sealed.slice(3), 'base64'));
    },
  };
}

/**
 * `v2:` — envelope encryption under a KMS key: each process seals with one
 * data key from GenerateDataKey and stores it (encrypted by KMS) beside each
 * secret; opening asks KMS to decrypt a data key once per process and key.
 */
export function kmsSecretBox(kms: KMSClient, keyId: string): SecretBox {
  const context = { purpose: 'evalap-provider-keys' };
  let dataKey: Promise<{ plain: Buffer; encrypted: Buffer }> | undefined;
  const opened = new Map<string, Promise<Buffer>>();
  return {
    async seal(plain) {
      dataKey ??= kms
        .send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }))
        .then((o) => ({ plain: Buffer.from(o.Plaintext!), encrypted: Buffer.from(o.CiphertextBlob!) }))
        .catch((err) => {
          dataKey = undefined;
          throw err;
        });
      const k = await dataKey;
      const length = Buffer.alloc(2);
      length.writeUInt16BE(k.encrypted.length);
      return 'v2:' + Buffer.concat([length, k.encrypted, encrypt(k.plain, plain)]).toString('base64');
    },
    async open(sealed) {
      if (!sealed.startsWith('v2:')) throw new Error('this key was sealed with a local key, not KMS; configure EVALAP_SECRET_KEY to open it');
      const raw = Buffer.from(sealed.slice(3), 'base64');
      const n = raw.readUInt16BE(0);
      const encrypted = raw.subarray(2, 2 + n);
      const id = encrypted.toString('base64');
      let key = opened.get(id);
      if (!key) {
        key = kms.send(new DecryptCommand({ CiphertextBlob: encrypted, EncryptionContext: context })).then((o) => Buffer.from(o.Plaintext!));
        key.catch(() => opened.delete(id));
        opened.set(id, key);
      }
      return decrypt(await key, raw.subarray(2 + n));
    },
  };
}

/** The local key: read from `<dataDir>/secret.key`, created (mode 0600) on first use. */
export function localSecretKey(dataDir: string): Buffer {
  const file = path.join(dataDir, 'secret.key');
  try {
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  try {
    fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    throw err;
  }
}

/** Marker of a sealed key inside stored JSON (schedule templates). */
const SEALED = '$sealed_api_key';

type Json = unknown;

function mapKeys(value: Json, fn: (obj: Record<string, unknown>) => Record<string, unknown>): Json {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, fn));
  if (!value || typeof value !== 'object') return value;
  const out = fn({ ...(value as Record<string, unknown>) });
  for (const [k, v] of Object.entries(out)) out[k] = mapKeys(v, fn);
  return out;
}

/** Applies an async change to every object holding a non-null `field` (of any type), then returns the document. */
async function eachWith(value: Json, field: string, change: (o: Record<string, unknown>) => Promise<void>): Promise<Json> {
  const found: Record<string, unknown>[] = [];
  const copy = mapKeys(value, (o) => {
    if (o[field] !== undefined && o[field] !== null && o[field] !== '') found.push(o);
    return o;
  });
  await Promise.all(found.map(change));
  return copy;
}

/**
 * Replaces every `api_key` in a JSON document by its sealed form, for
 * storage. A value that is not a string (a mistake the schema refuses later)
 * is sealed too, as JSON: whatever sits under `api_key` never reaches the
 * database in clear.
 */
export function sealApiKeys(value: Json, box: SecretBox): Promise<Json> {
  return eachWith(value, 'api_key', async (o) => {
    o[SEALED] = await box.seal(typeof o.api_key === 'string' ? o.api_key : JSON.stringify(o.api_key));
    delete o.api_key;
  });
}

/** Restores the `api_key`s sealed by `sealApiKeys`, to use the document. */
export function openApiKeys(value: Json, box: SecretBox): Promise<Json> {
  return eachWith(value, SEALED, async (o) => {
    o.api_key = await box.open(o[SEALED] as string);
    delete o[SEALED];
  });
}

/** The document as the API shows it: sealed keys become `has_api_key: true`, never the key. */
export function hideApiKeys(value: Json): Json {
  return mapKeys(value, (o) => {
    if (SEALED in o) {
      delete o[SEALED];
      o.has_api_key = true;
    }
    return o;
  });
}
