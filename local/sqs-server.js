// Child-process entry of the local SQS-compatible server. fauxqs is ESM-only
// and runs here, in its own process, so neither jest nor the API share its
// module graph. Prints one JSON line {"port": N, "address": "..."} once it
// listens.
//
// We build fauxqs's app and listen ourselves instead of calling startFauxqs:
// fauxqs 1.9's startFauxqs always listens on 0.0.0.0 (node_modules/fauxqs/
// dist/app.js: `app.listen({ port, host: "0.0.0.0" })`; its `host` option
// only names the host in the queue URLs it returns), which would let anyone
// on the network read and inject tasks. local/sqs.ts passes the bind address
// and port as arguments.
import { buildApp } from 'fauxqs';

const [bindAddress, portArg] = process.argv.slice(2);
const port = Number(portArg);
if (!bindAddress || !Number.isInteger(port)) throw new Error('usage: sqs-server.js <bind address> <port, 0 for any>');
// `host` only shapes the queue URLs (http://sqs.<region>.127.0.0.1:<port>/...), as before.
const app = buildApp({ logger: false, host: bindAddress });
await app.listen({ port, host: bindAddress });
const { port: actualPort, address } = app.server.address();
process.stdout.write(JSON.stringify({ port: actualPort, address }) + '\n');
const stop = () => app.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Die with the parent: a closed stdin means the stack that started us is gone.
process.stdin.resume();
process.stdin.on('end', stop);
