/** The API as the CLI sees it: JSON over fetch, every failure a one-line CliError. */
import { CliError, ExitCode } from './errors.js';

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key?: string,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
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
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status === 401) throw new CliError(`the API at ${this.baseUrl} refused the request (401): set EVALAP_API_KEY to a valid key`, ExitCode.failed);
    if (res.status === 403) throw new CliError(`the API key may not do this (403): ${json?.detail ?? 'admin key needed'}`, ExitCode.failed);
    if (!res.ok) throw new CliError(`${method} ${path} failed (${res.status}): ${json?.detail ?? text.slice(0, 200)}`, res.status < 500 ? ExitCode.usage : ExitCode.failed, res.status);
    return json as T;
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
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
