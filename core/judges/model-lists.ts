/**
 * The model names a provider serves, from its GET /models, cached in the
 * process for EVALAP_JUDGE_LIST_TTL_SEC so a launch rarely waits for it,
 * and asked once at a time (concurrent launches share one call). A failed
 * listing is not cached: the next launch asks again.
 */
import { createHash } from 'node:crypto';
import { providerHeaders, shownUrl, type JudgeProvider } from './providers.js';

/** Why a provider could not tell which models it serves; the text is shown to clients (no key in it). */
export class ListingFailed extends Error {
  override name = 'ListingFailed';
}

const cache = new Map<string, { at: number; names: Promise<ReadonlySet<string>> }>();

/** Forgets every listing (tests, which point providers at new stubs). */
export function clearModelLists(): void {
  cache.clear();
}

// Keyed by URL and a digest of the key: another key may see other models, and the key itself is not kept here.
const cacheKey = (p: JudgeProvider) => `${p.baseUrl}|${createHash('sha256').update(p.apiKey ?? '').digest('base64url')}`;

export function servedModels(provider: JudgeProvider, o: { ttlSec: number; timeoutMs: number }): Promise<ReadonlySet<string>> {
  const key = cacheKey(provider);
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && now - hit.at < o.ttlSec * 1000) return hit.names;
  const names = listModels(provider, o.timeoutMs);
  cache.set(key, { at: now, names });
  names.catch(() => cache.get(key)?.names === names && cache.delete(key));
  return names;
}

async function listModels(provider: JudgeProvider, timeoutMs: number): Promise<ReadonlySet<string>> {
  // Anthropic pages its list, 20 by default and at most 1000 a page
  // (https://platform.claude.com/docs/en/api/models-list); the others answer with every model at once.
  const url = `${provider.baseUrl}/models${provider.id === 'anthropic' ? '?limit=1000' : ''}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...providerHeaders(provider) }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'unreachable';
    throw new ListingFailed(`${provider.id} (${shownUrl(provider.baseUrl)}): ${why}`);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) throw new ListingFailed(`${provider.id} (${shownUrl(provider.baseUrl)}): GET /models answered ${res.status}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ListingFailed(`${provider.id} (${shownUrl(provider.baseUrl)}): GET /models did not answer JSON`);
  }
  const data = (body as { data?: unknown })?.data;
  if (!Array.isArray(data)) throw new ListingFailed(`${provider.id} (${shownUrl(provider.baseUrl)}): GET /models has no "data" list`);
  const names = new Set<string>();
  for (const m of data as { id?: unknown; aliases?: unknown }[]) {
    if (typeof m?.id === 'string') names.add(m.id);
    // Albert lists aliases beside each id, which Evalap accepts as names too.
    if (Array.isArray(m?.aliases)) for (const a of m.aliases) if (typeof a === 'string') names.add(a);
  }
  return names;
}
