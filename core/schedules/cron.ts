/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week)
 * evaluated in an IANA time zone, with croner. Only the syntax EventBridge
 * Scheduler can also be given (through toEventBridgeCron) is accepted:
 * `*`, numbers, lists, ranges, steps and the names of months and days; not
 * croner's extensions (L, W, #, ?, +, seconds, years, nicknames). As in
 * cron, when both day fields are restricted a day matching either one fires.
 *
 * Around DST the local stack fires as EventBridge Scheduler does in AWS: "When
 * the time shifts forward in the Spring, your schedule invocation is skipped
 * if the cron expression falls on a non-existent date and time. When the time
 * shifts back in the Fall, your schedule runs only once and doesn't repeat its
 * invocation."
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#daylist-savings-time).
 * Croner follows Vixie cron instead (a fixed time in the gap runs after it; a
 * repeated interval time runs twice), so `nextFire` filters its runs.
 */
import { Cron as Croner, CronDate } from 'croner';
import { ValidationError } from '../errors.js';

export interface Cron {
  job: Croner;
  timeZone: string;
}

interface FieldSpec {
  name: string;
  lo: number;
  hi: number;
  names: boolean;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', lo: 0, hi: 59, names: false },
  { name: 'hour', lo: 0, hi: 23, names: false },
  { name: 'day-of-month', lo: 1, hi: 31, names: false },
  { name: 'month', lo: 1, hi: 12, names: true },
  { name: 'dow', lo: 0, hi: 6, names: true },
];

/** One part of a list: `*` or a value or range, optionally with a step. */
const part = (atom: string) => `(\\*|${atom}(-${atom})?)(/\\d+)?`;
const syntax = (atom: string) => new RegExp(`^${part(atom)}(,${part(atom)})*$`, 'i');
const NUMERIC = syntax('\\d+');
const NAMED = syntax('(\\d+|[a-z]{3})');

const quote = (s: string) => JSON.stringify(s);

/**
 * Keeps the steps croner refuses but cron reads: `a/n` is `a-max/n`, and a
 * step longer than the field fires on its first value only (stored schedules
 * written with either must keep parsing).
 */
function normalize(text: string, f: FieldSpec): string {
  return text
    .split(',')
    .map((p) => {
      const [range, step] = p.split('/');
      if (step === undefined) return p;
      const span = f.hi - f.lo + 1;
      const from = range === '*' || range.includes('-') ? range : `${range}-${f.hi}`;
      return `${from}/${Number(step) > span ? span : step}`;
    })
    .join(',');
}

/** Croner's refusal of one field, said in the field's terms. */
function fieldError(text: string, f: FieldSpec, croner: string): string {
  if (/stepping/i.test(croner)) return `${f.name}: bad step in ${quote(text)}`;
  if (/larger than/i.test(croner)) return `${f.name}: range ${quote(text)} goes backwards`;
  return `${f.name}: ${quote(text)} is not a value from ${f.lo} to ${f.hi}`;
}

/** Checks one field alone (the others `*`), so an error names its field. */
function checkField(text: string, index: number): void {
  const f = FIELDS[index];
  const allowed = (f.names ? NAMED : NUMERIC).test(text);
  if (!allowed) throw new Error(fieldError(text, f, ''));
  // Croner reads a range ending in 7 or sun up to Sunday; in EventBridge's numbering (Sunday is 1) it would go backwards.
  if (f.name === 'dow' && /-(0*7|sun)(?![\da-z])/i.test(text)) throw new Error(`${f.name}: ${quote(text)}: write Sunday as 0 in a range (7 only alone)`);
  const alone = FIELDS.map((_, i) => (i === index ? normalize(text, f) : '*')).join(' ');
  try {
    new Croner(alone, { mode: '5-part' });
  } catch (err) {
    throw new Error(fieldError(text, f, (err as Error).message));
  }
}

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Parses `expr` or throws a ValidationError naming `path`. */
export function parseCron(expr: string, timeZone = 'UTC', path = 'cron'): Cron {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) throw new ValidationError('invalid cron expression', [{ path, message: `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}` }]);
  if (!validTimeZone(timeZone)) throw new ValidationError('invalid time zone', [{ path: 'timezone', message: `${JSON.stringify(timeZone)} is not an IANA time zone` }]);
  try {
    fields.forEach(checkField);
  } catch (err) {
    throw new ValidationError('invalid cron expression', [{ path, message: (err as Error).message }]);
  }
  const pattern = fields.map((text, i) => normalize(text, FIELDS[i])).join(' ');
  // domAndDow false: cron's OR of the two day fields when both are restricted.
  return { job: new Croner(pattern, { mode: '5-part', timezone: timeZone, domAndDow: false }), timeZone };
}

const MINUTE = 60_000;

const wallClock = (at: number, tz: string) => {
  const d = new CronDate(new Date(at), tz);
  return `${d.year}-${d.month}-${d.day} ${d.hour}:${d.minute}`;
};

/** Whether the wall-clock time of `at` already occurred earlier (a DST fall-back repeats 30 minutes to 2 hours). */
const repeated = (at: number, tz: string) => [30, 60, 120].some((m) => wallClock(at - m * MINUTE, tz) === wallClock(at, tz));

/** The first firing strictly after `after` (ms), within `horizonDays` (five years: leap days fire); null if none. */
export function nextFire(c: Cron, after: number, horizonDays = 1830): number | null {
  const end = after + horizonDays * 86_400_000;
  let from = new Date(Math.floor(after / MINUTE) * MINUTE);
  for (;;) {
    const next = c.job.nextRun(from);
    if (!next || next.getTime() > end) return null;
    // A run croner moved out of a DST gap no longer matches its wall clock.
    if (c.job.match(next) && !repeated(next.getTime(), c.timeZone)) return next.getTime();
    from = next;
  }
}
