/**
 * A stub of the ECS agent's task scale-in protection endpoint (node:http on
 * 127.0.0.1, a free port): `PUT|GET /api/<container>/task-protection/v1/state`
 * with the agent's answer shapes (`protection`, `failure` with a 200, `error`
 * with a 4xx/5xx), its rejection of unknown fields, and scripted failures and
 * hangs. It records every request and keeps the protection state the agent
 * would report. It uses no timers, so it works under jest's fake timers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How to answer one request: 'ok' applies it; 'failure' is ECS refusing the
 * task (TASK_NOT_VALID, with a 200); 'denied' is AccessDeniedException (400);
 * 'throttled' is ThrottlingException (400); 'canceled' is the agent failing to
 * reach ECS (504); 'garbage' is a 200 that is not JSON; 'hang' never answers;
 * 'reset' drops the connection.
 */
export type AgentReply = 'ok' | 'failure' | 'denied' | 'throttled' | 'canceled' | 'garbage' | 'hang' | 'reset';

export interface AgentRequest {
  method: string;
  path: string;
  /** The parsed JSON body of a PUT (undefined when not JSON). */
  body: any;
  contentType: string | undefined;
  /** The agent's protection state right after this request was handled. */
  protectedAfter?: boolean;
}

export interface StubEcsAgent {
  /** What ECS would put in ECS_AGENT_URI: http://127.0.0.1:PORT/api/<container id>. */
  uri: string;
  /** Every request, in arrival order (recorded before it is answered). */
  requests: AgentRequest[];
  /** The protection the agent would report now. */
  readonly protectionEnabled: boolean;
  /** Replies by request index; may be async (the answer waits for it). Default: always 'ok'. */
  setReplies(script: (index: number, request: AgentRequest) => AgentReply | Promise<AgentReply>): void;
  /** Resolves once at least `n` requests have arrived. */
  waitForRequests(n: number): Promise<AgentRequest[]>;
  /** Clears `requests` (indexes restart at 0), the protection state and the script. */
  reset(): void;
  close(): Promise<void>;
}

const CONTAINER = '0123456789abcdef-1234567890';
const TASK_ARN = 'arn:aws:ecs:eu-west-3:111122223333:task/evalap/0123456789abcdef0';
const PATH = `/api/${CONTAINER}/task-protection/v1/state`;

export async function startEcsAgent(): Promise<StubEcsAgent> {
  let script: (index: number, request: AgentRequest) => AgentReply | Promise<AgentReply> = () => 'ok';
  let requests: AgentRequest[] = [];
  let protectionEnabled = false;
  let expiresAt: number | null = null;
  let waiters: { n: number; resolve: (r: AgentRequest[]) => void }[] = [];

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const error = (res: http.ServerResponse, status: number, Code: string, Message: string) =>
    send(res, status, { requestID: 'stub-request-id', error: { Arn: TASK_ARN, Code, Message } });
  const protection = () => ({
    protection: { ExpirationDate: expiresAt === null ? null : new Date(expiresAt).toISOString(), ProtectionEnabled: protectionEnabled, TaskArn: TASK_ARN },
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const request: AgentRequest = { method: req.method ?? '', path: req.url ?? '', body, contentType: req.headers['content-type'] };
      const index = requests.length;
      requests.push(request);
      for (const w of waiters.filter((w) => requests.length >= w.n)) w.resolve(requests);
      waiters = waiters.filter((w) => requests.length < w.n);
      const reply = await script(index, request);
      if (res.destroyed) return;
      if (request.path !== PATH) return error(res, 404, 'ResourceNotFoundException', 'Failed to find a task for the request');
      if (request.method === 'GET') return send(res, 200, protection());
      if (request.method !== 'PUT') return error(res, 405, 'InvalidParameterException', 'method not allowed');
      switch (reply) {
        case 'hang':
          return; // close() drops the socket.
        case 'reset':
          return void req.socket.destroy();
        case 'garbage':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return void res.end('not json');
        case 'failure':
          return send(res, 200, { failure: { Arn: TASK_ARN, Detail: null, Reason: 'TASK_NOT_VALID' } });
        case 'denied':
          return error(res, 400, 'AccessDeniedException', 'not authorized to perform: ecs:UpdateTaskProtection');
        case 'throttled':
          return error(res, 400, 'ThrottlingException', 'Rate exceeded');
        case 'canceled':
          return error(res, 504, 'RequestCanceled', 'Timed out calling ECS Task Protection API');
      }
      // As the agent: a body with anything but these two fields, or without ProtectionEnabled, is refused.
      const fields = body && typeof body === 'object' ? Object.keys(body) : null;
      if (!fields || fields.some((k) => k !== 'ProtectionEnabled' && k !== 'ExpiresInMinutes')) {
        return error(res, 400, 'InvalidParameterException', 'UpdateTaskProtection: failed to decode request');
      }
      if (typeof body.ProtectionEnabled !== 'boolean') {
        return error(res, 400, 'InvalidParameterException', "Invalid request: does not contain 'ProtectionEnabled' field");
      }
      const minutes = body.ExpiresInMinutes ?? 120;
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > 2880) {
        return error(res, 400, 'InvalidParameterException', 'expiresInMinutes must be from 1 to 2880');
      }
      protectionEnabled = body.ProtectionEnabled;
      expiresAt = protectionEnabled ? Date.now() + minutes * 60_000 : null;
      request.protectedAfter = protectionEnabled;
      send(res, 200, protection());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}/api/${CONTAINER}`,
    get requests() {
      return requests;
    },
    get protectionEnabled() {
      return protectionEnabled;
    },
    setReplies(s) {
      script = s;
    },
    waitForRequests(n) {
      if (requests.length >= n) return Promise.resolve(requests);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    reset() {
      requests = [];
      protectionEnabled = false;
      expiresAt = null;
      script = () => 'ok';
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
