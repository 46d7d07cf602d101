/**
 * The CDK stack, synthesized once as `cdk synth` would (cdk.json's context,
 * Lambdas bundled by the local esbuild, CloudFormation schema validation on),
 * then checked resource by resource, and against cdk-nag's AwsSolutions pack.
 * Variants (the private network layout, the production profile, other
 * context values) synthesize without bundling.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Token, type CfnElement } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { maxConnections } from '../../cdk/database.js';
import { backlogSteps } from '../../cdk/runner.js';
import { readSettings, SettingError } from '../../cdk/settings.js';
import type { EvalapStack } from '../../cdk/stack.js';
import { removeOutdir, synth } from './synth.js';

type Json = Record<string, any>;

let stack: EvalapStack;
let template: Template;
let resources: Record<string, Json>;
let outdir: string;
let annotations: Annotations;
let synthMs: number;

beforeAll(() => {
  const start = Date.now();
  ({ stack, outdir } = synth({ bundle: true, validate: true }));
  synthMs = Date.now() - start;
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
  annotations = annotationsOf(stack);
}, 180_000);

afterAll(() => removeOutdir(outdir));

/** cdk-nag's findings; synthesizes once more (forced), without the schema validation already done. */
function annotationsOf(s: EvalapStack): Annotations {
  const validation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    return Annotations.fromStack(s);
  } finally {
    if (validation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = validation;
  }
}

const logicalId = (s: EvalapStack, construct: IConstruct) => s.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
const idOf = (construct: IConstruct) => logicalId(stack, construct);
const typed = (res: Record<string, Json>, type: string) => Object.entries(res).filter(([, r]) => r.Type === type);
const ofType = (type: string) => typed(resources, type);
const one = (type: string): [string, Json] => {
  const found = ofType(type);
  expect(found).toHaveLength(1);
  return found[0];
};
const envOf = (vars: { Name: string; Value: unknown }[]) => Object.fromEntries(vars.map((v) => [v.Name, v.Value]));
const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const dependsOn = (r: Json): string[] => list(r.DependsOn);

/** Every statement of every identity policy (managed, inline and role policies) in the template. */
function identityStatements(res: Record<string, Json>): { policy: string; statement: Json }[] {
  const out: { policy: string; statement: Json }[] = [];
  for (const [id, r] of Object.entries(res)) {
    const docs: Json[] = [];
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') docs.push(r.Properties.PolicyDocument);
    if (r.Type === 'AWS::IAM::Role') for (const p of r.Properties.Policies ?? []) docs.push(p.PolicyDocument);
    for (const doc of docs) for (const statement of doc.Statement) out.push({ policy: id, statement });
  }
  return out;
}

/** The statements of the policies attached to `role`. */
function roleStatements(res: Record<string, Json>, roleId: string): Json[] {
  return identityStatements(res)
    .filter(({ policy }) => res[policy].Properties.Roles?.some((r: Json) => r.Ref === roleId))
    .map(({ statement }) => statement);
}

/** The subnet ids of a route table's associations, and its routes. */
function routesOf(res: Record<string, Json>, subnetId: string): Json[] {
  const association = Object.values(res).find((r) => r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && r.Properties.SubnetId.Ref === subnetId)!;
  return typed(res, 'AWS::EC2::Route')
    .filter(([, r]) => r.Properties.RouteTableId.Ref === association.Properties.RouteTableId.Ref)
    .map(([, r]) => r.Properties);
}

const ALARM_TOPIC = () => idOf(stack.monitoring.topic);
const alarmsTo = (res: Record<string, Json>, topicId: string) =>
  typed(res, 'AWS::CloudWatch::Alarm')
    .map(([id, a]) => ({ id, ...a.Properties }))
    .filter((a) => a.AlarmActions?.some((x: Json) => x.Ref === topicId));

