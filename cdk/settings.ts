/**
 * Every CDK context value the stack reads, with its default, parsed and
 * validated in one place (as core/config.ts does for the environment).
 * Values come from cdk.json's "context", or `-c name=value` on the command
 * line (strings there, so every parser accepts both forms). README.md, "Deploy to AWS"
 * lists the same table (test/cdk/readme-settings.test.ts keeps them equal).
 *
 * Profiles: `production=true` changes the defaults of the settings that have
 * a `production` value (a reader in the second AZ, a database that never
 * pauses, deletion protection). A setting given explicitly always wins over
 * the profile.
 */
import type { Node } from 'constructs';

export class SettingError extends Error {
  constructor(name: string, message: string) {
    super(`context value "${name}": ${message}`);
    this.name = 'SettingError';
  }
}

interface Setting<T> {
  doc: string;
  default: T;
  /** The default under the production profile, when it differs. */
  production?: T;
  parse: (raw: unknown, name: string) => T;
}

/** The same setting with another default under the production profile. */
const inProduction = <T>(setting: Setting<T>, value: T): Setting<T> => ({ ...setting, production: value });

const int = (doc: string, def: number, min: number, max: number): Setting<number> => ({
  doc,
  default: def,
  parse: (raw, name) => {
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isInteger(value)) throw new SettingError(name, `expected an integer, got ${JSON.stringify(raw)}`);
    if (value < min || value > max) throw new SettingError(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  },
});

/** An integer with no default: `undefined` means "derived" (see its doc). */
const optInt = (doc: string, min: number, max: number): Setting<number | undefined> => {
  const base = int(doc, 0, min, max);
  return { doc, default: undefined, parse: (raw, name) => (raw === '' || raw === null ? undefined : base.parse(raw, name)) };
};

const num = (doc: string, def: number, min: number, max: number): Setting<number> => ({
  doc,
  default: def,
  parse: (raw, name) => {
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(value)) throw new SettingError(name, `expected a number, got ${JSON.stringify(raw)}`);
    if (value < min || value > max) throw new SettingError(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  },
});

const bool = (doc: string, def: boolean): Setting<boolean> => ({
  doc,
  default: def,
  parse: (raw, name) => {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new SettingError(name, `expected true or false, got ${JSON.stringify(raw)}`);
  },
});

const optStr = (doc: string, pattern?: RegExp): Setting<string | undefined> => ({
  doc,
  default: undefined,
  parse: (raw, name) => {
    if (raw === '' || raw === null) return undefined;
    if (typeof raw !== 'string') throw new SettingError(name, `expected a string, got ${JSON.stringify(raw)}`);
    if (pattern && !pattern.test(raw)) throw new SettingError(name, `does not look right: ${JSON.stringify(raw)}`);
    return raw;
  },
});

const str = (doc: string, def: string, pattern?: RegExp): Setting<string> => {
  const base = optStr(doc, pattern);
  return { doc, default: def, parse: (raw, name) => base.parse(raw, name) ?? def };
};

