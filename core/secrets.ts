/**
 * Encryption of stored provider keys: AES-256-GCM under a key kept outside
 * the database (EVALAP_SECRET_KEY, or locally a key file under the data
 * folder). The stored form is `v1:<base64 iv|tag|ciphertext>`, so the scheme
 * can change without ambiguity.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return 'v1:' + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(sealed) {
      if (!sealed.startsWith('v1:')) throw new Error('unknown secret format');
      const raw = Buffer.from(sealed.slice(3), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
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

/** Replaces every `api_key` string in a JSON document by its sealed form, for storage. */
export function sealApiKeys(value: Json, box: SecretBox): Json {
  return mapKeys(value, (o) => {
    if (typeof o.api_key === 'string' && o.api_key) {
      o[SEALED] = box.seal(o.api_key);
      delete o.api_key;
    }
    return o;
  });
}

/** Restores the `api_key`s sealed by `sealApiKeys`, to use the document. */
export function openApiKeys(value: Json, box: SecretBox): Json {
  return mapKeys(value, (o) => {
    if (typeof o[SEALED] === 'string') {
      o.api_key = box.open(o[SEALED] as string);
      delete o[SEALED];
    }
    return o;
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
