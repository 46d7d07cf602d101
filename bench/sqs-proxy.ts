/** A pass-through HTTP proxy in front of an SQS endpoint that counts requests by action (X-Amz-Target). */
import http from 'node:http';
import { listen } from '../local/http-server.js';

export interface CountingProxy {
  url: string;
  /** Requests so far, by action (e.g. ChangeMessageVisibilityBatch). */
  calls: Map<string, number>;
  close(): Promise<void>;
}

/** `calls` receives the counts (a new map by default). */
export async function countingProxy(target: string, calls = new Map<string, number>()): Promise<CountingProxy> {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const action = String(req.headers['x-amz-target'] ?? 'unknown').replace(/^AmazonSQS\./, '');
    calls.set(action, (calls.get(action) ?? 0) + 1);
    const up = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.keepAliveTimeout = 10_000;
  const port = await listen(server, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
