/**
 * A dataset row's image as an OpenAI image content part (a data URL), as
 * Evalap sends the `img` column of a with_vision experiment.
 */
import { ProviderError } from './errors.js';

export interface ImagePart {
  type: 'image_url';
  image_url: { url: string };
}

/** Leading bytes of the formats vision models take; the media type must match the bytes, whatever the file was named. */
const SIGNATURES: [string, number[]][] = [
  ['image/png', [0x89, 0x50, 0x4e, 0x47]],
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['image/gif', [0x47, 0x49, 0x46, 0x38]],
  ['image/webp', [0x52, 0x49, 0x46, 0x46]],
];

function mediaType(base64: string): string {
  const head = Buffer.from(base64.slice(0, 16), 'base64');
  const found = SIGNATURES.find(([, sig]) => sig.every((b, i) => head[i] === b));
  // Evalap labels every image PNG; a model that sniffs the bytes reads other formats anyway.
  return found?.[0] ?? 'image/png';
}

/**
 * The image part for `value`: Hugging Face's Image struct (`{bytes, path}`,
 * bytes as base64 once read from Parquet), a base64 string, or a data or
 * http(s) URL passed as is. Anything else fails the row for good, saying why.
 */
export function imagePart(value: unknown, column: string): ImagePart {
  const bytes = value !== null && typeof value === 'object' && 'bytes' in value ? (value as { bytes: unknown }).bytes : value;
  if (typeof bytes === 'string' && /^(data:|https?:\/\/)/.test(bytes)) return { type: 'image_url', image_url: { url: bytes } };
  if (typeof bytes === 'string' && bytes.length) return { type: 'image_url', image_url: { url: `data:${mediaType(bytes)};base64,${bytes}` } };
  throw new ProviderError(`with_vision: the row has no image in its ${JSON.stringify(column)} column`, false);
}
