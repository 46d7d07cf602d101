import { CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { ValidationError } from '../../core/errors.js';
import { eventBridgeScheduler, toEventBridgeCron } from '../../core/schedules/eventbridge.js';

describe('EventBridge Scheduler backend', () => {
  const mock = mockClient(SchedulerClient);
  const target = { lambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:schedule', roleArn: 'arn:aws:iam::123456789012:role/scheduler', group: 'evalap' };
  beforeEach(() => mock.reset());

  it.each([
    ['0 3 * * *', 'cron(0 3 * * ? *)'],
    ['*/15 9-17 * * 1-5', 'cron(*/15 9-17 ? * 2-6 *)'],
    ['0 0 1 * *', 'cron(0 0 1 * ? *)'],
    ['30 6 * * 0', 'cron(30 6 ? * 1 *)'],
    // Names are passed as they are; 7 is Sunday too.
    ['0 9 * * mon-fri', 'cron(0 9 ? * mon-fri *)'],
    ['0 9 * * 7', 'cron(0 9 ? * 1 *)'],
    ['0 9 * * 0,6', 'cron(0 9 ? * 1,7 *)'],
    ['1/20 * * * *', 'cron(1/20 * * * ? *)'],
    ['0 0 29 feb *', 'cron(0 0 29 feb ? *)'],
  ])('translates %s to %s', (unix, aws) => {
    expect(toEventBridgeCron(unix)).toBe(aws);
  });

  it('refuses a cron restricting both day fields, which EventBridge cannot express', () => {
    expect(() => toEventBridgeCron('0 0 13 * 5')).toThrow(ValidationError);
  });

  it('creates an enabled schedule invoking the Lambda with the schedule id, in its time zone', async () => {
    await eventBridgeScheduler(new SchedulerClient({ region: 'us-east-1' }), target).put({ id: 7, cron: '0 3 * * *', timezone: 'Europe/Paris', paused: false }, true);
    const [call] = mock.commandCalls(CreateScheduleCommand);
    expect(call.args[0].input).toEqual({
      Name: 'evalap-schedule-7',
      GroupName: 'evalap',
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: target.lambdaArn, RoleArn: target.roleArn, Input: '{"schedule_id":7,"scheduled_time":"<aws.scheduler.scheduled-time>"}' },
    });
  });

  it('disables a paused schedule on update', async () => {
    await eventBridgeScheduler(new SchedulerClient({ region: 'us-east-1' }), target).put({ id: 7, cron: '0 3 * * *', timezone: 'UTC', paused: true }, false);
    expect(mock.commandCalls(UpdateScheduleCommand)[0].args[0].input.State).toBe('DISABLED');
  });

  it('treats deleting a schedule EventBridge no longer has as done', async () => {
    mock.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException({ message: 'gone', Message: 'gone', $metadata: {} } as never));
    await expect(eventBridgeScheduler(new SchedulerClient({ region: 'us-east-1' }), target).remove(7)).resolves.toBeUndefined();
  });

  it('lets other errors through, so the API writes nothing', async () => {
    mock.on(CreateScheduleCommand).rejects(new Error('AccessDenied'));
    await expect(eventBridgeScheduler(new SchedulerClient({ region: 'us-east-1' }), target).put({ id: 1, cron: '0 3 * * *', timezone: 'UTC', paused: false }, true)).rejects.toThrow('AccessDenied');
  });
});
