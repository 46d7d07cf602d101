/**
 * The idle monthly cost of a synthesized CloudFormation template: what the
 * stack costs deployed with nothing happening (no request, no task queued,
 * runners at their minimum, Aurora paused when its minimum is 0 ACU). A pure
 * function of the template's JSON, so README.md's figures are computed from
 * the very templates `cdk synth` makes (test/cdk/cost.test.ts).
 *
 * Every line item comes from resources found in the template and names
 * them. Usage-priced things (requests, data processed, log ingestion, ACUs
 * while active, Fargate while scaled out, CloudFront, the UI's and the logs'
 * few megabytes in S3) are 0 at rest and left out; the README's per-million
 * estimates cover them.
 *
 * Prices: AWS on-demand list prices for us-east-1, in US dollars, from the
 * pricing pages named in PRICES.sources, transcribed on PRICES.asOf (they
 * change: re-check them there). Free tiers are not counted.
 */

/** One price, its unit, and where it comes from. */
export const PRICES = {
  asOf: '2026-11-30',
  region: 'us-east-1',
  hoursPerMonth: 730,
  natGatewayHour: 0.045,
  publicIpv4Hour: 0.005,
  interfaceEndpointAzHour: 0.01,
  secretMonth: 0.4,
  kmsKeyMonth: 1.0,
  alarmMetricMonth: 0.1,
  highResolutionAlarmMetricMonth: 0.3,
  compositeAlarmMonth: 0.5,
  dashboardMonth: 3.0,
  auroraServerlessAcuHour: 0.12,
  auroraStorageGbMonth: 0.1,
  fargateArmVcpuHour: 0.03238,
  fargateArmGbHour: 0.00356,
  fargateX86VcpuHour: 0.04048,
  fargateX86GbHour: 0.004445,
  ecrGbMonth: 0.1,
  // Usage-priced (nothing at rest), for README.md's per-request estimates: the web interface and the API through CloudFront.
  cloudfrontHttpsRequestsPer10k: 0.01,
  cloudfrontDataOutGb: 0.085,
  s3GetRequestsPer1k: 0.0004,
  s3StandardGbMonth: 0.023,
  sources: [
    'https://aws.amazon.com/vpc/pricing/ (NAT gateway, public IPv4 address, interface endpoints)',
    'https://aws.amazon.com/secrets-manager/pricing/',
    'https://aws.amazon.com/kms/pricing/',
    'https://aws.amazon.com/cloudwatch/pricing/ (alarms per metric, dashboards)',
    'https://aws.amazon.com/rds/aurora/pricing/ (Serverless v2 ACU-hour, Aurora Standard storage)',
    'https://aws.amazon.com/fargate/pricing/',
    'https://aws.amazon.com/ecr/pricing/',
    'https://aws.amazon.com/cloudfront/pricing/ (pay as you go, North America and Europe: HTTPS requests, data transfer out after the free tier)',
    'https://aws.amazon.com/s3/pricing/ (S3 Standard: GET requests, storage)',
  ],
} as const;

/** What the template cannot say, assumed instead (each line that uses one says so). */
export const ASSUMPTIONS = {
  /** Aurora storage of a young platform's database (Aurora bills what is stored; backups up to that size are free). */
  auroraStorageGb: 1,
  /** The runner image in the CDK assets repository. */
  runnerImageGb: 0.3,
} as const;

export interface CostLine {
  /** What is billed, e.g. "NAT gateway". */
  item: string;
  quantity: number;
  /** The quantity's unit, e.g. "gateway-hours", "secrets". */
  unit: string;
  unitPrice: number;
  /** Dollars per month, rounded to the cent. */
  monthly: number;
  /** Logical ids of the template's resources the line is derived from. */
  resources: string[];
  note?: string;
}

export interface IdleCost {
  lines: CostLine[];
  /** Sum of the lines' (rounded) monthly amounts. */
  total: number;
}

export class CostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostError';
  }
}

type Json = Record<string, any>;
export interface CfnTemplate {
  Resources?: Record<string, { Type: string; Properties?: Json }>;
}

