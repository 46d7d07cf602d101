/** What the benchmarks share: an error type and a small client of the API they measure. */

export class BenchError extends Error {
  override name = 'BenchError';
}

export interface Api {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }>;
}

export function apiAt(url: string): Api {
  return {
    async call(method, p, body) {
      const res = await fetch(url + p, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed, text };
    },
  };
}

export function expectStatus(what: string, res: { status: number; text: string }, status = 200): void {
  if (res.status !== status) throw new BenchError(`${what}: expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
}

/** Rows per upload request (well below the API's 6 MB body limit for these rows). */
export const CHUNK_ROWS = 20_000;

/**
 * Uploads `size` rows made by `row(i)` in chunks (POST /v1/dataset, then
 * POST /v1/dataset/{id}/rows), checks the final size, and says how long it took.
 */
export async function createDataset(api: Api, name: string, size: number, row: (i: number) => Record<string, unknown>): Promise<{ id: number; seconds: number }> {
  const started = performance.now();
  const records = (from: number, to: number) => JSON.stringify(Array.from({ length: to - from }, (_, k) => row(from + k)));
  const first = Math.min(size, CHUNK_ROWS);
  const created = await api.call('POST', '/v1/dataset', { name, df: records(0, first) });
  expectStatus(`POST /v1/dataset (${name})`, created);
  const id = created.body.id as number;
  let last = created;
  for (let from = first; from < size; from += CHUNK_ROWS) {
    const to = Math.min(size, from + CHUNK_ROWS);
    last = await api.call('POST', `/v1/dataset/${id}/rows`, { df: records(from, to) });
    expectStatus(`POST /v1/dataset/${id}/rows (rows ${from}-${to - 1})`, last);
  }
  if (last.body.size !== size) throw new BenchError(`dataset ${name} has ${last.body.size} rows after upload, expected ${size}`);
  return { id, seconds: (performance.now() - started) / 1000 };
}
