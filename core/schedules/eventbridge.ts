/**
 * Where schedules fire. Locally an in-process cron reads the schedule table,
 * so there is nothing to register. In AWS every schedule is an EventBridge
 * Scheduler schedule that invokes the schedule Lambda with `{schedule_id}`;
 * this keeps it in step with the table.
 */
import { CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { ValidationError } from '../errors.js';

export interface ScheduleSpec {
  id: number;
  cron: string;
  timezone: string;
  paused: boolean;
}

export interface SchedulerBackend {
  put(s: ScheduleSpec, created: boolean): Promise<void>;
  remove(id: number): Promise<void>;
}

export const localScheduler: SchedulerBackend = { put: async () => undefined, remove: async () => undefined };

/**
 * Unix cron → EventBridge's `cron(min hour dom month dow year)`: one of the
 * day fields must be `?`, and days of the week count from 1 (Sunday).
 * Cron's "either day field" rule has no EventBridge equivalent: refused.
 */
export function toEventBridgeCron(expr: string): string {
  const [min, hour, dom, month, dow] = expr.trim().split(/\s+/);
  if (dom !== '*' && dow !== '*') {
    throw new ValidationError('unsupported cron expression', [{ path: 'cron', message: 'EventBridge Scheduler cannot restrict both day-of-month and day-of-week; use * for one of them' }]);
  }
  const shiftDow = (field: string) => field.replace(/\d+/g, (d) => String((Number(d) % 7) + 1));
  return dow === '*' ? `cron(${min} ${hour} ${dom} ${month} ? *)` : `cron(${min} ${hour} ? ${month} ${shiftDow(dow)} *)`;
}

export function eventBridgeScheduler(client: SchedulerClient, target: { lambdaArn: string; roleArn: string; group?: string }): SchedulerBackend {
  const name = (id: number) => `evalap-schedule-${id}`;
  return {
    async put(s, created) {
      const input = {
        Name: name(s.id),
        GroupName: target.group,
        ScheduleExpression: toEventBridgeCron(s.cron),
        ScheduleExpressionTimezone: s.timezone,
        State: s.paused ? ('DISABLED' as const) : ('ENABLED' as const),
        FlexibleTimeWindow: { Mode: 'OFF' as const },
        // The scheduled time makes a retried invocation the same tick (ticks are idempotent per time).
        Target: { Arn: target.lambdaArn, RoleArn: target.roleArn, Input: JSON.stringify({ schedule_id: s.id, scheduled_time: '<aws.scheduler.scheduled-time>' }) },
      };
      await client.send(created ? new CreateScheduleCommand(input) : new UpdateScheduleCommand(input));
    },
    async remove(id) {
      try {
        await client.send(new DeleteScheduleCommand({ Name: name(id), GroupName: target.group }));
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err;
      }
    },
  };
}
