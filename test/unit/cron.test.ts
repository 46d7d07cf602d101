import { nextFire, parseCron } from '../../core/schedules/cron.js';
import { ValidationError } from '../../core/errors.js';

const next = (expr: string, after: string, tz = 'UTC') => new Date(nextFire(parseCron(expr, tz), Date.parse(after))!).toISOString();

describe('cron', () => {
  it.each([
    ['*/15 * * * *', '2026-03-01T10:07:30Z', 'UTC', '2026-03-01T10:15:00.000Z'],
    ['0 * * * *', '2026-03-01T10:00:00Z', 'UTC', '2026-03-01T11:00:00.000Z'],
    ['30 2 1 * *', '2026-03-01T03:00:00Z', 'UTC', '2026-04-01T02:30:00.000Z'],
    ['0 9 * * mon-fri', '2026-03-06T09:00:00Z', 'UTC', '2026-03-09T09:00:00.000Z'],
    ['0 9 * * 1-5', '2026-03-27T10:00:00Z', 'Europe/Paris', '2026-03-30T07:00:00.000Z'],
    ['0 9 * * *', '2026-03-28T12:00:00Z', 'Europe/Paris', '2026-03-29T07:00:00.000Z'],
    ['0 0 29 feb *', '2026-01-01T00:00:00Z', 'UTC', '2028-02-29T00:00:00.000Z'],
    ['0 12 13 * fri', '2026-02-12T00:00:00Z', 'UTC', '2026-02-13T12:00:00.000Z'],
  ])('fires %s after %s (%s) at %s', (expr, after, tz, expected) => {
    expect(next(expr, after, tz)).toBe(expected);
  });

  it.each([
    ['* * * *', /expected 5 fields/],
    ['60 * * * *', /minute: "60" is not a value from 0 to 59/],
    ['* 24 * * *', /hour/],
    ['*/0 * * * *', /bad step/],
    ['5-1 * * * *', /goes backwards/],
    ['* * * smarch *', /month/],
  ])('refuses %s', (expr, message) => {
    expect(() => parseCron(expr)).toThrow(ValidationError);
    try {
      parseCron(expr);
    } catch (err) {
      expect((err as ValidationError).issues[0].message).toMatch(message);
    }
  });

  it('refuses an unknown time zone', () => {
    expect(() => parseCron('* * * * *', 'Mars/Olympus')).toThrow(/time zone/);
  });
});
