/**
 * The idle monthly cost (cdk/cost.ts) of the templates `cdk synth` makes:
 * the default is at most $10/month, README.md states exactly what is
 * computed for the default, the private layout and the production profile,
 * and each line item follows from resources in the template (adding or
 * removing one moves the total by its price, no more).
 */
import fs from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { CostError, idleMonthlyCost, PRICES, type CfnTemplate, type IdleCost } from '../../cdk/cost.js';
import { removeOutdir, repoRoot, synth } from './synth.js';

type Json = Record<string, any>;

const templateOf = (context: Record<string, unknown>): CfnTemplate => {
  const { stack, outdir } = synth({ context });
  try {
    return Template.fromStack(stack).toJSON() as CfnTemplate;
  } finally {
    removeOutdir(outdir);
  }
};

let base: CfnTemplate;
let costs: Record<'default' | 'private' | 'production', IdleCost>;

beforeAll(() => {
  base = templateOf({});
  costs = {
    default: idleMonthlyCost(base),
    private: idleMonthlyCost(templateOf({ networkLayout: 'private' })),
    production: idleMonthlyCost(templateOf({ production: 'true' })),
  };
}, 120_000);

/** A copy of the default template with resources added, replaced or (undefined) removed. */
const withResources = (changes: Record<string, Json | undefined>): CfnTemplate => {
  const t = structuredClone(base) as Json;
  for (const [id, r] of Object.entries(changes)) {
    if (r === undefined) delete t.Resources[id];
    else t.Resources[id] = r;
  }
  return t;
};
const idsOf = (t: CfnTemplate, type: string) => Object.entries(t.Resources ?? {}).filter(([, r]) => r.Type === type).map(([id]) => id);
const delta = (t: CfnTemplate) => Math.round((idleMonthlyCost(t).total - costs.default.total) * 100) / 100;
const H = PRICES.hoursPerMonth;

