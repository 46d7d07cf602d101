/**
 * POST with node:http(s) over keep-alive connections: the global fetch
 * (undici, web streams, AbortSignal plumbing) costs several times more worker
 * CPU per call and tops out far lower on the same machine (figures in the
 * README's benchmark notes).
 */
import http from 'node:http';
import https from 'node:https';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' }),
};

/** Response headers by lower-case name (the global `Headers` is avoided: its first use loads
 *  and compiles all of undici, which stalled a worker's first answers). */
export interface HeaderLookup {
  get(name: string): string | null;
}

export interface HttpReply {
  status: number;
  headers: HeaderLookup;
  text: string;
}

/** No headers (a failure reported inside a 2xx body). */
export const NO_HEADERS: HeaderLookup = { get: () => null };

/** Sends `body`; rejects with the signal's reason when it aborts, or with the socket's error. */
export function postJson(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const agent = agents[target.protocol as keyof typeof agents];
    if (!agent) return reject(new TypeError(`unsupported protocol ${target.protocol}`));
    let req: http.ClientRequest;
    try {
      req = client.request(target, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } });
    } catch (err) {
      return reject(err);
    }
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => signal.removeEventListener('abort', onAbort);
    req.on('error', (err) => {
      done();
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => {
        done();
        reject(err);
      });
      res.on('end', () => {
        done();
        const raw = res.headers;
        const headers: HeaderLookup = {
          get: (name) => {
            const v = raw[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
          },
        };
        resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(body);
  });
}
