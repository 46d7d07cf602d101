/**
 * The one logger: JSON lines, one object per event, with the event name as a
 * past-tense fact (`experiment_created`). Values under secret-looking keys are
 * replaced before anything is written, so a key can never reach a log line.
 *
 * Every caller logs through `Logger`; only where the lines go differs. The
 * runner and the local stack write them with `createLogger`. The Lambdas
 * hand them to Powertools for AWS Lambda's Logger (functions/observability/),
 * which adds the invocation's context (request id, cold start, correlation
 * id) and samples debug logs: both are built on `sinkLogger`, so redaction,
 * the level filter and `child` are written once, here, whatever the sink.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LineLevel = Exclude<LogLevel, 'silent'>;

export const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_KEY = /(api_?key|authorization|password|secret|token(?!s)|credential)/i;

/** Returns a copy of `value` with every secret-looking field replaced by `[redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Where a logger's events go, already redacted: `fields` holds the child's fields, then the call's. */
export interface LogSink {
  /** Whether events at `level` are written now (checked before redacting, which costs). */
  enabled(level: LineLevel): boolean;
  write(level: LineLevel, event: string, fields: Record<string, unknown>): void;
}

/** The `Logger` over `sink`: redacts, then merges the child's fields (`base`) under the call's. */
export function sinkLogger(sink: LogSink, base: Record<string, unknown> = {}): Logger {
  const emit = (level: LineLevel) => (event: string, fields: Record<string, unknown> = {}) => {
    if (!sink.enabled(level)) return;
    sink.write(level, event, { ...base, ...(redact(fields) as object) });
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => sinkLogger(sink, { ...base, ...(redact(fields) as object) }),
  };
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to stdout. */
  write?: (line: string) => void;
  base?: Record<string, unknown>;
}

/** The logger writing JSON lines `{time, level, event, ...fields}` itself (runner, local stack, CLI). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  return sinkLogger(
    {
      enabled: (level) => LEVELS[level] >= threshold,
      write: (level, event, fields) => write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })),
    },
    options.base ? (redact(options.base) as Record<string, unknown>) : {},
  );
}
