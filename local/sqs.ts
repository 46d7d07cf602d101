/**
 * The local SQS-compatible server (fauxqs) as a child process, and the
 * creation of the tasks queue and its dead-letter queue.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { projectRoot } from './paths.js';
import { assertPortFree } from './ports.js';

/** Loopback only: whoever reaches this server can read and inject tasks. */
const BIND_ADDRESS = '127.0.0.1';

export interface RunningSqs {
  endpoint: string;
  stop(): Promise<void>;
  /**
   * Freezes the server's process (SIGSTOP): connections are still accepted by
   * the kernel but nothing is answered until `resume`, and no message held
   * in memory is lost, as when SQS cannot be reached for a while. For tests.
   */
  pause(): void;
  /** Lets a paused server run again (SIGCONT). */
  resume(): void;
}

/** Starts fauxqs on `port` (0: any free port) and resolves once it listens. */
export async function startSqs(port: number): Promise<RunningSqs> {
  await assertPortFree(port, BIND_ADDRESS, 'EVALAP_SQS_PORT');
  const script = path.join(projectRoot(), 'local', 'sqs-server.js');
  const child = spawn(process.execPath, [script, BIND_ADDRESS, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, stopped explicitly after the runner (see postgres.ts).
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const actualPort = await new Promise<number>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      let listening: { port?: unknown; address?: unknown };
      try {
        listening = JSON.parse(line);
      } catch {
        reject(new Error(`SQS server printed ${line}`));
        return;
      }
      // A server exposed beyond this machine is worse than none: refuse to go on.
      if (listening.address !== BIND_ADDRESS || typeof listening.port !== 'number') {
        child.kill('SIGTERM');
        reject(new Error(`SQS server listens on ${String(listening.address)}, not ${BIND_ADDRESS}`));
        return;
      }
      resolve(listening.port);
    });
    child.once('exit', (code) => reject(new Error(`SQS server exited during start (code ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout.resume();
  let stopping: Promise<void> | undefined;
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    endpoint: `http://${BIND_ADDRESS}:${actualPort}`,
    stop() {
      stopping ??= (async () => {
        if (running()) {
          // A frozen process would hold the SIGTERM until continued.
          child.kill('SIGCONT');
          child.kill('SIGTERM');
        }
        await exited;
      })();
      return stopping;
    },
    pause() {
      if (running()) child.kill('SIGSTOP');
    },
    resume() {
      if (running()) child.kill('SIGCONT');
    },
  };
}

export interface QueueUrls {
  queueUrl: string;
  dlqUrl: string;
}

/** Creates (or finds) the tasks queue and its DLQ; a message moves to the DLQ after `maxReceiveCount` receives. */
export async function ensureQueues(sqs: SQSClient, name: string, maxReceiveCount = 5): Promise<QueueUrls> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqAttrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }));
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: '60',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqAttrs.Attributes!.QueueArn, maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}