describe('the synthesized stack (default settings)', () => {
  it('synthesizes offline, bundling the three Lambdas (API, schedule, migrations) with the local esbuild', () => {
    // Reported, not asserted: the machine's load varies.
    process.stdout.write(`cdk synth (bundling + validation) took ${synthMs} ms\n`);
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
    const bundles = Object.values(assets.files as Record<string, Json>)
      .map((f) => path.join(outdir, f.source.path))
      .filter((p) => fs.existsSync(path.join(p, 'index.mjs')));
    expect(bundles).toHaveLength(3);
    for (const dir of bundles) {
      const code = fs.readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      expect(code).toContain('createRequire');
      expect(code).toMatch(/export\s*\{[^}]*\bas handler\b|export\s*\{[^}]*\bhandler\b/);
    }
    // Each function's code is one of them.
    for (const fn of [stack.api.function, stack.schedules.function, stack.migrations.function]) {
      const code = resources[idOf(fn)].Properties.Code;
      expect(code.S3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
      expect(bundles.map((b) => path.basename(b))).toContain(`asset.${code.S3Key.replace('.zip', '')}`);
    }
  });

  it('bundles Lambdas that load on their own: each bundle, alone in an empty folder with an empty environment, exports a handler function', () => {
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
    const bundles = Object.values(assets.files as Record<string, Json>)
      .map((f) => path.join(outdir, f.source.path, 'index.mjs'))
      .filter((p) => fs.existsSync(p));
    for (const bundle of bundles) {
      // Outside the repository: no node_modules to fall back on, as in Lambda.
      const alone = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-bundle-'));
      try {
        fs.copyFileSync(bundle, path.join(alone, 'index.mjs'));
        const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('./index.mjs'); process.stdout.write(typeof m.handler);"], {
          cwd: alone,
          env: { PATH: process.env.PATH ?? '' },
          encoding: 'utf8',
        });
        expect([path.basename(path.dirname(bundle)), out]).toEqual([path.basename(path.dirname(bundle)), 'function']);
      } finally {
        fs.rmSync(alone, { recursive: true, force: true });
      }
    }
  });

  it('passes cdk-nag AwsSolutions: no unsuppressed error or warning', () => {
    const errors = annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data).slice(0, 120)}`)).toEqual([]);
    const warnings = annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(warnings.map((w) => `${w.id}: ${String(w.entry.data).slice(0, 120)}`)).toEqual([]);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('CdkNagValidationFailure.*'))).toEqual([]);
  });

  it('gives every cdk-nag suppression a reason, and suppresses nothing about rotation Lambdas or VPC network interfaces any more', () => {
    const suppressions = Object.values(resources).flatMap((r) => (r.Metadata?.cdk_nag?.rules_to_suppress ?? []) as Json[]);
    expect(suppressions.length).toBeGreaterThan(0);
    for (const s of suppressions) {
      expect(s.id).toMatch(/^AwsSolutions-/);
      expect(typeof s.reason).toBe('string');
      expect(s.reason.length).toBeGreaterThan(40);
      expect(s.reason).not.toMatch(/CreateNetworkInterface|rotated every 30 days|Serverless Application Repository/);
    }
  });

  it('is protected against termination', () => {
    expect(stack.terminationProtection).toBe(true);
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts[stack.artifactId].properties.terminationProtection).toBe(true);
  });

  it('has the tasks queue and its DLQ: SSE, TLS only, redrive after maxReceiveCount, the runner\'s visibility timeout', () => {
    const queueId = idOf(stack.tasks.queue);
    const dlqId = idOf(stack.tasks.deadLetterQueue);
    const queue = resources[queueId].Properties;
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(queue.VisibilityTimeout).toBe(20);
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 10 });
    expect(resources[dlqId].Properties.SqsManagedSseEnabled).toBe(true);
    for (const id of [queueId, dlqId, idOf(stack.schedules.deadLetterQueue)]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('runs no Lambda in a VPC, and grants no network-interface action to anyone', () => {
    const functions = ofType('AWS::Lambda::Function');
    // API, schedule, migrations, the CDK Trigger's provider, and the web interface's S3 deployment handler.
    expect(functions).toHaveLength(5);
    for (const [id, fn] of functions) expect([id, fn.Properties.VpcConfig]).toEqual([id, undefined]);
    const actions = identityStatements(resources).flatMap(({ statement }) => list(statement.Action) as string[]);
    expect(actions.filter((a) => /^ec2:/.test(a))).toEqual([]);
  });

  it('runs the API Lambda on Node.js 22, ARM64, traced, with the Data API variables and no PostgreSQL connection settings', () => {
    const fn = resources[idOf(stack.api.function)].Properties;
    expect(fn.Runtime).toBe('nodejs22.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.Timeout).toBeLessThanOrEqual(30);
    const logGroup = resources[fn.LoggingConfig.LogGroup.Ref];
    expect(logGroup.Properties.RetentionInDays).toBe(30);
    const env = fn.Environment.Variables;
    const clusterId = idOf(stack.database.cluster);
    expect(env).toMatchObject({
      QUEUE_URL: { Ref: idOf(stack.tasks.queue) },
      DATABASE_RESOURCE_ARN: { 'Fn::GetAtt': [clusterId, 'DBClusterArn'] },
      DATABASE_SECRET_ARN: { 'Fn::GetAtt': [clusterId, 'MasterUserSecret.SecretArn'] },
      PGDATABASE: 'evalap',
      EVALAP_API_KEYS_SECRET_ARN: { Ref: idOf(stack.secrets.apiKeys) },
      EVALAP_KMS_KEY_ID: { 'Fn::GetAtt': [idOf(stack.secrets.providerKeyEncryption), 'Arn'] },
      LOG_LEVEL: 'info',
    });
    for (const name of ['PGSSLMODE', 'NODE_EXTRA_CA_CERTS', 'PGHOST', 'PGUSER', 'PGPASSWORD', 'PGPORT']) expect([name, env[name]]).toEqual([name, undefined]);
    // Secrets are never in the environment in clear.
    expect(JSON.stringify(env)).not.toMatch(/EVALAP_ADMIN_KEY"|EVALAP_SECRET_KEY/);
  });

  it('gives the schedule and migrations Lambdas the same variables (Data API, queue, KMS key, shared settings), and the migrations 5 minutes', () => {
    const schedule = resources[idOf(stack.schedules.function)].Properties;
    const migrate = resources[idOf(stack.migrations.function)].Properties;
    // Only the schedule Lambda resolves judge names (at launch): the migrations need no provider key.
    const { EVALAP_PROVIDER_KEYS_SECRET_ARN, ...scheduleRest } = schedule.Environment.Variables;
    expect(EVALAP_PROVIDER_KEYS_SECRET_ARN).toEqual({ Ref: idOf(stack.secrets.providerKeys) });
    expect(migrate.Environment.Variables).toEqual(scheduleRest);
    expect(schedule.Environment.Variables).toMatchObject({
      DATABASE_RESOURCE_ARN: { 'Fn::GetAtt': [idOf(stack.database.cluster), 'DBClusterArn'] },
      DATABASE_SECRET_ARN: { 'Fn::GetAtt': [idOf(stack.database.cluster), 'MasterUserSecret.SecretArn'] },
      PGDATABASE: 'evalap',
      QUEUE_URL: { Ref: idOf(stack.tasks.queue) },
      EVALAP_KMS_KEY_ID: { 'Fn::GetAtt': [idOf(stack.secrets.providerKeyEncryption), 'Arn'] },
      LOG_LEVEL: 'info',
    });
    expect(schedule.Environment.Variables.PGSSLMODE).toBeUndefined();
    expect(migrate).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 300, Handler: 'index.handler' });
  });

  it('lets the three Lambdas use the Data API on this cluster and read its managed secret, nothing wider', () => {
    const clusterId = idOf(stack.database.cluster);
    for (const fn of [stack.api.function, stack.schedules.function, stack.migrations.function]) {
      const statements = roleStatements(resources, idOf(fn.role!));
      const data = statements.filter((st) => list(st.Action).some((a: string) => a.startsWith('rds-data:')));
      expect(data).toHaveLength(1);
      expect([...list(data[0].Action)].sort()).toEqual([
        'rds-data:BatchExecuteStatement',
        'rds-data:BeginTransaction',
        'rds-data:CommitTransaction',
        'rds-data:ExecuteStatement',
        'rds-data:RollbackTransaction',
      ]);
      expect(data[0].Resource).toEqual({ 'Fn::GetAtt': [clusterId, 'DBClusterArn'] });
      const secret = statements.filter((st) => JSON.stringify(st.Resource).includes('MasterUserSecret.SecretArn'));
      expect(secret).toEqual([expect.objectContaining({ Action: 'secretsmanager:GetSecretValue' })]);
    }
  });

  it('lets the API and the schedule Lambda read the judge providers\' keys, which they resolve judge names with, and not the migrations', () => {
    const providerKeys = idOf(stack.secrets.providerKeys);
    const reads = (fn: { role?: IConstruct }) => roleStatements(resources, idOf(fn.role!)).filter((st) => JSON.stringify(st.Resource ?? '').includes(providerKeys));
    for (const fn of [stack.api.function, stack.schedules.function]) {
      expect(resources[idOf(fn)].Properties.Environment.Variables.EVALAP_PROVIDER_KEYS_SECRET_ARN).toEqual({ Ref: providerKeys });
      expect(reads(fn).flatMap((st) => list(st.Action))).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue']));
    }
    expect(reads(stack.migrations.function)).toEqual([]);
  });

  it('puts an HTTP API with access logs and throttling in front of the API Lambda', () => {
    const [apiId, api] = one('AWS::ApiGatewayV2::Api');
    expect(api.Properties.ProtocolType).toBe('HTTP');
    const [, integration] = one('AWS::ApiGatewayV2::Integration');
    expect(integration.Properties).toMatchObject({ ApiId: { Ref: apiId }, IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain(idOf(stack.api.function));
    const [, route] = one('AWS::ApiGatewayV2::Route');
    expect(route.Properties.RouteKey).toBe('$default');
    const [, stage] = one('AWS::ApiGatewayV2::Stage');
    expect(stage.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } });
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [idOf(stack.api.accessLogs), 'Arn'] });
  });

  it('runs Aurora Serverless v2 PostgreSQL with the Data API, able to pause at 0 ACU, encrypted, backed up, in isolated subnets, unprotected outside production', () => {
    const [, cluster] = one('AWS::RDS::DBCluster');
    const p = cluster.Properties;
    expect(p.Engine).toBe('aurora-postgresql');
    const [major, minor] = String(p.EngineVersion).split('.').map(Number);
    // Auto-pause (0 ACU) needs Aurora PostgreSQL 16.3+.
    expect(major).toBe(16);
    expect(minor).toBeGreaterThanOrEqual(3);
    expect(p.EnableHttpEndpoint).toBe(true);
    expect(p.ServerlessV2ScalingConfiguration).toMatchObject({ MinCapacity: 0, MaxCapacity: 4 });
    expect(p.ServerlessV2ScalingConfiguration.SecondsUntilAutoPause).toBeGreaterThanOrEqual(300);
    expect(p.StorageEncrypted).toBe(true);
    expect(p.BackupRetentionPeriod).toBe(7);
    expect(p.Port).toBe(5432);
    expect(p.DeletionProtection).toBe(false);
    expect(cluster.DeletionPolicy).toBe('Delete');
    // One writer, no reader.
    const [, instance] = one('AWS::RDS::DBInstance');
    expect(instance.Properties).toMatchObject({ DBInstanceClass: 'db.serverless', PubliclyAccessible: false, PromotionTier: 0 });
    template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Parameters: { 'rds.force_ssl': '1' } });
    // Isolated subnets: their route tables have no route at all out of the VPC.
    const [, subnetGroup] = one('AWS::RDS::DBSubnetGroup');
    const dataSubnets = subnetGroup.Properties.SubnetIds.map((s: Json) => s.Ref);
    expect(dataSubnets).toHaveLength(2);
    for (const subnet of dataSubnets) {
      expect(resources[subnet].Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'aws-cdk:subnet-type', Value: 'Isolated' }]));
      expect(routesOf(resources, subnet)).toEqual([]);
    }
  });

  it('lets RDS manage and rotate the master password: no CDK-made database secret, no rotation Lambda', () => {
    const [, cluster] = one('AWS::RDS::DBCluster');
    expect(cluster.Properties).toMatchObject({ ManageMasterUserPassword: true, MasterUsername: 'evalap' });
    expect(cluster.Properties.MasterUserPassword).toBeUndefined();
    expect(ofType('AWS::SecretsManager::RotationSchedule')).toEqual([]);
    expect(ofType('AWS::Serverless::Application')).toEqual([]);
    expect(ofType('AWS::SecretsManager::SecretTargetAttachment')).toEqual([]);
    // The two application secrets only.
    expect(ofType('AWS::SecretsManager::Secret').map(([id]) => id).sort()).toEqual([idOf(stack.secrets.apiKeys), idOf(stack.secrets.providerKeys)].sort());
    // No SAM transform (the rotation application needed one).
    expect(template.toJSON().Transform).toBeUndefined();
  });

  it('admits only the runner\'s security group to Aurora, on 5432', () => {
    const dbSg = resources[idOf(stack.database.cluster)].Properties.VpcSecurityGroupIds.map((g: Json) => g['Fn::GetAtt'][0]);
    expect(dbSg).toEqual([idOf(stack.database.securityGroup)]);
    expect(resources[dbSg[0]].Properties.SecurityGroupIngress).toBeUndefined();
    const rules = ofType('AWS::EC2::SecurityGroupIngress').filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === dbSg[0]);
    expect(rules.map(([, r]) => r.Properties)).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: { 'Fn::GetAtt': [idOf(stack.runner.securityGroup), 'GroupId'] } }),
    ]);
  });

  it('has no NAT gateway, no Elastic IP and no interface endpoint: runners in public subnets, the free S3 gateway endpoint, flow logs', () => {
    expect(ofType('AWS::EC2::NatGateway')).toEqual([]);
    expect(ofType('AWS::EC2::EIP')).toEqual([]);
    const endpoints = ofType('AWS::EC2::VPCEndpoint').map(([, r]) => r.Properties);
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0].VpcEndpointType).toBe('Gateway');
    expect(JSON.stringify(endpoints[0].ServiceName)).toContain('.s3"');
    one('AWS::EC2::InternetGateway');
    one('AWS::EC2::FlowLog');
    // Runner subnets route to the internet gateway and assign no address on their own.
    const [, service] = one('AWS::ECS::Service');
    const runnerSubnets = service.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets.map((s: Json) => s.Ref);
    expect(runnerSubnets).toHaveLength(2);
    for (const subnet of runnerSubnets) {
      expect(resources[subnet].Properties).toMatchObject({ MapPublicIpOnLaunch: false });
      expect(resources[subnet].Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'aws-cdk:subnet-type', Value: 'Public' }]));
      expect(routesOf(resources, subnet)).toEqual([expect.objectContaining({ DestinationCidrBlock: '0.0.0.0/0', GatewayId: { Ref: one('AWS::EC2::InternetGateway')[0] } })]);
    }
  });

  it('gives each runner task a public IP behind a security group that admits nothing inbound', () => {
    const [, service] = one('AWS::ECS::Service');
    const vpcConfig = service.Properties.NetworkConfiguration.AwsvpcConfiguration;
    expect(vpcConfig.AssignPublicIp).toBe('ENABLED');
    const sgId = idOf(stack.runner.securityGroup);
    expect(vpcConfig.SecurityGroups).toEqual([{ 'Fn::GetAtt': [sgId, 'GroupId'] }]);
    expect(resources[sgId].Properties.SecurityGroupIngress).toBeUndefined();
    expect(ofType('AWS::EC2::SecurityGroupIngress').filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === sgId)).toEqual([]);
    expect(resources[sgId].Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: '-1' })]);
  });

  it('runs the runner on Fargate ARM64 from runner/Dockerfile, reading the database password at run time (no PG* ECS secrets)', () => {
    const [, taskDef] = one('AWS::ECS::TaskDefinition');
    const p = taskDef.Properties;
    expect(p.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    expect(p.RequiresCompatibilities).toEqual(['FARGATE']);
    expect(p).toMatchObject({ Cpu: '1024', Memory: '2048', NetworkMode: 'awsvpc' });
    expect(p.ContainerDefinitions).toHaveLength(1);
    const container = p.ContainerDefinitions[0];
    const clusterId = idOf(stack.database.cluster);
    const env = envOf(container.Environment);
    expect(env).toMatchObject({
      MAX_CONCURRENT_TASKS: '8',
      RUNNER_WORKER_THREADS: '1',
      RUNNER_VISIBILITY_TIMEOUT_SEC: '20',
      RUNNER_HEARTBEAT_INTERVAL_MS: '5000',
      RUNNER_SHUTDOWN_GRACE_MS: '25000',
      QUEUE_URL: { Ref: idOf(stack.tasks.queue) },
      DLQ_URL: { Ref: idOf(stack.tasks.deadLetterQueue) },
      AWS_REGION: { Ref: 'AWS::Region' },
      PGHOST: { 'Fn::GetAtt': [clusterId, 'Endpoint.Address'] },
      PGPORT: '5432',
      PGDATABASE: 'evalap',
      PGUSER: 'evalap',
      PGSSLMODE: 'verify-full',
      DATABASE_SECRET_ARN: { 'Fn::GetAtt': [clusterId, 'MasterUserSecret.SecretArn'] },
      EVALAP_KMS_KEY_ID: { 'Fn::GetAtt': [idOf(stack.secrets.providerKeyEncryption), 'Arn'] },
    });
    expect(env.PGPASSWORD).toBeUndefined();
    // RUNNER_SHUTDOWN_GRACE_MS + margin, at most ECS's 120 s.
    expect(container.StopTimeout).toBe(40);
    expect(container.ReadonlyRootFilesystem).toBe(true);
    // Provider keys stay ECS secrets; nothing of the database.
    const secrets = Object.fromEntries((container.Secrets as Json[]).map((s) => [s.Name, JSON.stringify(s.ValueFrom)]));
    expect(Object.keys(secrets)).toEqual(['EVALAP_JUDGE_API_KEY', 'ALBERT_API_KEY', 'MISTRAL_API_KEY', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'SCALEWAY_API_KEY']);
    for (const field of Object.keys(secrets)) expect(secrets[field]).toContain(idOf(stack.secrets.providerKeys));
    expect(container.LogConfiguration.LogDriver).toBe('awslogs');
    expect(resources[container.LogConfiguration.Options['awslogs-group'].Ref].Properties.RetentionInDays).toBe(30);

    const [, service] = one('AWS::ECS::Service');
    expect(service.Properties).toMatchObject({ DesiredCount: 0, LaunchType: 'FARGATE' });
    const [, cluster] = one('AWS::ECS::Cluster');
    expect(cluster.Properties.ClusterSettings).toEqual([{ Name: 'containerInsights', Value: 'enabled' }]);

    const assets = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
    const images = Object.values(assets.dockerImages as Record<string, Json>);
    expect(images).toHaveLength(1);
    expect(images[0].source).toMatchObject({ dockerFile: 'runner/Dockerfile', platform: 'linux/arm64' });
  });

  it('lets the runner task read the database secret and protect its own cluster\'s tasks from scale-in', () => {
    const statements = roleStatements(resources, idOf(stack.runner.taskDefinition.taskRole));
    const secret = statements.filter((st) => JSON.stringify(st.Resource).includes('MasterUserSecret.SecretArn'));
    expect(secret).toEqual([expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: { 'Fn::GetAtt': [idOf(stack.database.cluster), 'MasterUserSecret.SecretArn'] } })]);
    const protection = statements.filter((st) => list(st.Action).some((a: string) => a.includes('TaskProtection')));
    expect(protection).toHaveLength(1);
    expect([...list(protection[0].Action)].sort()).toEqual(['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection']);
    // arn:<partition>:ecs:<region>:<account>:task/<this cluster>/*
    expect(protection[0].Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':task/', { Ref: idOf(stack.runner.cluster) }, '/*']],
    });
    // The execution role no longer touches the database secret.
    const execution = roleStatements(resources, idOf(stack.runner.taskDefinition.obtainExecutionRole()));
    expect(JSON.stringify(execution)).not.toContain('MasterUserSecret');
  });

  it('scales the runner on the queue backlog from 0 tasks, with no CPU-based scaling', () => {
    const [targetId, target] = one('AWS::ApplicationAutoScaling::ScalableTarget');
    expect(target.Properties).toMatchObject({ MinCapacity: 0, MaxCapacity: 4, ScalableDimension: 'ecs:service:DesiredCount', ServiceNamespace: 'ecs' });
    const policies = ofType('AWS::ApplicationAutoScaling::ScalingPolicy').map(([id, r]) => ({ id, ...r.Properties }));
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(p.PolicyType).toBe('StepScaling');
      expect(p.ScalingTargetId).toEqual({ Ref: targetId });
      expect(p.StepScalingPolicyConfiguration.AdjustmentType).toBe('ExactCapacity');
    }
    expect(JSON.stringify(resources)).not.toMatch(/TargetTrackingScaling|ECSServiceAverageCPUUtilization|CPUUtilization"[^}]*AlarmActions/);
    // Each policy is driven by an alarm on visible + in-flight messages of the tasks queue.
    const queueName = { 'Fn::GetAtt': [idOf(stack.tasks.queue), 'QueueName'] };
    for (const p of policies) {
      const [, alarm] = ofType('AWS::CloudWatch::Alarm').find(([, a]) => (a.Properties.AlarmActions ?? []).some((x: Json) => x.Ref === p.id))!;
      const metrics = (alarm.Properties.Metrics as Json[]).filter((m) => m.MetricStat).map((m) => m.MetricStat.Metric);
      expect(metrics.map((m) => m.MetricName).sort()).toEqual(['ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesVisible']);
      for (const m of metrics) expect(m.Dimensions).toEqual([{ Name: 'QueueName', Value: queueName }]);
    }
    // Empty queue: 0 tasks. Backlog: one task per 500 messages, up to 4.
    const scaleIn = policies.find((p) => p.StepScalingPolicyConfiguration.StepAdjustments.length === 1)!;
    expect(scaleIn.StepScalingPolicyConfiguration.StepAdjustments).toEqual([{ MetricIntervalUpperBound: 0, ScalingAdjustment: 0 }]);
    const scaleOut = policies.find((p) => p !== scaleIn)!;
    expect(scaleOut.StepScalingPolicyConfiguration.StepAdjustments).toEqual([
      { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 500, ScalingAdjustment: 1 },
      { MetricIntervalLowerBound: 500, MetricIntervalUpperBound: 1000, ScalingAdjustment: 2 },
      { MetricIntervalLowerBound: 1000, MetricIntervalUpperBound: 1500, ScalingAdjustment: 3 },
      { MetricIntervalLowerBound: 1500, ScalingAdjustment: 4 },
    ]);
  });

  it('runs the migrations through a CDK Trigger after the writer exists, before the API, the schedule Lambda and the runner service, again whenever the migrations Lambda changes', () => {
    const [triggerId, trigger] = one('Custom::Trigger');
    expect(triggerId).toBe(idOf(stack.migrations.triggerResource));
    // The function's current version: a new one (hence a new run) whenever its code or configuration changes.
    const versionId = trigger.Properties.HandlerArn.Ref;
    expect(resources[versionId]).toMatchObject({ Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: idOf(stack.migrations.function) } } });
    expect(trigger.Properties).toMatchObject({ InvocationType: 'RequestResponse', ExecuteOnHandlerChange: true });
    // The provider waits longer than the function may run: a slow migration fails as the function's timeout, not as a lost answer.
    expect(Number(trigger.Properties.Timeout)).toBeGreaterThan(300_000);
    expect(dependsOn(trigger)).toContain(logicalId(stack, stack.database.writer));
    for (const dependent of [stack.api.function, stack.schedules.function, stack.runner.service]) {
      expect([idOf(dependent), dependsOn(resources[idOf(dependent)])]).toEqual([idOf(dependent), expect.arrayContaining([triggerId])]);
    }
  });

  it('keeps the Trigger\'s provider to the stack\'s rules: no AWS managed policy, its logs in a log group with retention that it alone may write', () => {
    const [, trigger] = one('Custom::Trigger');
    const providerId = trigger.Properties.ServiceToken['Fn::GetAtt'][0];
    const provider = resources[providerId].Properties;
    const logGroupId = provider.LoggingConfig.LogGroup.Ref;
    expect(resources[logGroupId].Properties.RetentionInDays).toBe(30);
    const roleId = provider.Role['Fn::GetAtt'][0];
    expect(resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
    const statements = resources[roleId].Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::GetAtt': [logGroupId, 'Arn'] }] }),
        expect.objectContaining({ Action: ['lambda:InvokeFunction'] }),
      ]),
    );
    expect(JSON.stringify(statements.find((st: Json) => st.Action[0] === 'lambda:InvokeFunction').Resource)).toContain(idOf(stack.migrations.function));
  });

  it('sends the schedule Lambda\'s failed asynchronous invocations to a dead-letter queue, after two retries', () => {
    const [, config] = one('AWS::Lambda::EventInvokeConfig');
    expect(config.Properties).toMatchObject({
      FunctionName: { Ref: idOf(stack.schedules.function) },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [idOf(stack.schedules.deadLetterQueue), 'Arn'] } } },
    });
    const dlq = resources[idOf(stack.schedules.deadLetterQueue)].Properties;
    expect(dlq).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    const send = roleStatements(resources, idOf(stack.schedules.function.role!)).filter((st) => JSON.stringify(st.Resource).includes(idOf(stack.schedules.deadLetterQueue)));
    expect(send).toEqual([expect.objectContaining({ Action: expect.arrayContaining(['sqs:SendMessage']) })]);
  });

  it('grants least privilege: data-plane actions (rds-data, sqs, secretsmanager, kms) only on this stack\'s resources', () => {
    const statements = identityStatements(resources);
    expect(statements.length).toBeGreaterThan(10);
    const dataPlane = statements.filter(({ statement }) => list(statement.Action).some((a: string) => /^(rds-data|sqs|secretsmanager|kms):/.test(a)));
    expect(dataPlane.length).toBeGreaterThan(5);
    for (const { policy, statement } of dataPlane) {
      expect(statement.Effect).toBe('Allow');
      for (const action of list(statement.Action) as string[]) expect([policy, action]).not.toEqual([policy, expect.stringMatching(/\*$/)]);
      for (const resource of list(statement.Resource)) {
        expect([policy, resource]).not.toEqual([policy, '*']);
        const target = resource.Ref ?? resource['Fn::GetAtt']?.[0];
        expect([policy, typeof target === 'string' && target in resources]).toEqual([policy, true]);
      }
    }
    // "*" appears only where AWS allows nothing narrower.
    const allowedOnStar = /^(xray:PutTraceSegments|xray:PutTelemetryRecords|ecr:GetAuthorizationToken)$/;
    for (const { policy, statement } of statements.filter(({ statement }) => list(statement.Resource).includes('*'))) {
      for (const action of list(statement.Action) as string[]) expect([policy, action]).toEqual([policy, expect.stringMatching(allowedOnStar)]);
    }
    // No AWS managed policy on any role.
    for (const [, role] of ofType('AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('splits the KMS grants: the API, schedule and migrations seal provider keys (GenerateDataKey), the runner opens them (Decrypt)', () => {
    const keyId = idOf(stack.secrets.providerKeyEncryption);
    expect(resources[keyId].Properties.EnableKeyRotation).toBe(true);
    const kmsActions = (role: IConstruct) =>
      roleStatements(resources, idOf(role))
        .flatMap((st) => list(st.Action) as string[])
        .filter((a) => a.startsWith('kms:'))
        .sort();
    expect(kmsActions(stack.api.function.role!)).toEqual(['kms:GenerateDataKey']);
    expect(kmsActions(stack.runner.taskDefinition.taskRole)).toEqual(['kms:Decrypt']);
    expect(kmsActions(stack.schedules.function.role!)).toEqual(['kms:GenerateDataKey']);
    // One migration seals provider keys stored in clear.
    expect(kmsActions(stack.migrations.function.role!)).toEqual(['kms:GenerateDataKey']);
  });

  it('lets EventBridge Scheduler invoke exactly the schedule function, and nothing else', () => {
    const fnId = idOf(stack.schedules.function);
    const fn = resources[fnId].Properties;
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
    const roleId = idOf(stack.schedules.schedulerRole);
    const trust = resources[roleId].Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toHaveLength(1);
    expect(trust[0].Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust[0].Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(roleStatements(resources, roleId)).toEqual([{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fnId, 'Arn'] } }]);
    const [, group] = one('AWS::Scheduler::ScheduleGroup');
    expect(group.Properties.Name).toBe('Evalap-schedules');
    // Only schedules of that group may use the role.
    expect(JSON.stringify(trust[0].Condition.ArnLike['aws:SourceArn'])).toContain(':schedule/Evalap-schedules/*');
  });

  it('lets the API manage the EventBridge schedules of its group only, passing only the scheduler role', () => {
    const fn = resources[idOf(stack.api.function)].Properties;
    expect(fn.Environment.Variables).toMatchObject({
      SCHEDULER_GROUP: 'Evalap-schedules',
      SCHEDULER_LAMBDA_ARN: { 'Fn::GetAtt': [idOf(stack.schedules.function), 'Arn'] },
      SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [idOf(stack.schedules.schedulerRole), 'Arn'] },
    });
    const statements = roleStatements(resources, idOf(stack.api.function.role!));
    const manage = statements.find((st) => st.Sid === 'ManageSchedules')!;
    expect([...list(manage.Action)].sort()).toEqual(['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:UpdateSchedule']);
    expect(JSON.stringify(manage.Resource)).toMatch(/:schedule\/Evalap-schedules\/\*"\]\]\}$/);
    const pass = statements.find((st) => st.Sid === 'PassSchedulerRole')!;
    expect(pass).toMatchObject({ Action: 'iam:PassRole', Resource: { 'Fn::GetAtt': [idOf(stack.schedules.schedulerRole), 'Arn'] }, Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } } });
    // No other role may pass roles at all.
    const passers = identityStatements(resources).filter(({ statement }) => list(statement.Action).includes('iam:PassRole'));
    expect(passers).toHaveLength(1);
  });

  it('keeps the API keys and provider keys in Secrets Manager, the admin key generated', () => {
    const apiKeys = resources[idOf(stack.secrets.apiKeys)].Properties;
    expect(apiKeys.GenerateSecretString).toMatchObject({ GenerateStringKey: 'EVALAP_ADMIN_KEY', SecretStringTemplate: '{"EVALAP_API_KEYS":""}' });
    expect(apiKeys.GenerateSecretString.PasswordLength).toBeGreaterThanOrEqual(32);
    const providerKeys = resources[idOf(stack.secrets.providerKeys)].Properties;
    expect(JSON.parse(providerKeys.SecretString)).toEqual({ EVALAP_JUDGE_API_KEY: '', ALBERT_API_KEY: '', MISTRAL_API_KEY: '', OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '', SCALEWAY_API_KEY: '' });
  });

  it('always has the alarms topic, TLS only, with no subscriber unless alarmEmail is set', () => {
    const [topicId] = one('AWS::SNS::Topic');
    expect(topicId).toBe(ALARM_TOPIC());
    expect(ofType('AWS::SNS::Subscription')).toEqual([]);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('alarms to the topic on the DLQs, the oldest task, runner errors, API 5xx and logged schedule errors', () => {
    const alarms = alarmsTo(resources, ALARM_TOPIC());
    const byName = (name: string) => alarms.filter((a) => a.MetricName === name);
    const queueOf = (a: Json) => a.Dimensions[0].Value['Fn::GetAtt'][0];
    const dlqs = byName('ApproximateNumberOfMessagesVisible');
    expect(dlqs.map(queueOf)).toEqual([idOf(stack.schedules.deadLetterQueue)]);
    for (const a of dlqs) expect(a).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Maximum' });
    // The tasks' DLQ counts the dead letters the sweeper recorded and keeps out of sight too.
    const tasksDlq = alarms.find((a) => a.Metrics?.some((m: Json) => m.Expression === 'visible + hidden'));
    expect(tasksDlq).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    const parts = tasksDlq.Metrics.filter((m: Json) => m.MetricStat).map((m: Json) => [m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions[0].Value['Fn::GetAtt'][0], m.MetricStat.Stat]);
    expect(parts.sort()).toEqual([
      ['ApproximateNumberOfMessagesNotVisible', idOf(stack.tasks.deadLetterQueue), 'Maximum'],
      ['ApproximateNumberOfMessagesVisible', idOf(stack.tasks.deadLetterQueue), 'Maximum'],
    ]);
    const [oldest] = byName('ApproximateAgeOfOldestMessage');
    expect(oldest).toMatchObject({ Threshold: 3600, Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(stack.tasks.queue), 'QueueName'] } }] });
    expect(byName('RunnerErrors')).toEqual([expect.objectContaining({ Namespace: 'Evalap/Evalap', Statistic: 'Sum', Threshold: 1 })]);
    expect(byName('ScheduleErrors')).toEqual([expect.objectContaining({ Namespace: 'Evalap/Evalap', Statistic: 'Sum', Threshold: 1 })]);
    expect(byName('5xx')).toEqual([expect.objectContaining({ Namespace: 'AWS/ApiGateway', Dimensions: [{ Name: 'ApiId', Value: { Ref: idOf(stack.api.httpApi) } }] })]);

    const filters = Object.fromEntries(ofType('AWS::Logs::MetricFilter').map(([, f]) => [f.Properties.MetricTransformations[0].MetricName, f.Properties]));
    expect(filters.RunnerErrors).toMatchObject({ FilterPattern: '{ $.level = "error" }', LogGroupName: { Ref: idOf(stack.runner.logGroup) } });
    expect(filters.ModelThrottles).toMatchObject({ FilterPattern: '{ $.event = "model_throttled" }', LogGroupName: { Ref: idOf(stack.runner.logGroup) } });
    // The schedule Lambda emits ScheduleErrors itself (EMF, test/cdk/schedule-metric.test.ts): no filter reads its logs.
    expect(Object.keys(filters).sort()).toEqual(['ModelThrottles', 'RunnerErrors']);
    expect(byName('ScheduleErrors')).toEqual([expect.objectContaining({ Dimensions: [{ Name: 'service', Value: 'evalap' }], Period: 300 })]);
  });

  it('alarms on errors, throttles and a p99 duration at 80% of the timeout of each Lambda (API, schedule, migrations)', () => {
    const alarms = alarmsTo(resources, ALARM_TOPIC());
    const cases: [IConstruct, number][] = [
      [stack.api.function, 29],
      [stack.schedules.function, 60],
      [stack.migrations.function, 300],
    ];
    for (const [fn, timeoutSec] of cases) {
      const fnId = idOf(fn);
      expect(resources[fnId].Properties.Timeout).toBe(timeoutSec);
      const mine = alarms.filter((a) => a.Namespace === 'AWS/Lambda' && a.Dimensions?.[0]?.Value?.Ref === fnId);
      const by = (name: string) => mine.filter((a) => a.MetricName === name);
      expect([fnId, by('Errors')]).toEqual([fnId, [expect.objectContaining({ Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' })]]);
      expect([fnId, by('Throttles')]).toEqual([fnId, [expect.objectContaining({ Statistic: 'Sum', Threshold: 1 })]]);
      expect([fnId, by('Duration')]).toEqual([fnId, [expect.objectContaining({ ExtendedStatistic: 'p99', Threshold: timeoutSec * 1000 * 0.8 })]]);
    }
  });

  it('alarms when Aurora sits at its maximum ACUs, and when connections near max_connections for that maximum (823 at 4 ACUs)', () => {
    const alarms = alarmsTo(resources, ALARM_TOPIC());
    const clusterDimension = [{ Name: 'DBClusterIdentifier', Value: { Ref: idOf(stack.database.cluster) } }];
    const [capacity] = alarms.filter((a) => a.MetricName === 'ServerlessDatabaseCapacity');
    expect(capacity).toMatchObject({ Namespace: 'AWS/RDS', Statistic: 'Maximum', Threshold: 4, ComparisonOperator: 'GreaterThanOrEqualToThreshold', Dimensions: clusterDimension });
    // 15 minutes pinned, not a burst.
    expect(capacity.Period * capacity.EvaluationPeriods).toBe(900);
    const [connections] = alarms.filter((a) => a.MetricName === 'DatabaseConnections');
    expect(connections).toMatchObject({ Namespace: 'AWS/RDS', Statistic: 'Maximum', Threshold: Math.floor(823 * 0.8), Dimensions: clusterDimension });
  });

  it('sends runner tasks that fail to start to the topic, through an EventBridge rule on ECS task state changes', () => {
    const [, rule] = one('AWS::Events::Rule');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: { clusterArn: [{ 'Fn::GetAtt': [idOf(stack.runner.cluster), 'Arn'] }], lastStatus: ['STOPPED'], stopCode: ['TaskFailedToStart'] },
    });
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: ALARM_TOPIC() } })]);
    expect(JSON.stringify(rule.Properties.Targets[0].InputTransformer)).toContain('$.detail.stoppedReason');
    // EventBridge may publish to the topic.
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: ALARM_TOPIC() }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'events.amazonaws.com' } })]) },
    });
  });

  it('has a dashboard of queue depth, tasks per minute, runners, model 429s, the database and every Lambda', () => {
    const [, dashboard] = one('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of ['ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesNotVisible', 'NumberOfMessagesDeleted', 'RunningTaskCount', 'ModelThrottles', 'ServerlessDatabaseCapacity', 'DatabaseConnections']) {
      expect(body).toContain(metric);
    }
    for (const fn of [stack.api.function, stack.schedules.function, stack.migrations.function]) expect(body).toContain(idOf(fn));
  });

  it('gives every log group a retention', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(8);
    for (const [, g] of groups) expect(g.Properties.RetentionInDays).toBe(30);
    // No log-retention custom resource Lambda either.
    expect(ofType('Custom::LogRetention')).toEqual([]);
  });

  it('outputs the API URL, the queue URLs, the database endpoint, its cluster ARN and managed secret', () => {
    const outputs = template.toJSON().Outputs;
    expect(JSON.stringify(outputs.ApiUrl.Value)).toContain(idOf(stack.api.httpApi));
    expect(outputs.QueueUrl.Value).toEqual({ Ref: idOf(stack.tasks.queue) });
    expect(outputs.ScheduleDeadLetterQueueUrl.Value).toEqual({ Ref: idOf(stack.schedules.deadLetterQueue) });
    expect(JSON.stringify(outputs.DatabaseEndpoint.Value)).toContain('Endpoint.Address');
    expect(outputs.DatabaseClusterArn.Value).toEqual({ 'Fn::GetAtt': [idOf(stack.database.cluster), 'DBClusterArn'] });
    expect(outputs.DatabaseSecretArn.Value).toEqual({ 'Fn::GetAtt': [idOf(stack.database.cluster), 'MasterUserSecret.SecretArn'] });
  });

  it('is environment-agnostic: no account, region or availability zone fixed at synth', () => {
    expect(Token.isUnresolved(stack.account)).toBe(true);
    expect(Token.isUnresolved(stack.region)).toBe(true);
    const { Resources, Outputs } = template.toJSON();
    const text = JSON.stringify({ Resources, Outputs });
    expect(text.match(/\b\d{12}\b/g)).toBeNull();
    expect(text.match(/"(us|eu|ap|sa|ca|me|af)-[a-z]+-\d[a-z]?"/g)).toBeNull();
  });
});

describe('context variants', () => {
  const variant = (context: Record<string, unknown>) => {
    const { stack: s, outdir: dir } = synth({ context });
    try {
      return { s, res: Template.fromStack(s).toJSON().Resources as Record<string, Json>, nag: annotationsOf(s).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), dir };
    } finally {
      removeOutdir(dir);
    }
  };

  it('private layout: runners in private subnets behind one NAT gateway, no public IP, no interface endpoint unless asked, still nag-clean', () => {
    const { s, res, nag } = variant({ networkLayout: 'private' });
    expect(nag).toEqual([]);
    const nats = typed(res, 'AWS::EC2::NatGateway');
    expect(nats).toHaveLength(1);
    expect(typed(res, 'AWS::EC2::EIP')).toHaveLength(1);
    expect(typed(res, 'AWS::EC2::VPCEndpoint').map(([, e]) => e.Properties.VpcEndpointType)).toEqual(['Gateway']);
    const [, service] = typed(res, 'AWS::ECS::Service')[0];
    const vpcConfig = service.Properties.NetworkConfiguration.AwsvpcConfiguration;
    expect(vpcConfig.AssignPublicIp).toBe('DISABLED');
    for (const subnet of vpcConfig.Subnets.map((x: Json) => x.Ref)) {
      expect(res[subnet].Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'aws-cdk:subnet-type', Value: 'Private' }]));
      expect(routesOf(res, subnet)).toEqual([expect.objectContaining({ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: { Ref: nats[0][0] } })]);
    }
    // The database stays isolated, the Lambdas outside the VPC.
    for (const [, fn] of typed(res, 'AWS::Lambda::Function')) expect(fn.Properties.VpcConfig).toBeUndefined();
    const dbSg = logicalId(s, s.database.securityGroup);
    expect(typed(res, 'AWS::EC2::SecurityGroupIngress').filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === dbSg).map(([, r]) => r.Properties.SourceSecurityGroupId)).toEqual([
      { 'Fn::GetAtt': [logicalId(s, s.runner.securityGroup), 'GroupId'] },
    ]);
  });

  it('private layout with interfaceEndpoints and two NAT gateways: six interface endpoints in both AZs, one NAT per AZ', () => {
    const { res, nag } = variant({ networkLayout: 'private', interfaceEndpoints: 'true', natGateways: '2' });
    expect(nag).toEqual([]);
    expect(typed(res, 'AWS::EC2::NatGateway')).toHaveLength(2);
    const interfaces = typed(res, 'AWS::EC2::VPCEndpoint').filter(([, e]) => e.Properties.VpcEndpointType === 'Interface');
    expect(interfaces).toHaveLength(6);
    for (const [, e] of interfaces) expect(e.Properties).toMatchObject({ PrivateDnsEnabled: true, SubnetIds: [expect.anything(), expect.anything()] });
    const services = interfaces.map(([, e]) => JSON.stringify(e.Properties.ServiceName));
    for (const service of ['.sqs"', '.secretsmanager"', '.kms"', '.logs"', '.ecr.api"', '.ecr.dkr"']) expect(services.some((x) => x.includes(service))).toBe(true);
  });

  it('production profile: a serverless reader in the second AZ, 0.5 ACU minimum (no pause), deletion protection and a final snapshot', () => {
    const { s, res, nag } = variant({ production: 'true' });
    expect(nag).toEqual([]);
    const [, cluster] = typed(res, 'AWS::RDS::DBCluster')[0];
    expect(cluster.Properties.ServerlessV2ScalingConfiguration).toEqual({ MinCapacity: 0.5, MaxCapacity: 4 });
    expect(cluster.Properties.DeletionProtection).toBe(true);
    expect(cluster.DeletionPolicy).toBe('Snapshot');
    const instances = Object.fromEntries(typed(res, 'AWS::RDS::DBInstance').map(([id, r]) => [id, r.Properties]));
    expect(Object.keys(instances)).toHaveLength(2);
    const writer = instances[logicalId(s, s.database.writer)];
    const reader = instances[logicalId(s, s.database.reader!)];
    expect(writer).toMatchObject({ DBInstanceClass: 'db.serverless', PromotionTier: 0, AvailabilityZone: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] } });
    // Tier 0 or 1: the reader scales with the writer, so it can take over at once.
    expect(reader).toMatchObject({ DBInstanceClass: 'db.serverless', PromotionTier: 1, AvailabilityZone: { 'Fn::Select': [1, { 'Fn::GetAZs': '' }] } });
    // Migrations still wait for the writer.
    const [, trigger] = typed(res, 'Custom::Trigger')[0];
    expect(dependsOn(trigger)).toContain(logicalId(s, s.database.writer));
  });

  it('production profile with explicit settings: the explicit values win over the profile', () => {
    const { res } = variant({ production: 'true', auroraMinCapacity: '0', deletionProtection: 'false', auroraReader: 'false' });
    const [, cluster] = typed(res, 'AWS::RDS::DBCluster')[0];
    expect(cluster.Properties.ServerlessV2ScalingConfiguration.MinCapacity).toBe(0);
    expect(cluster.Properties.DeletionProtection).toBe(false);
    expect(typed(res, 'AWS::RDS::DBInstance')).toHaveLength(1);
  });

  it('terminationProtection=false turns termination protection off for throwaway stacks', () => {
    const { stack: s, outdir: dir } = synth({ context: { terminationProtection: 'false' } });
    try {
      expect(s.terminationProtection).toBe(false);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      expect(manifest.artifacts[s.artifactId].properties.terminationProtection ?? false).toBe(false);
    } finally {
      removeOutdir(dir);
    }
  });

  it('reads context from the command line (strings): concurrency, scaling bounds, grace, capacity, judge, alarm e-mail', () => {
    const { res, nag } = variant({
      maxConcurrentTasks: '64',
      runnerCpu: '2048',
      runnerMaxTasks: '20',
      runnerMinTasks: '1',
      backlogPerTask: '100',
      maxReceiveCount: '5',
      visibilityTimeoutSec: '120',
      shutdownGraceMs: '100000',
      auroraMaxCapacity: '16',
      auroraMinCapacity: '1',
      judgeModel: 'gpt-judge',
      judgeBaseUrl: 'https://judge.example.com/v1',
      alarmEmail: 'ops@example.com',
    });
    expect(nag).toEqual([]);
    const byType = (type: string) => typed(res, type).map(([, r]) => r);
    const container = byType('AWS::ECS::TaskDefinition')[0].Properties.ContainerDefinitions[0];
    expect(envOf(container.Environment)).toMatchObject({
      MAX_CONCURRENT_TASKS: '64',
      // 2 vCPUs: one worker thread, the main thread keeps the other core.
      RUNNER_WORKER_THREADS: '1',
      RUNNER_VISIBILITY_TIMEOUT_SEC: '120',
      RUNNER_HEARTBEAT_INTERVAL_MS: '30000',
      RUNNER_SHUTDOWN_GRACE_MS: '100000',
      EVALAP_JUDGE_MODEL: 'gpt-judge',
      EVALAP_JUDGE_BASE_URL: 'https://judge.example.com/v1',
    });
    expect(container.StopTimeout).toBe(115);
    expect(byType('AWS::ECS::TaskDefinition')[0].Properties).toMatchObject({ Cpu: '2048', Memory: '4096' });
    expect(byType('AWS::ApplicationAutoScaling::ScalableTarget')[0].Properties).toMatchObject({ MinCapacity: 1, MaxCapacity: 20 });
    const steps = byType('AWS::ApplicationAutoScaling::ScalingPolicy')
      .map((p) => p.Properties.StepScalingPolicyConfiguration.StepAdjustments)
      .sort((a, b) => b.length - a.length);
    expect(steps[0]).toHaveLength(10);
    expect(steps[0].at(-1)).toEqual({ MetricIntervalLowerBound: 1800, ScalingAdjustment: 20 });
    expect(steps[1]).toEqual([{ MetricIntervalUpperBound: 0, ScalingAdjustment: 1 }]);
    const queue = byType('AWS::SQS::Queue').find((q) => q.Properties.RedrivePolicy)!;
    expect(queue.Properties).toMatchObject({ VisibilityTimeout: 120, RedrivePolicy: { maxReceiveCount: 5 } });
    const cluster = byType('AWS::RDS::DBCluster')[0];
    expect(cluster.Properties.ServerlessV2ScalingConfiguration).toEqual({ MinCapacity: 1, MaxCapacity: 16 });
    // max_connections at 16 ACUs with a 1-ACU minimum: 3,360 (no 2,000 cap).
    const connections = byType('AWS::CloudWatch::Alarm').find((a) => a.Properties.MetricName === 'DatabaseConnections')!;
    expect(connections.Properties.Threshold).toBe(Math.floor(3360 * 0.8));
    expect(byType('AWS::CloudWatch::Alarm').find((a) => a.Properties.MetricName === 'ServerlessDatabaseCapacity')!.Properties.Threshold).toBe(16);
    const subscriptions = byType('AWS::SNS::Subscription').map((x) => x.Properties);
    expect(subscriptions).toEqual([expect.objectContaining({ Protocol: 'email', Endpoint: 'ops@example.com' })]);
  });
});

describe('context validation', () => {
  const read = (context: Record<string, unknown>) => readSettings({ tryGetContext: (k: string) => context[k] });

  it('applies the cheap defaults outside the production profile', () => {
    expect(read({})).toMatchObject({
      production: false,
      terminationProtection: true,
      networkLayout: 'public',
      maxReceiveCount: 10,
      visibilityTimeoutSec: 20,
      maxConcurrentTasks: 8,
      runnerMinTasks: 0,
      runnerMaxTasks: 4,
      auroraMinCapacity: 0,
      auroraReader: false,
      deletionProtection: false,
    });
  });

  it('applies the production profile\'s defaults, and lets explicit settings override them', () => {
    expect(read({ production: 'true' })).toMatchObject({ auroraMinCapacity: 0.5, auroraReader: true, deletionProtection: true, networkLayout: 'public' });
    expect(read({ production: true, auroraMinCapacity: 2, deletionProtection: false })).toMatchObject({ auroraMinCapacity: 2, auroraReader: true, deletionProtection: false });
  });

  it.each([
    [{ natGateways: 1 }, /natGateways.*networkLayout=private only/],
    [{ interfaceEndpoints: 'true' }, /interfaceEndpoints.*networkLayout=private only/],
    [{ networkLayout: 'isolated' }, /networkLayout.*must be one of public, private/],
    [{ networkLayout: 'private', natGateways: '0' }, /natGateways.*between 1 and 2/],
    [{ production: 'yes' }, /production.*true or false/],
    [{ maxReceiveCount: 'ten' }, /maxReceiveCount.*expected an integer/],
    [{ runnerMinTasks: 5, runnerMaxTasks: 2 }, /runnerMinTasks.*at most runnerMaxTasks/],
    [{ runnerCpu: '1024', runnerMemoryMiB: 16384 }, /runnerMemoryMiB.*between 2048 and 8192/],
    [{ auroraMinCapacity: 0.25 }, /auroraMinCapacity.*0 \(auto-pause\) or at least 0.5/],
    [{ runnerWorkerThreads: 16, maxConcurrentTasks: 8 }, /runnerWorkerThreads.*at most maxConcurrentTasks/],
    [{ deletionProtection: 'yes' }, /deletionProtection.*true or false/],
    [{ logRetentionDays: '31' }, /logRetentionDays.*must be one of/],
    [{ judgeBaseUrl: 'not a url' }, /judgeBaseUrl/],
  ])('rejects %j naming the value', (context, message) => {
    expect(() => read(context)).toThrow(SettingError);
    expect(() => read(context)).toThrow(message);
  });
});

describe('maxConnections', () => {
  it('follows the documented Aurora Serverless v2 PostgreSQL table for the maximum ACUs, capped at 2,000 when the minimum is 0 or 0.5 ACU', () => {
    expect(maxConnections(1, 1)).toBe(189);
    expect(maxConnections(1, 4)).toBe(823);
    expect(maxConnections(1, 8)).toBe(1669);
    expect(maxConnections(1, 16)).toBe(3360);
    expect(maxConnections(1, 32)).toBe(5000);
    expect(maxConnections(1, 256)).toBe(5000);
    expect(maxConnections(0, 16)).toBe(2000);
    expect(maxConnections(0.5, 64)).toBe(2000);
    expect(maxConnections(0, 4)).toBe(823);
  });

  it('takes the lower table row between two rows (the alarm must not wait for connections that cannot exist)', () => {
    expect(maxConnections(1, 6)).toBe(823);
    expect(maxConnections(1, 2)).toBe(189);
  });
});

describe('backlogSteps', () => {
  it('is one task per backlogPerTask messages, contiguous, up to maxTasks', () => {
    expect(backlogSteps(500, 4)).toEqual([
      { lowerBacklog: 1, upperBacklog: 500, tasks: 1 },
      { lowerBacklog: 501, upperBacklog: 1000, tasks: 2 },
      { lowerBacklog: 1001, upperBacklog: 1500, tasks: 3 },
      { lowerBacklog: 1501, tasks: 4 },
    ]);
    expect(backlogSteps(10, 1)).toEqual([{ lowerBacklog: 1, tasks: 1 }]);
  });

  it('uses at most 10 steps, rounding the task count up', () => {
    const steps = backlogSteps(100, 25);
    expect(steps).toHaveLength(10);
    expect(steps.map((s) => s.tasks)).toEqual([3, 5, 8, 10, 13, 15, 18, 20, 23, 25]);
    for (let i = 1; i < steps.length; i++) expect(steps[i].lowerBacklog).toBe(steps[i - 1].upperBacklog! + 1);
    // Never fewer tasks than ceil(backlog / perTask).
    for (const s of steps) expect(s.tasks).toBeGreaterThanOrEqual(Math.ceil((s.upperBacklog ?? s.lowerBacklog) / 100));
  });
});
