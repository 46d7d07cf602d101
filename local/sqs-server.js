// Child-process entry of the local SQS-compatible server. fauxqs is ESM-only
// and runs here, in its own process, so neither jest nor the API share its
// module graph. Prints one JSON line {"port": N} once it listens.
import { startFauxqs } from 'fauxqs';

const port = Number(process.env.FAUXQS_PORT ?? '0');
const server = await startFauxqs({ port, host: '127.0.0.1', logger: false });
process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
const stop = () => server.stop().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Die with the parent: a closed stdin means the stack that started us is gone.
process.stdin.resume();
process.stdin.on('end', stop);
