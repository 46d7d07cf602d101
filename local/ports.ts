import net from 'node:net';

/** Thrown when a port the local stack needs is taken; main prints its message alone. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(port: number, host: string, variable: string) {
    super(`port ${port} on ${host} is already in use; stop what holds it or set ${variable} to another port`);
  }
}

/** Resolves if `port` can be bound on `host`, rejects with PortInUseError otherwise. */
export function assertPortFree(port: number, host: string, variable: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(port, host, variable) : err),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** A port the OS says is free right now (for tests and throwaway servers). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