/** The "## Deploy to AWS" section of README.md. */
function deploySection(): string {
  const readme = fs.readFileSync(`${repoRoot}/README.md`, 'utf8');
  const start = readme.indexOf('\n## Deploy to AWS\n');
  const end = readme.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThan(0);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('idle monthly cost of the synthesized templates', () => {
  it('is at most $10/month with the default settings', () => {
    process.stdout.write(`idle $/month: default ${costs.default.total}, private ${costs.private.total}, production ${costs.production.total}\n`);
    expect(costs.default.total).toBeLessThanOrEqual(10);
    expect(costs.default.total).toBeGreaterThan(0);
    // Nothing in the default pays by the hour for networking.
    expect(costs.default.lines.map((l) => l.item).filter((i) => /NAT|Elastic IP|endpoint|IPv4/.test(i))).toEqual([]);
  });

  it('costs the private layout exactly one NAT gateway and its address more than the default', () => {
    const extra = costs.private.lines.filter((l) => !costs.default.lines.some((d) => d.item === l.item && d.monthly === l.monthly));
    expect(extra.map((l) => [l.item, l.monthly])).toEqual([
      ['NAT gateway', 32.85],
      ['Elastic IP (public IPv4 address)', 3.65],
    ]);
    expect(costs.private.total).toBeCloseTo(costs.default.total + 36.5, 2);
  });

  it('costs the production profile its writer and its reader at 0.5 ACU every hour more than the default', () => {
    const aurora = costs.production.lines.filter((l) => l.item.startsWith('Aurora Serverless v2 instance'));
    expect(aurora.map((l) => [l.quantity, l.unit, l.monthly])).toEqual([
      [365, 'ACU-hours', 43.8],
      [365, 'ACU-hours', 43.8],
    ]);
    expect(costs.production.total).toBeCloseTo(costs.default.total + 87.6, 2);
  });

  it('derives every line from resources of the template, at its quantity times its unit price', () => {
    for (const [name, cost] of Object.entries(costs)) {
      expect(cost.lines.length).toBeGreaterThan(3);
      for (const line of cost.lines) {
        expect([name, line.item, line.resources.length > 0]).toEqual([name, line.item, true]);
        expect([name, line.item, line.monthly]).toEqual([name, line.item, Math.round(line.quantity * line.unitPrice * 100) / 100]);
      }
      expect(cost.total).toBeCloseTo(cost.lines.reduce((s, l) => s + l.monthly, 0), 2);
    }
    const ids = new Set(Object.keys(base.Resources ?? {}));
    for (const line of costs.default.lines) for (const id of line.resources) expect([line.item, ids.has(id)]).toEqual([line.item, true]);
    // The default's lines: the managed database secret is counted with the two application secrets, alarms per metric.
    const by = (item: RegExp) => costs.default.lines.find((l) => item.test(l.item))!;
    expect(by(/^Secrets Manager/).resources.sort()).toEqual([...idsOf(base, 'AWS::SecretsManager::Secret'), ...idsOf(base, 'AWS::RDS::DBCluster')].sort());
    expect(by(/^KMS/).resources).toEqual(idsOf(base, 'AWS::KMS::Key'));
    expect(by(/^CloudWatch alarms/).resources.sort()).toEqual(idsOf(base, 'AWS::CloudWatch::Alarm').sort());
    expect(by(/^CloudWatch dashboards/).resources).toEqual(idsOf(base, 'AWS::CloudWatch::Dashboard'));
  });

  it('counts an alarm per metric it evaluates: a math expression over two metrics costs two', () => {
    const backlog = Object.values(base.Resources ?? {}).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties?.Metrics);
    expect(backlog.length).toBeGreaterThan(0);
    const alarms = Object.values(base.Resources ?? {}).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    const metrics = alarms.reduce((n, r) => n + (r.Properties?.MetricName ? 1 : (r.Properties?.Metrics as Json[]).filter((m) => m.MetricStat).length), 0);
    expect(costs.default.lines.find((l) => l.item === 'CloudWatch alarms')!.quantity).toBe(metrics);
    expect(metrics).toBeGreaterThan(alarms.length);
  });

  it('adds the price of what is added: a NAT gateway, an Elastic IP, an interface endpoint in two AZs, a secret, a high-resolution alarm', () => {
    const subnets = idsOf(base, 'AWS::EC2::Subnet').slice(0, 2).map((id) => ({ Ref: id }));
    expect(delta(withResources({ ExtraNat: { Type: 'AWS::EC2::NatGateway', Properties: {} } }))).toBe(32.85);
    expect(delta(withResources({ ExtraEip: { Type: 'AWS::EC2::EIP', Properties: {} } }))).toBe(3.65);
    expect(delta(withResources({ ExtraEndpoint: { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Interface', SubnetIds: subnets } } }))).toBe(14.6);
    expect(delta(withResources({ ExtraGateway: { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Gateway' } } }))).toBe(0);
    expect(delta(withResources({ ExtraSecret: { Type: 'AWS::SecretsManager::Secret', Properties: {} } }))).toBe(0.4);
    expect(delta(withResources({ FastAlarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'X', Period: 10 } } }))).toBe(0.3);
    const nat = idleMonthlyCost(withResources({ ExtraNat: { Type: 'AWS::EC2::NatGateway', Properties: {} } })).lines.find((l) => l.item === 'NAT gateway')!;
    expect(nat).toMatchObject({ quantity: H, unitPrice: 0.045, resources: ['ExtraNat'] });
  });

  it('subtracts the price of what is removed: the KMS key, the dashboard', () => {
    const [key] = idsOf(base, 'AWS::KMS::Key');
    const [dashboard] = idsOf(base, 'AWS::CloudWatch::Dashboard');
    expect(delta(withResources({ [key]: undefined }))).toBe(-1);
    expect(delta(withResources({ [dashboard]: undefined }))).toBe(-3);
    expect(idleMonthlyCost(withResources({ [key]: undefined })).lines.some((l) => l.item.startsWith('KMS'))).toBe(false);
  });

  it('prices warm Fargate runners and their public addresses from the scaling minimum and the task size', () => {
    const [targetId] = idsOf(base, 'AWS::ApplicationAutoScaling::ScalableTarget');
    const target = structuredClone(base.Resources![targetId]);
    target.Properties!.MinCapacity = 2;
    const cost = idleMonthlyCost(withResources({ [targetId]: target }));
    const fargate = cost.lines.find((l) => l.item.startsWith('Fargate'))!;
    // 1 vCPU and 2 GB on ARM64: $0.03238 + 2 × $0.00356 an hour.
    expect(fargate).toMatchObject({ quantity: 2 * H, monthly: Math.round(2 * H * (0.03238 + 2 * 0.00356) * 100) / 100 });
    expect(cost.lines.find((l) => l.item.startsWith('Public IPv4'))).toMatchObject({ quantity: 2 * H, monthly: 7.3 });
  });

  it('prices Aurora instances at their cluster\'s minimum ACUs, nothing when it may pause, and refuses instance classes it has no price for', () => {
    const [clusterId] = idsOf(base, 'AWS::RDS::DBCluster');
    const cluster = structuredClone(base.Resources![clusterId]);
    cluster.Properties!.ServerlessV2ScalingConfiguration.MinCapacity = 1;
    expect(delta(withResources({ [clusterId]: cluster }))).toBe(87.6);
    expect(costs.default.lines.some((l) => l.item.startsWith('Aurora Serverless v2 instance'))).toBe(false);
    const [instanceId] = idsOf(base, 'AWS::RDS::DBInstance');
    const provisioned = structuredClone(base.Resources![instanceId]);
    provisioned.Properties!.DBInstanceClass = 'db.r6g.large';
    expect(() => idleMonthlyCost(withResources({ [instanceId]: provisioned }))).toThrow(CostError);
  });

  it('costs nothing for a template with nothing billed at rest', () => {
    expect(idleMonthlyCost({ Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: {} } } })).toEqual({ lines: [], total: 0 });
    expect(idleMonthlyCost({})).toEqual({ lines: [], total: 0 });
  });
});

describe('README.md, "Deploy to AWS"', () => {
  const money = (x: number) => x.toFixed(2);

  it('states the idle totals computed for the default, the private layout and the production profile', () => {
    const section = deploySection();
    const stated = Object.fromEntries([...section.matchAll(/^\| (default|private layout|production profile) \| [^|]+ \| \*\*\$([\d.]+)\*\* \|$/gm)].map((m) => [m[1], m[2]]));
    expect(stated).toEqual({ default: money(costs.default.total), 'private layout': money(costs.private.total), 'production profile': money(costs.production.total) });
  });

  it('itemizes the default\'s idle cost line by line as computed', () => {
    const section = deploySection();
    for (const line of costs.default.lines) {
      const row = section.split('\n').find((l) => l.startsWith(`| ${line.item} |`));
      expect([line.item, row?.trim().endsWith(`| ${money(line.monthly)} |`)]).toEqual([line.item, true]);
    }
  });

  it('prices requests through CloudFront from the price table, and counts nothing of the web interface at rest', () => {
    const section = deploySection();
    const perMillion = money(PRICES.cloudfrontHttpsRequestsPer10k * 100);
    expect(section).toContain(`10⁶ × $${PRICES.cloudfrontHttpsRequestsPer10k.toFixed(4)} per 10,000 = **$${perMillion}** per million HTTPS`);
    expect(section).toContain(`$${PRICES.cloudfrontDataOutGb} per GB out`);
    // The distribution and the UI's buckets are in the template, and bill nothing by the hour or month.
    const web = ['AWS::CloudFront::Distribution', 'AWS::S3::Bucket'].flatMap((type) => idsOf(base, type));
    expect(web.length).toBe(3);
    expect(delta(withResources(Object.fromEntries(web.map((id) => [id, undefined]))))).toBe(0);
  });

  it('names the price table\'s date and region', () => {
    const section = deploySection();
    expect(section).toContain(PRICES.asOf);
    expect(section).toContain(PRICES.region);
  });
});
