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
