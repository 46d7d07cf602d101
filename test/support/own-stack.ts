/**
 * A test file's own local servers, for tests that break them: jest's global
 * setup's servers are shared by the test files running at the same time.
 *
 * - PostgreSQL (embedded, durability off), which can be stopped and started
 *   again on the same port with its data, and the local Data API over it
 *   (the API's path, as the Lambdas' in AWS);
 * - fauxqs behind a loopback TCP relay, so SQS can be paused (its process
 *   frozen: requests hang, then are answered) or cut off (the relay refuses
 *   connections: requests fail) without losing the messages it keeps only
 *   in memory.
 *
 * `servers` goes to startApi (test/support/api.ts), and startRunner follows
 * the API it is given.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDataApiServer, type DataApiServer } from '../../local/data-api.js';
import { freePort } from '../../local/ports.js';
import { startPostgres, type RunningPostgres } from '../../local/postgres.js';
import { startSqs, type RunningSqs } from '../../local/sqs.js';
import type { TestServers } from './api.js';

export interface OwnStack {
  servers: TestServers;
  /** Stops PostgreSQL (a fast shutdown: sessions are cut); resolves once it has exited. */
  stopPostgres(): Promise<void>;
  /** Starts it again on the same port, with its data. */
  startPostgres(): Promise<void>;
  /** Freezes the SQS server's process: requests hang until `resumeSqs`. */
  pauseSqs(): void;
  resumeSqs(): void;
  /** Makes SQS unreachable: open connections are reset and new ones refused until `restoreSqs`. */
  cutSqs(): Promise<void>;
  restoreSqs(): Promise<void>;
  /** Ends whatever outage is still on (a test failed in the middle of one), so the next test starts whole. */
  heal(): Promise<void>;
  /** Stops everything and removes the data; safe after any failure. */
  close(): Promise<void>;
}

/** Same settings as the shared test server: a test database need not survive a power cut. */
const PG_SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

export async function startOwnStack(): Promise<OwnStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-own-'));
  const pgPort = await freePort();
  const startPg = () => startPostgres({ dataDir, port: pgPort, settings: PG_SETTINGS });
  let pg: RunningPostgres | undefined;
  let dataApi: DataApiServer | undefined;
  let sqs: RunningSqs | undefined;
  let relay: Relay | undefined;
  const close = async () => {
    await relay?.close();
    await sqs?.stop();
    await dataApi?.close();
    await pg?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    pg = await startPg();
    dataApi = await startDataApiServer({ databaseUrl: pg.url, host: '127.0.0.1', port: 0 });
    sqs = await startSqs(0);
    relay = await startRelay(new URL(sqs.endpoint));
  } catch (err) {
    await close();
    throw err;
  }
  // Constants, so the closures below know them started.
  const [server, queue] = [sqs, relay];
  let pgDown = false;
  const own: OwnStack = {
    servers: { databaseUrl: pg.url, sqsEndpoint: queue.endpoint, dataApiEndpoint: dataApi.endpoint },
    async stopPostgres() {
      pgDown = true;
      await pg!.stop();
    },
    async startPostgres() {
      pg = await startPg();
      pgDown = false;
    },
    pauseSqs: () => server.pause(),
    resumeSqs: () => server.resume(),
    cutSqs: () => queue.cut(),
    restoreSqs: () => queue.restore(),
    async heal() {
      server.resume();
      await queue.restore();
      if (pgDown) await own.startPostgres();
    },
    close,
  };
  return own;
}

interface Relay {
  /** http://127.0.0.1:PORT, forwarding to the target. */
  endpoint: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Forwards TCP connections on a loopback port to `target`, and can refuse them for a while. */
async function startRelay(target: URL): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const keep = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A reset on either side ends the pair: no error event left unhandled.
    socket.on('error', () => undefined);
  };
  let server: net.Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const listening = net.createServer((client) => {
        const upstream = net.connect(Number(target.port), target.hostname);
        keep(client);
        keep(upstream);
        client.pipe(upstream).pipe(client);
        client.once('close', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
      });
      server = listening;
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => resolve((listening.address() as net.AddressInfo).port));
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      server!.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  const port = await listen(0);
  let open = true;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async cut() {
      if (!open) return;
      open = false;
      await stop();
    },
    async restore() {
      if (open) return;
      await listen(port);
      open = true;
    },
    async close() {
      if (open) await stop();
      open = false;
    },
  };
}