const oneOf = <T extends string>(doc: string, def: T, values: readonly T[]): Setting<T> => ({
  doc,
  default: def,
  parse: (raw, name) => {
    if (!(values as readonly unknown[]).includes(raw)) throw new SettingError(name, `must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
    return raw as T;
  },
});

/** Fargate's valid (cpu, memory) pairs for the sizes a runner may use. */
const FARGATE_MEMORY: Record<number, [number, number]> = {
  256: [512, 2048],
  512: [1024, 4096],
  1024: [2048, 8192],
  2048: [4096, 16384],
  4096: [8192, 30720],
};

export const SETTINGS = {
  production: bool('The production profile: changes the defaults marked "production" in this table (an Aurora reader in the second AZ, a minimum of 0.5 ACU so the database never pauses, deletion protection). Settings given explicitly override the profile.', false),
  terminationProtection: bool('CloudFormation termination protection of the stack. false for throwaway stacks (then `cdk destroy` works without first turning it off).', true),
  networkLayout: oneOf<'public' | 'private'>('public: runners in public subnets with a public IPv4 address while they run, behind security groups that admit nothing inbound; no NAT gateway, no interface endpoint. private: runners in private subnets behind NAT gateways, for policies that forbid public addresses. The database is in isolated subnets either way.', 'public', ['public', 'private']),
  natGateways: int('NAT gateways with networkLayout=private: 1, or 2 (one per AZ, so one AZ failing does not cut the runners off). An error with networkLayout=public.', 1, 1, 2),
  interfaceEndpoints: bool('With networkLayout=private: VPC interface endpoints for SQS, Secrets Manager, KMS, CloudWatch Logs and ECR (api, dkr) in both AZs, keeping AWS traffic off the NAT gateway (~$87.60/month more). An error with networkLayout=public.', false),
  maxReceiveCount: int('Receives of one message before SQS moves it to the dead-letter queue.', 10, 1, 1000),
  visibilityTimeoutSec: int('The queue\'s visibility timeout, also RUNNER_VISIBILITY_TIMEOUT_SEC: how long a killed runner\'s messages wait before another runner gets them (the runner\'s heartbeat extends it every quarter of it while a task runs).', 20, 8, 43200),
  dlqRetentionDays: int('Days a message stays in a dead-letter queue (tasks, and scheduled runs that failed).', 14, 1, 14),
  maxConcurrentTasks: int('MAX_CONCURRENT_TASKS: tasks one runner keeps in flight.', 8, 1, 4096),
  runnerWorkerThreads: optInt('RUNNER_WORKER_THREADS. Unset: the runner task\'s vCPU count less one, at least 1, at most maxConcurrentTasks.', 1, 256),
  runnerCpu: oneOf<string>('Fargate CPU units of one runner task (1024 = 1 vCPU).', '1024', ['256', '512', '1024', '2048', '4096']),
  runnerMemoryMiB: optInt('Memory of one runner task in MiB. Unset: 2 GiB per vCPU.', 512, 30720),
  runnerMinTasks: int('Fewest runner tasks. 0 lets the runner scale to zero when the queue is empty; each warm task costs its Fargate hours (and its public IPv4 address).', 0, 0, 100),
  runnerMaxTasks: int('Most runner tasks (scale-out bound).', 4, 1, 100),
  backlogPerTask: int('Queue backlog (visible + in flight) one runner task is expected to work through: tasks = ceil(backlog / backlogPerTask).', 500, 1, 1_000_000),
  scaleInAfterMin: int('Minutes the queue must stay empty before runners scale to runnerMinTasks.', 5, 1, 60),
  shutdownGraceMs: int('RUNNER_SHUTDOWN_GRACE_MS: on SIGTERM, how long running tasks may finish. ECS waits this + 15 s before SIGKILL (at most 120 s).', 25000, 0, 100_000),
  auroraMinCapacity: inProduction(num('Aurora Serverless v2 minimum ACUs of each instance. 0 pauses the database after auroraAutoPauseMin idle minutes; 0.5 or more never pauses (and is billed every hour).', 0, 0, 256), 0.5),
  auroraMaxCapacity: num('Aurora Serverless v2 maximum ACUs of each instance (also sets PostgreSQL\'s max_connections, which the connections alarm follows).', 4, 1, 256),
  auroraAutoPauseMin: int('Idle minutes before a 0-ACU database pauses.', 10, 5, 1440),
  auroraReader: inProduction(bool('A serverless v2 reader in the second AZ, promoted if the writer\'s AZ fails (it scales with the writer and is billed like it).', false), true),
  backupRetentionDays: int('Aurora automated backup retention in days.', 7, 1, 35),
  deletionProtection: inProduction(bool('Aurora deletion protection, and a final snapshot when the stack is deleted.', false), true),
  logRetentionDays: oneOf<string>('Retention of every log group, in days.', '30', ['1', '3', '5', '7', '14', '30', '60', '90', '120', '150', '180', '365', '400', '545', '731', '1096', '1827', '2192', '2557', '2922', '3288', '3653']),
  logLevel: oneOf<string>('LOG_LEVEL of the Lambdas and the runner.', 'info', ['debug', 'info', 'warn', 'error']),
  apiMemoryMiB: int('Memory of the API Lambda in MiB.', 1024, 128, 10240),
  apiReservedConcurrency: optInt('Reserved concurrency of the API Lambda (bounds its concurrent Data API calls). Unset: none (new accounts may not have enough concurrency to reserve).', 1, 10000),
  apiThrottleRate: int('HTTP API stage throttling: steady requests per second.', 50, 1, 10000),
  apiThrottleBurst: int('HTTP API stage throttling: burst.', 100, 1, 5000),
  judgeModel: optStr('EVALAP_JUDGE_MODEL: judge model of experiments that name none.'),
  judgeBaseUrl: optStr('EVALAP_JUDGE_BASE_URL: OpenAI-compatible base URL of judge models given by name. Its key goes in the provider keys secret.', /^https?:\/\/\S+$/),
  alarmEmail: optStr('E-mail address subscribed to the alarms topic (confirm the subscription mail). The topic exists either way.', /^[^@\s]+@[^@\s]+$/),
  oldestMessageAlarmSec: int('Alarm when the oldest queued task is older than this.', 3600, 60, 1_209_600),
  uiDir: str('Folder of the built web interface (index.html and assets/), relative to the repository or absolute, published to the UI bucket behind CloudFront. `npm run build` writes dist/ui; the synth stops if the folder has no index.html.', 'dist/ui'),
  // CloudFront takes certificates from ACM in us-east-1 only (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html).
  webDomainName: optStr('Custom domain name of the web interface and its API (a CloudFront alternate domain name, e.g. evalap.example.com); needs webCertificateArn. Point a CNAME or a Route 53 alias at the WebDistributionDomain output.', /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/),
  webCertificateArn: optStr('ARN of an ACM certificate in us-east-1 covering webDomainName (CloudFront takes certificates from that region only); needs webDomainName.', /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[A-Za-z0-9-]+$/),
  // A web ACL for CloudFront has the CLOUDFRONT scope, made in us-east-1; WebACLId takes its ARN (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DistributionConfig.html, WebACLId).
  webAclArn: optStr('ARN of an AWS WAF web ACL (scope CLOUDFRONT, made in us-east-1) attached to the CloudFront distribution. Unset: no WAF (a web ACL costs $5/month plus $1 per rule).', /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[^/\s]+\/[0-9a-f-]+$/),
} as const;

export type Settings = { [K in keyof typeof SETTINGS]: (typeof SETTINGS)[K] extends Setting<infer T> ? T : never };

/** Fargate CPU of the runner as a number, and the memory that goes with it. */
export function runnerSize(s: Settings): { cpu: number; memoryMiB: number; vcpus: number } {
  const cpu = Number(s.runnerCpu);
  const [min, max] = FARGATE_MEMORY[cpu];
  const memoryMiB = s.runnerMemoryMiB ?? Math.max(min, Math.min(max, (cpu / 1024) * 2048));
  if (memoryMiB < min || memoryMiB > max) throw new SettingError('runnerMemoryMiB', `must be between ${min} and ${max} for runnerCpu ${cpu}, got ${memoryMiB}`);
  if (cpu <= 1024 ? memoryMiB % 1024 !== 0 && memoryMiB !== 512 : memoryMiB % 1024 !== 0) {
    throw new SettingError('runnerMemoryMiB', `must be a multiple of 1024 (or 512 with runnerCpu 256), got ${memoryMiB}`);
  }
  return { cpu, memoryMiB, vcpus: Math.max(1, cpu / 1024) };
}

/** Reads every setting from the construct tree's context; throws `SettingError` on the first wrong one. */
export function readSettings(node: Node | { tryGetContext(key: string): unknown }): Settings {
  const given = (name: string) => node.tryGetContext(name) !== undefined;
  const production = given('production') ? SETTINGS.production.parse(node.tryGetContext('production'), 'production') : SETTINGS.production.default;
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = node.tryGetContext(name);
    out[name] = raw !== undefined ? setting.parse(raw, name) : production && 'production' in setting ? setting.production : setting.default;
  }
  const s = out as Settings;
  if (s.networkLayout === 'public') {
    // A NAT gateway or an endpoint asked for but never built would be a silent surprise.
    for (const name of ['natGateways', 'interfaceEndpoints'] as const) {
      if (given(name)) throw new SettingError(name, 'applies to networkLayout=private only (the public layout has no NAT gateway and no interface endpoint)');
    }
  }
  // An alternate domain name without a certificate is refused by CloudFront, and a certificate alone serves nothing.
  if ((s.webDomainName === undefined) !== (s.webCertificateArn === undefined)) {
    throw new SettingError(s.webDomainName === undefined ? 'webCertificateArn' : 'webDomainName', 'webDomainName and webCertificateArn go together: set both or neither');
  }
  if (s.runnerMinTasks > s.runnerMaxTasks) throw new SettingError('runnerMinTasks', `must be at most runnerMaxTasks (${s.runnerMaxTasks}), got ${s.runnerMinTasks}`);
  if (s.auroraMinCapacity > s.auroraMaxCapacity) throw new SettingError('auroraMinCapacity', `must be at most auroraMaxCapacity (${s.auroraMaxCapacity}), got ${s.auroraMinCapacity}`);
  if (s.auroraMinCapacity !== 0 && s.auroraMinCapacity < 0.5) throw new SettingError('auroraMinCapacity', 'must be 0 (auto-pause) or at least 0.5');
  if (s.auroraMaxCapacity * 2 !== Math.round(s.auroraMaxCapacity * 2) || s.auroraMinCapacity * 2 !== Math.round(s.auroraMinCapacity * 2)) {
    throw new SettingError('auroraMaxCapacity', 'Aurora capacities go in steps of 0.5 ACU');
  }
  if (s.runnerWorkerThreads !== undefined && s.runnerWorkerThreads > s.maxConcurrentTasks) {
    throw new SettingError('runnerWorkerThreads', `must be at most maxConcurrentTasks (${s.maxConcurrentTasks}), got ${s.runnerWorkerThreads}`);
  }
  runnerSize(s);
  return s;
}

/** ECS stop timeout: the runner's grace period, plus the longest poll (5 s) and its commit and release, at most 120 s. */
export function stopTimeoutSec(s: Settings): number {
  return Math.min(120, Math.ceil(s.shutdownGraceMs / 1000) + 15);
}
