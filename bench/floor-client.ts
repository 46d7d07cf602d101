/**
 * The floor of the throughput scenarios (`node dist/bench/pipeline.js floor`):
 * a bare keep-alive node:http client, in its own process like the runner,
 * making `n` chat calls to `url`, `c` at a time, each loop starting its next
 * call the moment its answer is read. No queue, no database, no bus: what is
 * left of the ideal N·L/C is the machine's (timers, loopback, scheduling).
 * Prints the wall time in ms.
 *
 *   node dist/bench/floor-client.js <base url> <c> <n>
 */
import http from 'node:http';

const [url, cArg, nArg] = process.argv.slice(2);
const c = Number(cArg);
const n = Number(nArg);
if (!url || !(c >= 1) || !(n >= 1)) {
  process.stderr.write('usage: floor-client <base url> <c> <n>\n');
  process.exit(2);
}
const target = new URL(`${url.replace(/\/+$/, '')}/chat/completions`);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function call(i: number): Promise<void> {
  const body = JSON.stringify({ model: 'stub-model', messages: [{ role: 'user', content: `question ${i}` }] });
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        resolve();
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: c }, async () => {
    while (next < n) await call(next++);
  }),
);
process.stdout.write(`${(performance.now() - started).toFixed(1)}\n`);
agent.destroy();
