/** The API as the CLI sees it: JSON over fetch, every failure a one-line CliError. */
import { CliError, ExitCode } from './errors.js';

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key?: string,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      return undefined as T;
    }
  }

  /** The response of a request that succeeded; any failure is a CliError. */
  private async raw(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    let res: Response;
    try {
      res = await fetch(this.baseUrl.replace(/\/+$/, '') + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CliError(`cannot reach the API at ${this.baseUrl}: ${cause}`, ExitCode.failed);
    }
    if (res.ok) return res;
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status === 401) throw new CliError(`the API at ${this.baseUrl} refused the request (401): set EVALAP_API_KEY to a valid key`, ExitCode.failed);
    if (res.status === 403) throw new CliError(`the API key may not do this (403): ${json?.detail ?? 'admin key needed'}`, ExitCode.failed);
    throw new CliError(`${method} ${path} failed (${res.status}): ${json?.detail ?? text.slice(0, 200)}`, res.status < 500 ? ExitCode.usage : ExitCode.failed, res.status);
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }

  /** Every item of a list route paged by cursor (the next page's cursor in its X-Next-Cursor header). */
  async *pages<T = any>(path: string): AsyncGenerator<T[]> {
    for (let url: string | null = path; url; ) {
      const res: Response = await this.raw('GET', url);
      yield (await res.json()) as T[];
      const next = res.headers.get('x-next-cursor');
      url = next ? `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(next)}` : null;
    }
  }
  post<T = any>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body);
  }

  /** Whether an API answers /health at this URL. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(this.baseUrl.replace(/\/+$/, '') + '/health', { signal: AbortSignal.timeout(1500) });
      return res.ok;
    } catch {
      return false;
    }
  }
}
