/**
 * A worker's rehearsal before it says Ready: one answer task against a
 * throwaway chat server in this thread. The code a task runs is compiled on
 * first use; cold, the first task of a run spent worker CPU compiling before
 * it sent its request, and the tasks behind it queued meanwhile. Rehearsed, the run's first requests leave at once. Never throws: a
 * failed rehearsal (false) only means a cold first task.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { executeTask } from './execute.js';

const REPLY = JSON.stringify({
  choices: [{ message: { role: 'assistant', content: '<think>warm</think>up' } }],
  usage: { prompt_tokens: 1, completion_tokens: 1 },
});

export async function warmUp(): Promise<boolean> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(REPLY));
  });
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const outcome = await executeTask({
      id: 0,
      kind: 'answer',
      attempt: 0,
      experimentId: 0,
      numLine: 0,
      row: { query: 'warm', output_true: 'up' },
      model: { name: 'warm-up', base_url: `http://127.0.0.1:${port}/v1` },
      inline: [{ resultId: 0, name: 'exact_match', params: null }],
      timeoutMs: 2000,
    });
    return outcome.call?.ok === true && outcome.observations[0]?.score === 1;
  } catch {
    return false;
  } finally {
    // The client keeps its socket alive: drop it, or close() would wait for it.
    server.closeAllConnections();
    server.close();
  }
}