const cents = (x: number) => Math.round(x * 100) / 100;
const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at. */
const target = (x: unknown): string | undefined => {
  const v = x as Json | undefined;
  return typeof v?.Ref === 'string' ? v.Ref : Array.isArray(v?.['Fn::GetAtt']) ? v['Fn::GetAtt'][0] : undefined;
};

export function idleMonthlyCost(template: CfnTemplate): IdleCost {
  const resources = Object.entries(template.Resources ?? {});
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const props = (id: string): Json => template.Resources?.[id]?.Properties ?? {};
  const H = PRICES.hoursPerMonth;
  const lines: CostLine[] = [];
  const add = (line: Omit<CostLine, 'monthly'>) => {
    if (line.quantity > 0) lines.push({ ...line, monthly: cents(line.quantity * line.unitPrice) });
  };

  const nats = ofType('AWS::EC2::NatGateway').map(([id]) => id);
  add({ item: 'NAT gateway', quantity: nats.length * H, unit: 'gateway-hours', unitPrice: PRICES.natGatewayHour, resources: nats, note: 'plus $0.045 per GB processed' });

  const eips = ofType('AWS::EC2::EIP').map(([id]) => id);
  add({ item: 'Elastic IP (public IPv4 address)', quantity: eips.length * H, unit: 'address-hours', unitPrice: PRICES.publicIpv4Hour, resources: eips });

  const endpoints = ofType('AWS::EC2::VPCEndpoint').filter(([, r]) => r.Properties?.VpcEndpointType === 'Interface');
  add({
    item: 'VPC interface endpoints',
    quantity: endpoints.reduce((n, [, r]) => n + list(r.Properties?.SubnetIds).length, 0) * H,
    unit: 'endpoint-AZ-hours',
    unitPrice: PRICES.interfaceEndpointAzHour,
    resources: endpoints.map(([id]) => id),
    note: 'one network interface per endpoint and AZ; plus $0.01 per GB',
  });

  // Secrets Manager bills the secrets RDS manages like any other.
  const secrets = [
    ...ofType('AWS::SecretsManager::Secret').map(([id]) => id),
    ...[...ofType('AWS::RDS::DBCluster'), ...ofType('AWS::RDS::DBInstance')].filter(([, r]) => r.Properties?.ManageMasterUserPassword === true).map(([id]) => id),
  ];
  add({ item: 'Secrets Manager secrets (incl. RDS-managed)', quantity: secrets.length, unit: 'secrets', unitPrice: PRICES.secretMonth, resources: secrets });

  const keys = ofType('AWS::KMS::Key').map(([id]) => id);
  add({ item: 'KMS customer managed keys', quantity: keys.length, unit: 'keys', unitPrice: PRICES.kmsKeyMonth, resources: keys, note: 'each of the first two yearly rotations adds $1/month' });

  // CloudWatch bills an alarm per metric it evaluates (math expressions: per metric used), more at high resolution (< 60 s).
  const alarms = ofType('AWS::CloudWatch::Alarm');
  const alarmMetrics = (r: Json) => (r.MetricName ? [r.Period] : list<Json>(r.Metrics).filter((m) => m.MetricStat).map((m) => m.MetricStat.Period));
  const periods = alarms.flatMap(([, r]) => alarmMetrics(r.Properties ?? {}));
  const highResolution = periods.filter((p) => typeof p === 'number' && p < 60).length;
  add({ item: 'CloudWatch alarms', quantity: periods.length - highResolution, unit: 'alarm metrics', unitPrice: PRICES.alarmMetricMonth, resources: alarms.map(([id]) => id) });
  add({ item: 'CloudWatch high-resolution alarms', quantity: highResolution, unit: 'alarm metrics', unitPrice: PRICES.highResolutionAlarmMetricMonth, resources: alarms.map(([id]) => id) });
  const composites = ofType('AWS::CloudWatch::CompositeAlarm').map(([id]) => id);
  add({ item: 'CloudWatch composite alarms', quantity: composites.length, unit: 'alarms', unitPrice: PRICES.compositeAlarmMonth, resources: composites });

  const dashboards = ofType('AWS::CloudWatch::Dashboard').map(([id]) => id);
  add({ item: 'CloudWatch dashboards', quantity: dashboards.length, unit: 'dashboards', unitPrice: PRICES.dashboardMonth, resources: dashboards, note: 'free if the account has at most 3 dashboards' });

  // Aurora: each serverless v2 instance is billed at least its cluster's minimum capacity, unless it may pause (0 ACU).
  const clusters = ofType('AWS::RDS::DBCluster');
  for (const [id, r] of ofType('AWS::RDS::DBInstance')) {
    const p = r.Properties ?? {};
    const clusterId = target(p.DBClusterIdentifier);
    if (!clusterId) continue;
    if (p.DBInstanceClass !== 'db.serverless') throw new CostError(`no price for Aurora instance class ${JSON.stringify(p.DBInstanceClass)} (${id})`);
    const min = Number(props(clusterId).ServerlessV2ScalingConfiguration?.MinCapacity ?? 0.5);
    add({
      item: `Aurora Serverless v2 instance ${id} at its minimum (${min} ACU)`,
      quantity: min * H,
      unit: 'ACU-hours',
      unitPrice: PRICES.auroraServerlessAcuHour,
      resources: [id, clusterId],
    });
  }
  add({
    item: 'Aurora storage',
    quantity: clusters.length * ASSUMPTIONS.auroraStorageGb,
    unit: 'GB-months',
    unitPrice: PRICES.auroraStorageGbMonth,
    resources: clusters.map(([cid]) => cid),
    note: `assumes ${ASSUMPTIONS.auroraStorageGb} GB stored per cluster`,
  });

  // Fargate tasks kept running: the service's autoscaling minimum (or its desired count without autoscaling).
  const scalableTargets = ofType('AWS::ApplicationAutoScaling::ScalableTarget');
  for (const [id, r] of ofType('AWS::ECS::Service')) {
    const p = r.Properties ?? {};
    const scaling = scalableTargets.find(([, t]) => JSON.stringify(t.Properties?.ResourceId ?? '').includes(`"${id}"`));
    const warm = Number(scaling ? scaling[1].Properties?.MinCapacity : (p.DesiredCount ?? 1));
    if (warm === 0) continue;
    if (p.LaunchType !== 'FARGATE') throw new CostError(`no price for ECS service ${id}: launch type ${JSON.stringify(p.LaunchType)}`);
    const taskDefinitionId = target(p.TaskDefinition);
    const td = taskDefinitionId ? props(taskDefinitionId) : {};
    const vcpu = Number(td.Cpu) / 1024;
    const gb = Number(td.Memory) / 1024;
    if (!(vcpu > 0 && gb > 0)) throw new CostError(`ECS service ${id}: its task definition has no CPU and memory the estimate can read`);
    const arm = td.RuntimePlatform?.CpuArchitecture === 'ARM64';
    const hourly = vcpu * (arm ? PRICES.fargateArmVcpuHour : PRICES.fargateX86VcpuHour) + gb * (arm ? PRICES.fargateArmGbHour : PRICES.fargateX86GbHour);
    const used = [id, ...(taskDefinitionId ? [taskDefinitionId] : []), ...(scaling ? [scaling[0]] : [])];
    add({ item: `Fargate tasks kept warm (${vcpu} vCPU, ${gb} GB, ${arm ? 'ARM64' : 'x86-64'})`, quantity: warm * H, unit: 'task-hours', unitPrice: hourly, resources: used });
    if (p.NetworkConfiguration?.AwsvpcConfiguration?.AssignPublicIp === 'ENABLED') {
      add({ item: 'Public IPv4 addresses of the warm tasks', quantity: warm * H, unit: 'address-hours', unitPrice: PRICES.publicIpv4Hour, resources: used });
    }
  }

  // Images of task definitions built by CDK live in the bootstrap's assets repository.
  const assetImages = ofType('AWS::ECS::TaskDefinition').filter(([, r]) => JSON.stringify(r.Properties?.ContainerDefinitions ?? []).includes('container-assets'));
  add({
    item: 'Container image in ECR',
    quantity: assetImages.length * ASSUMPTIONS.runnerImageGb,
    unit: 'GB-months',
    unitPrice: PRICES.ecrGbMonth,
    resources: assetImages.map(([id]) => id),
    note: `assumes ${ASSUMPTIONS.runnerImageGb} GB per image; old images stay in the repository until removed`,
  });

  return { lines, total: cents(lines.reduce((sum, l) => sum + l.monthly, 0)) };
}
