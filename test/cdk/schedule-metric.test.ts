/**
 * The schedule Lambda's ScheduleErrors metric end to end: the stack is
 * synthesized, the Lambda handler is run with the environment the template
 * gives the schedule function, and the EMF line it prints must be exactly
 * the metric the template's alarm reads (namespace, name, dimensions), with
 * a value that breaches it.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Context } from 'aws-lambda';
import type { EvalapStack } from '../../cdk/stack.js';
import { printedLines } from '../support/stdout.js';
import { removeOutdir, synth } from './synth.js';

type Json = Record<string, any>;

let stack: EvalapStack;
let outdir: string;
let resources: Record<string, Json>;

beforeAll(() => {
  ({ stack, outdir } = synth());
  resources = Template.fromStack(stack).toJSON().Resources;
}, 120_000);
afterAll(() => removeOutdir(outdir));

const scheduleFunction = () => resources[stack.getLogicalId(stack.schedules.function.node.defaultChild as CfnElement)].Properties;
const alarm = () => {
  const found = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === 'ScheduleErrors');
  expect(found).toHaveLength(1);
  return found[0].Properties;
};

/** Runs `run` with the variables of the template's schedule function that are plain strings (the rest are ARNs and URLs of resources). */
async function withFunctionEnvironment<T>(run: () => Promise<T>): Promise<T> {
  const env: Record<string, string> = { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' };
  for (const [k, v] of Object.entries(scheduleFunction().Environment.Variables as Json)) if (typeof v === 'string') env[k] = v;
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('the schedule Lambda\'s ScheduleErrors metric', () => {
  it('is read by one alarm on the stack\'s namespace, Sum over 5 minutes, at 1 or more, and by no metric filter', () => {
    expect(alarm()).toMatchObject({ Namespace: 'Evalap/Evalap', Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(scheduleFunction().Environment.Variables).toMatchObject({ POWERTOOLS_METRICS_NAMESPACE: 'Evalap/Evalap', POWERTOOLS_SERVICE_NAME: 'evalap' });
    const filters = Object.values(resources).filter((r) => r.Type === 'AWS::Logs::MetricFilter');
    expect(filters.map((f) => f.Properties.MetricTransformations[0].MetricName)).not.toContain('ScheduleErrors');
  });

  it('is printed by the handler, for a run it could not launch, as the EMF line of the metric the alarm reads, with a breaching value', async () => {
    const { handler } = await import('../../functions/schedule/handler.js');
    const context = { awsRequestId: 'aws-7', functionName: 'evalap-schedule', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:eu-west-3:123456789012:function:evalap-schedule', memoryLimitInMB: '512' } as Context;
    const { result, lines } = await withFunctionEnvironment(() => printedLines(() => handler({ schedule_id: 5, unexpected: true }, context)));
    expect(result).toMatchObject({ status: 'error', error: 'invalid_event' });

    const emf = lines.filter((l) => l._aws);
    expect(emf).toHaveLength(1);
    const [directive] = emf[0]._aws.CloudWatchMetrics;
    const a = alarm();
    expect(directive.Namespace).toBe(a.Namespace);
    expect(directive.Metrics).toEqual([{ Name: a.MetricName, Unit: 'Count' }]);
    expect(directive.Dimensions).toEqual([a.Dimensions.map((d: Json) => d.Name)]);
    for (const d of a.Dimensions) expect([d.Name, emf[0][d.Name]]).toEqual([d.Name, d.Value]);
    expect(emf[0][a.MetricName]).toBeGreaterThanOrEqual(a.Threshold);

    // The log line of the same invocation carries its context, and the schedule id as correlation id.
    expect(lines.filter((l) => l.event)).toEqual([
      expect.objectContaining({ level: 'error', event: 'schedule_event_invalid', function_request_id: 'aws-7', cold_start: true, correlation_id: 5, service: 'evalap' }),
    ]);
  });
});
