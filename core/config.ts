/**
 * Every environment variable the project reads, parsed and validated here and
 * nowhere else. A wrong value stops start-up with a `ConfigError` naming the
 * variable. README's configuration table mirrors `VARIABLES`.
 */
import os from 'node:os';
import path from 'node:path';
import { AUTO_ZONE, ECO_ZONES } from './eco/electricity-mixes.js';
import { ConfigError } from './errors.js';
import type { LogLevel } from './logger.js';

type Env = Record<string, string | undefined>;

interface Variable<T, D extends string | undefined = string | undefined> {
  /** What the variable means, shown in README and in error messages. */
  doc: string;
  /** Default, as it would be written in the environment; undefined = unset. */
  default: D;
  parse: (raw: string, name: string) => T;
}

function str(doc: string): Variable<string, undefined>;
function str(doc: string, def: string): Variable<string, string>;
function str(doc: string, def?: string): Variable<string> {
  return { doc, default: def, parse: (raw) => raw };
}

const int = (doc: string, def: string, min: number, max: number): Variable<number, string> => ({
  doc,
  default: def,
  parse: (raw, name) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected an integer, got ${JSON.stringify(raw)}`);
    const value = Number(raw);
    if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  },
});

const optInt = (doc: string, min: number, max: number): Variable<number, undefined> => ({ ...int(doc, '0', min, max), default: undefined });

const oneOf = <T extends string>(doc: string, def: T, values: readonly T[]): Variable<T, string> => ({
  doc,
  default: def,
  parse: (raw, name) => {
    if (!(values as readonly string[]).includes(raw)) {
      throw new ConfigError(name, `must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    return raw as T;
  },
});

/** A probability, from 0 to 1. */
const fraction = (doc: string, def: string): Variable<number, string> => ({
  doc,
  default: def,
  parse: (raw, name) => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) throw new ConfigError(name, `expected a number from 0 to 1, got ${JSON.stringify(raw)}`);
    return value;
  },
});

const url = (doc: string): Variable<string, undefined> => ({
  doc,
  default: undefined,
  parse: (raw, name) => {
    // A scheme and a host, checked loosely: queue URLs of local SQS servers
    // (http://sqs.us-east-1.127.0.0.1:9324/...) are not WHATWG-valid URLs.
    if (!/^[a-z][a-z0-9+.-]*:\/\/[^\s/]+(\/\S*)?$/i.test(raw)) {
      throw new ConfigError(name, `expected a URL, got ${JSON.stringify(raw.replace(/\/\/[^@/]*@/, '//***@'))}`);
    }
    return raw;
  },
});

const keyList = (doc: string): Variable<string[], undefined> => ({
  doc,
  default: undefined,
  parse: (raw, name) => {
    const keys = raw.split(',').map((k) => k.trim()).filter(Boolean);
    if (keys.some((k) => k.length < 16)) throw new ConfigError(name, 'every key must be at least 16 characters long');
    return keys;
  },
});

/** The user's home; a sandbox without one (no HOME, no passwd entry) gets the temporary folder. */
function homeDir(): string {
  try {
    return os.homedir();
  } catch {
    return os.tmpdir();
  }
}

