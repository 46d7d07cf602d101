import { nextFire, parseCron } from '../../core/schedules/cron.js';
import { ValidationError } from '../../core/errors.js';

const next = (expr: string, after: string, tz = 'UTC') => {
  const at = nextFire(parseCron(expr, tz), Date.parse(after));
  return at === null ? null : new Date(at).toISOString();
};

// Europe/Paris: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
// America/New_York: 2026-03-08 02:00 EST → 03:00 EDT.
describe('cron around daylight saving time, as EventBridge Scheduler fires', () => {
  it('skips a fixed time that does not exist on the spring-forward day', () => {
    expect(next('30 2 * * *', '2026-03-28T12:00:00Z', 'Europe/Paris')).toBe('2026-03-30T00:30:00.000Z');
    expect(next('0 2 * * *', '2026-03-07T12:00:00Z', 'America/New_York')).toBe('2026-03-09T06:00:00.000Z');
  });

  it('goes on after the spring-forward gap with the first time that exists', () => {
    expect(next('*/30 * * * *', '2026-03-29T00:45:00Z', 'Europe/Paris')).toBe('2026-03-29T01:00:00.000Z');
  });

  it('fires a fixed time that occurs twice on the fall-back day once, at its first occurrence', () => {
    const first = next('30 2 * * *', '2026-10-24T12:00:00Z', 'Europe/Paris');
    expect(first).toBe('2026-10-25T00:30:00.000Z');
    expect(next('30 2 * * *', first!, 'Europe/Paris')).toBe('2026-10-26T01:30:00.000Z');
  });

  it('does not repeat the times of the repeated hour of an interval schedule', () => {
    // 02:30 CEST, then 02:00 and 02:30 CET come again: the next firing is 03:00 CET.
    expect(next('*/30 * * * *', '2026-10-25T00:30:00Z', 'Europe/Paris')).toBe('2026-10-25T02:00:00.000Z');
  });

  it('keeps a daily time at the same wall-clock hour across the change', () => {
    expect(next('0 9 * * *', '2026-10-24T12:00:00Z', 'Europe/Paris')).toBe('2026-10-25T08:00:00.000Z');
  });
});

describe('cron day fields', () => {
  it('fires on a day matching either day field when both are restricted', () => {
    // 2026-02-13 is a Friday the 13th; 2026-02-16 a Monday.
    expect(next('0 12 13 * mon', '2026-02-10T13:00:00Z')).toBe('2026-02-13T12:00:00.000Z');
    expect(next('0 12 13 * mon', '2026-02-13T13:00:00Z')).toBe('2026-02-16T12:00:00.000Z');
  });

  it('fires only on the restricted day field when the other is *', () => {
    expect(next('0 0 * * mon', '2026-02-10T00:00:00Z')).toBe('2026-02-16T00:00:00.000Z');
    expect(next('0 0 13 * *', '2026-02-14T00:00:00Z')).toBe('2026-03-13T00:00:00.000Z');
  });

  it('skips the months without a 31st', () => {
    expect(next('0 0 31 * *', '2026-04-01T00:00:00Z')).toBe('2026-05-31T00:00:00.000Z');
  });

  it('fires on February 29th only in leap years', () => {
    expect(next('0 0 29 2 *', '2028-03-01T00:00:00Z')).toBe('2032-02-29T00:00:00.000Z');
  });

  it('never fires on a day that does not exist', () => {
    expect(next('0 0 31 4 *', '2026-01-01T00:00:00Z')).toBeNull();
  });

  it('reads 7 as Sunday', () => {
    expect(next('0 9 * * 7', '2026-03-06T10:00:00Z')).toBe('2026-03-08T09:00:00.000Z');
  });
});

describe('cron steps as cron reads them', () => {
  it('reads a/n as from a to the end of the field, every n', () => {
    expect(next('1/20 * * * *', '2026-03-01T10:02:00Z')).toBe('2026-03-01T10:21:00.000Z');
  });

  it('fires a step longer than its field on the first value only', () => {
    expect(next('*/90 * * * *', '2026-03-01T10:02:00Z')).toBe('2026-03-01T11:00:00.000Z');
  });
});

describe('cron syntax EventBridge Scheduler is not given', () => {
  it.each([
    ['0 0 L * *', /day-of-month/],
    ['0 0 ? * mon', /day-of-month/],
    ['0 0 * * 5#2', /dow/],
    ['0 0 * * +mon', /dow/],
    ['0 0 * * 5-7', /Sunday as 0/],
    ['0 0 * * 0-7', /Sunday as 0/],
    ['0 0 * * fri-sun', /Sunday as 0/],
    ['0 0 0 * * *', /expected 5 fields/],
    ['@daily', /expected 5 fields/],
  ])('refuses %s', (expr, message) => {
    let error: unknown;
    try {
      parseCron(expr);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0].message).toMatch(message);
  });
});
