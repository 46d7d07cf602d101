/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week)
 * evaluated in an IANA time zone: `*`, lists, ranges and steps, and names of
 * months and days. As in cron, when both day fields are restricted a day
 * matching either one fires.
 */
import { ValidationError } from './errors.js';

interface Field {
  values: Set<number>;
  any: boolean;
}

export interface Cron {
  minute: Field;
  hour: Field;
  dom: Field;
  month: Field;
  dow: Field;
  timeZone: string;
}

const NAMES: Record<string, string[]> = {
  month: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  dow: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
};

function parseField(text: string, name: string, lo: number, hi: number): Field {
  const values = new Set<number>();
  const num = (s: string) => {
    const names = NAMES[name];
    const idx = names?.indexOf(s.toLowerCase()) ?? -1;
    const n = idx >= 0 ? idx + (name === 'month' ? 1 : 0) : /^\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isInteger(n) || n < lo || n > (name === 'dow' ? 7 : hi)) throw new Error(`${name}: ${JSON.stringify(s)} is not a value from ${lo} to ${hi}`);
    return name === 'dow' && n === 7 ? 0 : n;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${name}: bad step in ${JSON.stringify(part)}`);
    let [a, b] = [lo, hi];
    if (range !== '*') {
      const [x, y] = range.split('-');
      a = num(x);
      b = y === undefined ? (stepText === undefined ? a : hi) : num(y);
      if (b < a) throw new Error(`${name}: range ${JSON.stringify(range)} goes backwards`);
    }
    for (let v = a; v <= b; v += step) values.add(v);
  }
  return { values, any: text === '*' };
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
    return {
      minute: parseField(fields[0], 'minute', 0, 59),
      hour: parseField(fields[1], 'hour', 0, 23),
      dom: parseField(fields[2], 'day-of-month', 1, 31),
      month: parseField(fields[3], 'month', 1, 12),
      dow: parseField(fields[4], 'dow', 0, 6),
      timeZone,
    };
  } catch (err) {
    throw new ValidationError('invalid cron expression', [{ path, message: (err as Error).message }]);
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of an instant in a time zone. */
function local(at: number, tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    formatters.set(tz, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return { month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute), dow: NAMES.dow.indexOf(parts.weekday.toLowerCase().slice(0, 3)) };
}

function dayMatches(c: Cron, l: ReturnType<typeof local>): boolean {
  if (!c.month.values.has(l.month)) return false;
  const dom = c.dom.values.has(l.day);
  const dow = c.dow.values.has(l.dow);
  if (c.dom.any || c.dow.any) return dom && dow;
  return dom || dow;
}

const MINUTE = 60_000;

/** The first firing strictly after `after` (ms), within `horizonDays` (five years: leap days fire); null if none. */
export function nextFire(c: Cron, after: number, horizonDays = 1830): number | null {
  let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const end = after + horizonDays * 86_400_000;
  while (t <= end) {
    const l = local(t, c.timeZone);
    if (!dayMatches(c, l)) {
      t += (60 - l.minute) * MINUTE + (23 - l.hour) * 60 * MINUTE; // to the next local midnight (roughly; DST-safe as we re-check)
      continue;
    }
    if (!c.hour.values.has(l.hour)) {
      t += (60 - l.minute) * MINUTE;
      continue;
    }
    if (c.minute.values.has(l.minute)) return t;
    t += MINUTE;
  }
  return null;
}