/** The table of variables; README's configuration section lists the same. */
export const VARIABLES = {
  HOST: str('Address the local API server binds to. Anything but loopback requires API keys.', '127.0.0.1'),
  PORT: int('Port of the local API server.', '8000', 0, 65535),
  DATABASE_URL: url('PostgreSQL connection URL. Unset in the local stack: the embedded PostgreSQL is started and used.'),
  PGHOST: str('Database host, when DATABASE_URL is unset (the AWS deployment passes the database secret\'s fields).'),
  PGPORT: int('Database port with PGHOST.', '5432', 1, 65535),
  PGDATABASE: str('Database name with PGHOST.', 'postgres'),
  PGUSER: str('Database user with PGHOST.'),
  PGPASSWORD: str('Database password with PGHOST. Never logged.'),
  PGSSLMODE: str('sslmode of the connection built from PGHOST (e.g. require, verify-full).'),
  DATABASE_SECRET_ARN: str('AWS: the secret with the database credentials (username, password), read through a short-lived cache so a rotation needs no restart. With PGHOST, the runner\'s connections use it; with DATABASE_RESOURCE_ARN, the Data API does.'),
  DATABASE_RESOURCE_ARN: str('AWS: the Aurora cluster\'s ARN. Set (with DATABASE_SECRET_ARN), the API and schedule Lambdas reach PostgreSQL through the RDS Data API, holding no connection; PGDATABASE names the database.'),
  RDS_DATA_ENDPOINT: url('RDS Data API endpoint override (the local stack\'s Data-API-compatible server). Unset in AWS.'),
  EVALAP_API_KEYS_SECRET_ARN: str('AWS: the secret holding EVALAP_API_KEYS and EVALAP_ADMIN_KEY (JSON), read through a short-lived cache so a revoked key stops working within EVALAP_SECRET_TTL_SEC.'),
  EVALAP_SECRET_TTL_SEC: int('How long a secret read from Secrets Manager (database credentials, API keys) is reused before it is read again. A failed database login rereads it at once.', '60', 0, 3600),
  EVALAP_HOME: {
    doc: 'Folder of the local stack\'s state (PostgreSQL data, the local encryption key, the CLI\'s log), the same whatever the current folder. ~ is the user\'s home.',
    default: '~/.evalap',
    parse: (raw: string) => path.resolve(raw.replace(/^~(?=$|[\\/])/, homeDir)),
  },
  EVALAP_DATA_DIR: str('Overrides EVALAP_HOME for the local stack\'s state (tests give each stack its own).', ''),
  EVALAP_PG_PORT: int('Port of the embedded PostgreSQL.', '54329', 1, 65535),
  SQS_ENDPOINT: url('SQS endpoint override (the local SQS-compatible server). Unset in AWS.'),
  EVALAP_SQS_PORT: int('Port of the local SQS-compatible server (fauxqs) when the local stack starts it.', '9324', 0, 65535),
  RUNNER_PROCESSES: int('Local stack: runner processes draining the one queue, as several Fargate tasks do in AWS; each keeps MAX_CONCURRENT_TASKS tasks in flight.', '1', 1, 16),
  QUEUE_URL: url('URL of the tasks queue. Unset in the local stack: the queue is created and its URL used.'),
  QUEUE_NAME: str('Name of the tasks queue the local stack creates.', 'evalap-tasks'),
  AWS_REGION: str('AWS region of the SQS client.', 'us-east-1'),
  EVALAP_API_KEYS: keyList('Comma-separated user API keys (Bearer tokens), 16+ characters each.'),
  EVALAP_ADMIN_KEY: keyList('Admin API key: required for DELETE routes.'),
  EVALAP_SECRET_KEY: str('Base64 of 32 bytes: the key that encrypts stored provider API keys. Unset locally: a key file under EVALAP_DATA_DIR is created.'),
  EVALAP_KMS_KEY_ID: str('AWS: the KMS key that seals stored provider keys (envelope encryption). Takes precedence over EVALAP_SECRET_KEY.'),
  EVALAP_MAX_BODY_BYTES: int('Largest request body accepted (Lambda accepts 6 MB).', String(6 * 1024 * 1024), 1024, 64 * 1024 * 1024),
  EVALAP_MAX_RESPONSE_BYTES: int('Largest response body sent; a larger one is a 413 naming the paginated route to use (Lambda returns at most 6 MB).', String(6_000_000), 1024, 64 * 1024 * 1024),
  EVALAP_FANOUT_CHUNK: int('Row tasks enqueued by one fan-out task before it enqueues its continuation.', '500', 10, 100000),
  LOG_LEVEL: oneOf<LogLevel>('Log level.', 'info', ['debug', 'info', 'warn', 'error', 'silent']),
  POWERTOOLS_LOGGER_SAMPLE_RATE: fraction('Lambdas: the share of invocations that log at debug level whatever LOG_LEVEL says (Powertools Logger\'s debug sampling), e.g. 0.01.', '0'),
  POWERTOOLS_SERVICE_NAME: str('Lambdas: the `service` of their log lines and a dimension of their metrics (each line also names its function).', 'evalap'),
  POWERTOOLS_METRICS_NAMESPACE: str('Lambdas: CloudWatch namespace of the metrics they emit (EMF); the stack sets the one its alarms read.', 'Evalap'),
  EVALAP_JUDGE_MODEL: str('Default judge: the judge name of experiments that ask for an LLM or RAG metric and name none (Evalap\'s is gpt-4o-mini), resolved at launch as any judge name.'),
  EVALAP_JUDGE_BASE_URL: url('An OpenAI-compatible endpoint of your own serving judges given by name; checked before the named providers.'),
  EVALAP_JUDGE_API_KEY: str('API key of EVALAP_JUDGE_BASE_URL. Never logged.'),
  EVALAP_JUDGE_MODELS: str('Judge names EVALAP_JUDGE_BASE_URL serves, comma-separated, for an endpoint without GET /models; "*" for an endpoint that serves any name. Unset: its GET /models tells.'),
  EVALAP_PROVIDER_KEYS_SECRET_ARN: str('AWS: the secret holding the judge providers\' keys (fields named as their variables: OPENAI_API_KEY, ...), read by the API through the short-lived cache. A non-empty field overrides the variable.'),
  EVALAP_JUDGE_LIST_TTL_SEC: int('How long a provider\'s GET /models listing is reused to resolve judge names.', '300', 0, 86_400),
  EVALAP_JUDGE_LIST_TIMEOUT_MS: int('Timeout of one GET /models call resolving a judge name at launch.', '3000', 100, 60_000),
  OPENAI_API_KEY: str('OpenAI key: judges given by name are looked up in its GET /models (as Evalap does). Never logged.'),
  OPENAI_BASE_URL: { ...url('Base URL of the OpenAI judge provider (tests point it at a local server).'), default: 'https://api.openai.com/v1' },
  MISTRAL_API_KEY: str('Mistral key: judges given by name are looked up in its GET /models. Never logged.'),
  MISTRAL_BASE_URL: { ...url('Base URL of the Mistral judge provider (tests point it at a local server).'), default: 'https://api.mistral.ai/v1' },
  ANTHROPIC_API_KEY: str('Anthropic key: judges given by name are looked up in its GET /models. Never logged.'),
  ANTHROPIC_BASE_URL: { ...url('Base URL of the Anthropic judge provider (tests point it at a local server).'), default: 'https://api.anthropic.com/v1' },
  ALBERT_API_KEY: str('Albert (Etalab) key: judges given by name are looked up in its GET /models. Never logged.'),
  ALBERT_BASE_URL: { ...url('Base URL of the Albert judge provider (tests point it at a local server).'), default: 'https://albert.api.etalab.gouv.fr/v1' },
  SCALEWAY_API_KEY: str('Scaleway Generative APIs key: judges given by name are looked up in its GET /models. Never logged.'),
  SCALEWAY_BASE_URL: { ...url('Base URL of the Scaleway judge provider (tests point it at a local server).'), default: 'https://api.scaleway.ai/v1' },
  EVALAP_ECO_ZONE: oneOf('Electricity mix of the energy and carbon estimates of model calls (EcoLogits\' zones: WOR world, EEE Europe, FRA, USA, …). auto: Evalap\'s choice, FRA for models served by Albert, WOR for the others.', AUTO_ZONE, [AUTO_ZONE, ...ECO_ZONES]),
  EVALAP_API_URL: url('CLI: the API to use (or --api). Unset: a local API on PORT if one answers, else the embedded stack, started for the run.'),
  EVALAP_API_KEY: str('CLI: the API key sent as Bearer token. Never printed.'),
  SCHEDULER_LAMBDA_ARN: str('AWS: the schedule Lambda EventBridge Scheduler invokes. Set with SCHEDULER_ROLE_ARN, schedules become EventBridge schedules.'),
  SCHEDULER_ROLE_ARN: str('AWS: the role EventBridge Scheduler assumes to invoke SCHEDULER_LAMBDA_ARN.'),
  SCHEDULER_GROUP: str('AWS: the EventBridge Scheduler group of the schedules.', 'default'),
  MAX_CONCURRENT_TASKS: int('Tasks one runner keeps in flight (model calls and metrics at once).', '8', 1, 4096),
  RUNNER_WORKER_THREADS: optInt('Worker threads sharing those tasks. Unset: one less than the CPU count (the main thread keeps one), at least 1, at most MAX_CONCURRENT_TASKS.', 1, 256),
  RUNNER_PREFETCH: optInt('Messages received beyond the free slots, so workers never wait for a poll. Unset: a quarter of MAX_CONCURRENT_TASKS, at least 20 (two receives of 10).', 0, 4096),
  RUNNER_VISIBILITY_TIMEOUT_SEC: int('Visibility timeout each heartbeat sets on messages in flight: how long the messages of a killed runner wait before another runner gets them.', '20', 5, 43200),
  RUNNER_HEARTBEAT_INTERVAL_MS: int('How often the visibility of messages in flight is extended.', '5000', 100, 43_200_000),
  RUNNER_SHUTDOWN_GRACE_MS: int('On SIGTERM, how long running tasks may finish before the rest are released.', '25000', 0, 600_000),
  RUNNER_MAX_ATTEMPTS: int('Attempts of a model call on 429, 5xx, timeouts and resets before the row is recorded as failed.', '5', 1, 100),
  RUNNER_MODEL_TIMEOUT_MS: int('Timeout of one model call.', '60000', 100, 3_600_000),
  RUNNER_POLL_WAIT_SEC: int('Long-poll wait of each SQS receive (also the longest a shutdown waits for a poll).', '5', 0, 20),
  RUNNER_RATE_SHARE_INTERVAL_MS: int('How often each runner tells the others, through PostgreSQL, what it learned of each model\'s rate limits (its pace, Retry-After blocks) and which models it calls, so that several runners keep to one provider limit together. 0: each runner keeps to the limits on its own.', '200', 0, 60_000),
  RUNNER_STATS_INTERVAL_MS: int('How often the runner logs throughput, in-flight count, per-model limits and retries.', '10000', 100, 3_600_000),
  RUNNER_TASK_PROTECTION_MIN: int('AWS (ECS): minutes of scale-in protection the runner asks for while it holds messages, renewed before it lapses and cleared when the runner is idle.', '30', 1, 2880),
  RUNNER_TASK_PROTECTION_QUIET_SEC: int('AWS (ECS): seconds the runner must have held nothing before it clears its scale-in protection; longer than RUNNER_POLL_WAIT_SEC, so a runner that runs dry between two receives of a busy queue keeps it.', '30', 1, 3600),
  EVALAP_STALL_AFTER_SEC: int('An unfinished experiment with no progress for this long, and nothing left on the queue, is stalled: the sweeper enqueues its missing work again (/health lists it).', '120', 1, 86_400),
  EVALAP_STALL_REQUEUES: int('Times the sweeper enqueues a stalled experiment\'s missing work again before recording that work as failed, with the reason.', '3', 0, 100),
  RUNNER_SWEEP_INTERVAL_SEC: int('How often a runner sweeps: stalled experiments, and tasks in the dead-letter queue (recorded as failed).', '30', 1, 3600),
  ECS_AGENT_URI: url('Set by ECS in every task: where the runner asks the ECS agent for scale-in protection. Unset outside ECS: no protection is asked for.'),
  DLQ_URL: url('Dead-letter queue of unparseable messages. Unset: read from the tasks queue\'s redrive policy.'),
} as const;

