/**
 * The tasks queue and its dead-letter queue: SQS-managed encryption, TLS
 * only, a visibility timeout equal to the one the runner's heartbeat keeps
 * extending (RUNNER_VISIBILITY_TIMEOUT_SEC), and a redrive after
 * `maxReceiveCount` receives.
 */
import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface TasksQueueProps {
  maxReceiveCount: number;
  visibilityTimeoutSec: number;
  dlqRetentionDays: number;
}

export class TasksQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: TasksQueueProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(props.dlqRetentionDays),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.visibilityTimeoutSec),
      // Fan-out continuations and retries with backoff must outlive a long experiment.
      retentionPeriod: Duration.days(4),
      // The runner long-polls with its own wait time; this covers other consumers.
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