type Vars = typeof VARIABLES;
/** The parsed configuration; variables without default and unset are `undefined`. */
export type Config = {
  [K in keyof Vars]: Vars[K] extends Variable<infer T, infer D> ? (D extends string ? T : T | undefined) : never;
};

/** Reads and validates every variable; throws `ConfigError` on the first wrong one. */
export function loadConfig(env: Env = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(VARIABLES) as [string, Variable<unknown, string | undefined>][]) {
    const raw = env[name]?.trim() ? env[name] : variable.default;
    out[name] = raw === undefined ? undefined : variable.parse(raw, name);
  }
  const config = out as Config;
  // One place for the local state, wherever the command runs: a relative folder would follow the current one.
  (config as { EVALAP_DATA_DIR: string }).EVALAP_DATA_DIR = config.EVALAP_DATA_DIR ? path.resolve(config.EVALAP_DATA_DIR) : config.EVALAP_HOME;
  if (!config.DATABASE_URL && config.PGHOST) {
    // The deployment hands out the database secret's fields; the drivers take one URL.
    const enc = encodeURIComponent;
    const auth = config.PGUSER ? `${enc(config.PGUSER)}${config.PGPASSWORD ? ':' + enc(config.PGPASSWORD) : ''}@` : '';
    (config as { DATABASE_URL?: string }).DATABASE_URL =
      `postgresql://${auth}${config.PGHOST}:${config.PGPORT}/${enc(config.PGDATABASE)}${config.PGSSLMODE ? `?sslmode=${enc(config.PGSSLMODE)}` : ''}`;
  }
  const adminKeys = config.EVALAP_ADMIN_KEY ?? [];
  if (adminKeys.length > 1) throw new ConfigError('EVALAP_ADMIN_KEY', 'exactly one admin key is expected');
  if (config.EVALAP_SECRET_KEY !== undefined && Buffer.from(config.EVALAP_SECRET_KEY, 'base64').length !== 32) {
    throw new ConfigError('EVALAP_SECRET_KEY', 'must be the base64 encoding of exactly 32 bytes');
  }
  if (config.RUNNER_WORKER_THREADS !== undefined && config.RUNNER_WORKER_THREADS > config.MAX_CONCURRENT_TASKS) {
    throw new ConfigError('RUNNER_WORKER_THREADS', `must be at most MAX_CONCURRENT_TASKS (${config.MAX_CONCURRENT_TASKS}), got ${config.RUNNER_WORKER_THREADS}`);
  }
  if (config.RUNNER_TASK_PROTECTION_QUIET_SEC <= config.RUNNER_POLL_WAIT_SEC) {
    throw new ConfigError('RUNNER_TASK_PROTECTION_QUIET_SEC', `must be longer than RUNNER_POLL_WAIT_SEC (${config.RUNNER_POLL_WAIT_SEC} s), got ${config.RUNNER_TASK_PROTECTION_QUIET_SEC}`);
  }
  if (config.RUNNER_HEARTBEAT_INTERVAL_MS >= config.RUNNER_VISIBILITY_TIMEOUT_SEC * 1000) {
    throw new ConfigError('RUNNER_HEARTBEAT_INTERVAL_MS', `must be shorter than RUNNER_VISIBILITY_TIMEOUT_SEC (${config.RUNNER_VISIBILITY_TIMEOUT_SEC} s), got ${config.RUNNER_HEARTBEAT_INTERVAL_MS} ms`);
  }
  return config;
}

/** The configured keys, for auth: none configured means the API runs open. */
export function apiKeys(config: Config): { user: string[]; admin: string | undefined } {
  return { user: config.EVALAP_API_KEYS ?? [], admin: config.EVALAP_ADMIN_KEY?.[0] };
}
