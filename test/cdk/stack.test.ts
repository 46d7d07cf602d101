/**
 * The CDK stack, synthesized once as `cdk synth` would (cdk.json's context,
 * Lambdas bundled by the local esbuild, CloudFormation schema validation on),
 * then checked resource by resource, and against cdk-nag's AwsSolutions pack.
 * A few variants (no NAT, other context values) synthesize without bundling.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Token, type CfnElement } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
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
  // Synthesizes once more (forced), once for every test; the template was validated above already.
  const validation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    annotations = Annotations.fromStack(stack);
  } finally {
    if (validation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = validation;
  }
}, 120_000);

afterAll(() => removeOutdir(outdir));

const idOf = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const one = (type: string): [string, Json] => {
  const found = ofType(type);
  expect(found).toHaveLength(1);
  return found[0];
};
const envOf = (vars: { Name: string; Value: unknown }[]) => Object.fromEntries(vars.map((v) => [v.Name, v.Value]));

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
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

describe('the synthesized stack', () => {
  it('synthesizes offline, bundling both Lambdas with the local esbuild', () => {
    // Reported, not asserted: the machine's load varies.
    process.stdout.write(`cdk synth (bundling + validation) took ${synthMs} ms\n`);
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
    const bundles = Object.values(assets.files as Record<string, Json>)
      .map((f) => path.join(outdir, f.source.path))
      .filter((p) => fs.existsSync(path.join(p, 'index.mjs')));
    expect(bundles).toHaveLength(2);
    for (const dir of bundles) {
      const code = fs.readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      expect(code.length).toBeGreaterThan(50_000);
      expect(code).toContain('createRequire');
      expect(code).toMatch(/export\s*\{[^}]*\bas handler\b|export\s*\{[^}]*\bhandler\b/);
    }
  });

  it('passes cdk-nag AwsSolutions: no unsuppressed error or warning', () => {
    const errors = annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data).slice(0, 120)}`)).toEqual([]);
    const warnings = annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(warnings.map((w) => `${w.id}: ${String(w.entry.data).slice(0, 120)}`)).toEqual([]);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('CdkNagValidationFailure.*'))).toEqual([]);
  });

  it('gives every cdk-nag suppression a reason', () => {
    const suppressions = Object.values(resources).flatMap((r) => (r.Metadata?.cdk_nag?.rules_to_suppress ?? []) as Json[]);
    expect(suppressions.length).toBeGreaterThan(0);
    for (const s of suppressions) {
      expect(s.id).toMatch(/^AwsSolutions-/);
      expect(typeof s.reason).toBe('string');
      expect(s.reason.length).toBeGreaterThan(40);
    }
  });

  it('has the tasks queue and its DLQ: SSE, TLS only, redrive after maxReceiveCount, the runner\'s visibility timeout', () => {
    const queueId = idOf(stack.tasks.queue);
    const dlqId = idOf(stack.tasks.deadLetterQueue);
    const queue = resources[queueId].Properties;
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(queue.VisibilityTimeout).toBe(60);
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 10 });
    expect(resources[dlqId].Properties.SqsManagedSseEnabled).toBe(true);
    for (const id of [queueId, dlqId]) {
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

  it('runs the API Lambda on Node.js 22, ARM64, traced, in the VPC, with its log retention and environment', () => {
    const fn = resources[idOf(stack.api.function)].Properties;
    expect(fn.Runtime).toBe('nodejs22.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.Timeout).toBeLessThanOrEqual(30);
    expect(fn.VpcConfig.SubnetIds).toHaveLength(2);
    const logGroup = resources[fn.LoggingConfig.LogGroup.Ref];
    expect(logGroup.Properties.RetentionInDays).toBe(30);
    const env = fn.Environment.Variables;
    expect(env.QUEUE_URL).toEqual({ Ref: idOf(stack.tasks.queue) });
    expect(env.DATABASE_SECRET_ARN).toEqual({ Ref: idOf(stack.database.secret) });
    expect(env.EVALAP_API_KEYS_SECRET_ARN).toEqual({ Ref: idOf(stack.secrets.apiKeys) });
    expect(env.EVALAP_KMS_KEY_ID).toEqual({ 'Fn::GetAtt': [idOf(stack.secrets.providerKeyEncryption), 'Arn'] });
    expect(env.PGSSLMODE).toBe('verify-full');
    // Secrets are never in the environment in clear.
    expect(JSON.stringify(env)).not.toMatch(/PGPASSWORD|EVALAP_ADMIN_KEY"|EVALAP_SECRET_KEY/);
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

  it('runs Aurora Serverless v2 PostgreSQL able to pause at 0 ACU, encrypted, backed up, protected, in isolated subnets', () => {
    const [, cluster] = one('AWS::RDS::DBCluster');
    const p = cluster.Properties;
    expect(p.Engine).toBe('aurora-postgresql');
    const [major, minor] = String(p.EngineVersion).split('.').map(Number);
    // Auto-pause (0 ACU) needs Aurora PostgreSQL 16.3+.
    expect(major).toBe(16);
    expect(minor).toBeGreaterThanOrEqual(3);
    expect(p.ServerlessV2ScalingConfiguration).toMatchObject({ MinCapacity: 0, MaxCapacity: 4 });
    expect(p.ServerlessV2ScalingConfiguration.SecondsUntilAutoPause).toBeGreaterThanOrEqual(300);
    expect(p.StorageEncrypted).toBe(true);
    expect(p.BackupRetentionPeriod).toBe(7);
    expect(p.DeletionProtection).toBe(true);
    expect(cluster.DeletionPolicy).toBe('Snapshot');
    const [, instance] = one('AWS::RDS::DBInstance');
    expect(instance.Properties).toMatchObject({ DBInstanceClass: 'db.serverless', PubliclyAccessible: false });
    // TLS enforced.
    template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Parameters: { 'rds.force_ssl': '1' } });
    // Isolated subnets: their route tables have no route at all out of the VPC.
    const [, subnetGroup] = one('AWS::RDS::DBSubnetGroup');
    const dataSubnets = subnetGroup.Properties.SubnetIds.map((s: Json) => s.Ref);
    expect(dataSubnets).toHaveLength(2);
    for (const subnet of dataSubnets) {
      expect(resources[subnet].Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'aws-cdk:subnet-type', Value: 'Isolated' }]));
      const association = Object.values(resources).find((r) => r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && r.Properties.SubnetId.Ref === subnet)!;
      const routes = ofType('AWS::EC2::Route').filter(([, r]) => r.Properties.RouteTableId.Ref === association.Properties.RouteTableId.Ref);
      expect(routes).toEqual([]);
    }
  });

  it('keeps the database credentials in a rotated secret, reachable from the API, runner and schedule function only', () => {
    const [, rotation] = one('AWS::SecretsManager::RotationSchedule');
    expect(rotation.Properties.RotationRules).toEqual({ ScheduleExpression: 'rate(30 days)' });
    one('AWS::Serverless::Application');
    const dbSg = resources[idOf(stack.database.cluster)].Properties.VpcSecurityGroupIds[0]['Fn::GetAtt'][0];
    const sources = ofType('AWS::EC2::SecurityGroupIngress')
      .filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === dbSg)
      .map(([, r]) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]);
    const expected = [stack.api.securityGroup, stack.runner.securityGroup, stack.schedules.securityGroup].map((sg) => stack.getLogicalId(sg.node.defaultChild as CfnElement));
    expect(sources).toEqual(expect.arrayContaining(expected));
    // Plus the rotation Lambda's; nothing else.
    expect(sources).toHaveLength(expected.length + 1);
    for (const [, r] of ofType('AWS::EC2::SecurityGroupIngress').filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === dbSg)) {
      const port = { 'Fn::GetAtt': [idOf(stack.database.cluster), 'Endpoint.Port'] };
      expect(r.Properties).toMatchObject({ FromPort: port, ToPort: port, IpProtocol: 'tcp' });
    }
  });

  it('has one NAT gateway by default and the VPC endpoints that keep AWS traffic off it', () => {
    expect(ofType('AWS::EC2::NatGateway')).toHaveLength(1);
    const endpoints = ofType('AWS::EC2::VPCEndpoint').map(([, r]) => r.Properties);
    const services = endpoints.map((e) => JSON.stringify(e.ServiceName));
    for (const service of ['.sqs', '.secretsmanager', '.kms', '.logs', '.ecr.api', '.ecr.dkr', '.s3']) {
      expect(services.some((s) => s.includes(service + '"'))).toBe(true);
    }
    const s3 = endpoints.find((e) => JSON.stringify(e.ServiceName).includes('.s3"'))!;
    expect(s3.VpcEndpointType).toBe('Gateway');
    for (const e of endpoints.filter((e) => e.VpcEndpointType === 'Interface')) expect(e.PrivateDnsEnabled).toBe(true);
    one('AWS::EC2::FlowLog');
  });

  it('runs the runner on Fargate ARM64 from runner/Dockerfile, configured from context, its secrets injected by ECS', () => {
    const [, taskDef] = one('AWS::ECS::TaskDefinition');
    const p = taskDef.Properties;
    expect(p.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    expect(p.RequiresCompatibilities).toEqual(['FARGATE']);
    expect(p).toMatchObject({ Cpu: '1024', Memory: '2048', NetworkMode: 'awsvpc' });
    expect(p.ContainerDefinitions).toHaveLength(1);
    const container = p.ContainerDefinitions[0];
    const env = envOf(container.Environment);
    expect(env).toMatchObject({
      MAX_CONCURRENT_TASKS: '8',
      RUNNER_WORKER_THREADS: '1',
      RUNNER_VISIBILITY_TIMEOUT_SEC: '60',
      RUNNER_SHUTDOWN_GRACE_MS: '25000',
      QUEUE_URL: { Ref: idOf(stack.tasks.queue) },
      DLQ_URL: { Ref: idOf(stack.tasks.deadLetterQueue) },
      AWS_REGION: { Ref: 'AWS::Region' },
    });
    // RUNNER_SHUTDOWN_GRACE_MS + margin, at most ECS's 120 s.
    expect(container.StopTimeout).toBe(40);
    expect(container.ReadonlyRootFilesystem).toBe(true);
    const secrets = Object.fromEntries((container.Secrets as Json[]).map((s) => [s.Name, JSON.stringify(s.ValueFrom)]));
    expect(Object.keys(secrets).sort()).toEqual(['EVALAP_JUDGE_API_KEY', 'PGDATABASE', 'PGHOST', 'PGPASSWORD', 'PGPORT', 'PGUSER']);
    expect(secrets.PGPASSWORD).toContain(':password::');
    expect(container.LogConfiguration.LogDriver).toBe('awslogs');
    expect(resources[container.LogConfiguration.Options['awslogs-group'].Ref].Properties.RetentionInDays).toBe(30);

    const [, service] = one('AWS::ECS::Service');
    expect(service.Properties).toMatchObject({ DesiredCount: 0, LaunchType: 'FARGATE' });
    expect(service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe('DISABLED');
    const [, cluster] = one('AWS::ECS::Cluster');
    expect(cluster.Properties.ClusterSettings).toEqual([{ Name: 'containerInsights', Value: 'enabled' }]);

    const assets = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
    const images = Object.values(assets.dockerImages as Record<string, Json>);
    expect(images).toHaveLength(1);
    expect(images[0].source).toMatchObject({ dockerFile: 'runner/Dockerfile', platform: 'linux/arm64' });
    // The build context synth copied: sources, no node_modules, build output or git history.
    const context = fs.readdirSync(path.join(outdir, images[0].source.directory));
    expect(context).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'runner', 'core', 'scripts']));
    for (const heavy of ['node_modules', '.git', 'dist', 'cdk.out', '.evalap', 'test']) expect(context).not.toContain(heavy);
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

  it('grants least privilege: data-plane actions (sqs, secretsmanager, kms) only on this stack\'s resources', () => {
    const statements = identityStatements(resources);
    expect(statements.length).toBeGreaterThan(10);
    const dataPlane = statements.filter(({ statement }) => list(statement.Action).some((a: string) => /^(sqs|secretsmanager|kms):/.test(a)));
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
    const allowedOnStar = /^(ec2:(Create|Describe|Delete)NetworkInterfaces?|ec2:DescribeSubnets|ec2:(Assign|Unassign)PrivateIpAddresses|xray:PutTraceSegments|xray:PutTelemetryRecords|ecr:GetAuthorizationToken)$/;
    for (const { policy, statement } of statements.filter(({ statement }) => list(statement.Resource).includes('*'))) {
      for (const action of list(statement.Action) as string[]) expect([policy, action]).toEqual([policy, expect.stringMatching(allowedOnStar)]);
    }
    // No AWS managed policy on any role.
    for (const [, role] of ofType('AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('splits the KMS grants: the API seals provider keys (GenerateDataKey), the runner opens them (Decrypt)', () => {
    const keyId = idOf(stack.secrets.providerKeyEncryption);
    expect(resources[keyId].Properties.EnableKeyRotation).toBe(true);
    const kmsActions = (role: IConstruct) => {
      const roleId = stack.getLogicalId(role.node.defaultChild as CfnElement);
      return identityStatements(resources)
        .filter(({ policy }) => resources[policy].Properties.Roles?.some((r: Json) => r.Ref === roleId))
        .flatMap(({ statement }) => list(statement.Action) as string[])
        .filter((a) => a.startsWith('kms:'))
        .sort();
    };
    expect(kmsActions(stack.api.function.role!)).toEqual(['kms:GenerateDataKey']);
    expect(kmsActions(stack.runner.taskDefinition.taskRole)).toEqual(['kms:Decrypt']);
    // A tick launches a set from its template: it seals provider keys as the API does.
    expect(kmsActions(stack.schedules.function.role!)).toEqual(['kms:GenerateDataKey']);
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
    const statements = identityStatements(resources).filter(({ policy }) => resources[policy].Properties.Roles?.some((r: Json) => r.Ref === roleId));
    expect(statements.map(({ statement }) => statement)).toEqual([{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fnId, 'Arn'] } }]);
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
    const roleId = stack.getLogicalId(stack.api.function.role!.node.defaultChild as CfnElement);
    const statements = identityStatements(resources)
      .filter(({ policy }) => resources[policy].Properties.Roles?.some((r: Json) => r.Ref === roleId))
      .map(({ statement }) => statement);
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
    expect(JSON.parse(providerKeys.SecretString)).toEqual({ EVALAP_JUDGE_API_KEY: '' });
  });

  it('alarms on the DLQ, the oldest task, runner errors and API 5xx, to an SNS topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const topicId = idOf(stack.monitoring.topic);
    const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name && a.AlarmActions?.some((x: Json) => x.Ref === topicId));
    const [dlq] = byMetric('ApproximateNumberOfMessagesVisible');
    expect(dlq).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(stack.tasks.deadLetterQueue), 'QueueName'] } }] });
    const [oldest] = byMetric('ApproximateAgeOfOldestMessage');
    expect(oldest).toMatchObject({ Threshold: 3600, Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(stack.tasks.queue), 'QueueName'] } }] });
    const [runnerErrors] = byMetric('RunnerErrors');
    expect(runnerErrors).toMatchObject({ Namespace: 'Evalap/Evalap', Statistic: 'Sum', Threshold: 1 });
    const [api5xx] = byMetric('5xx');
    expect(api5xx).toMatchObject({ Namespace: 'AWS/ApiGateway', Dimensions: [{ Name: 'ApiId', Value: { Ref: idOf(stack.api.httpApi) } }] });

    const filters = Object.fromEntries(ofType('AWS::Logs::MetricFilter').map(([, f]) => [f.Properties.MetricTransformations[0].MetricName, f.Properties]));
    expect(filters.RunnerErrors).toMatchObject({ FilterPattern: '{ $.level = "error" }', LogGroupName: { Ref: idOf(stack.runner.logGroup) } });
    expect(filters.ModelThrottles).toMatchObject({ FilterPattern: '{ $.event = "model_throttled" }', LogGroupName: { Ref: idOf(stack.runner.logGroup) } });
    one('AWS::SNS::Topic');
  });

  it('has a dashboard of queue depth, tasks per minute, runners and model 429s', () => {
    const [, dashboard] = one('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of ['ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesNotVisible', 'NumberOfMessagesDeleted', 'RunningTaskCount', 'ModelThrottles', 'ServerlessDatabaseCapacity']) {
      expect(body).toContain(metric);
    }
  });

  it('gives every log group a retention', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(6);
    for (const [, g] of groups) expect(g.Properties.RetentionInDays).toBe(30);
    // No log-retention custom resource Lambda either.
    expect(ofType('Custom::LogRetention')).toEqual([]);
  });

  it('outputs the API URL, the queue URL and the database endpoint', () => {
    const outputs = template.toJSON().Outputs;
    expect(outputs.ApiUrl.Value).toBeDefined();
    expect(JSON.stringify(outputs.ApiUrl.Value)).toContain(idOf(stack.api.httpApi));
    expect(outputs.QueueUrl.Value).toEqual({ Ref: idOf(stack.tasks.queue) });
    expect(JSON.stringify(outputs.DatabaseEndpoint.Value)).toContain('Endpoint.Address');
  });

  it('is environment-agnostic: no account, region or availability zone fixed at synth', () => {
    expect(Token.isUnresolved(stack.account)).toBe(true);
    expect(Token.isUnresolved(stack.region)).toBe(true);
    // Resources and outputs (the Mappings hold AWS's own Serverless Application Repository accounts).
    const { Resources, Outputs } = template.toJSON();
    const text = JSON.stringify({ Resources, Outputs });
    expect(text.match(/\b\d{12}\b/g)).toBeNull();
    expect(text.match(/"(us|eu|ap|sa|ca|me|af)-[a-z]+-\d[a-z]?"/g)).toBeNull();
  });
});

describe('context variants', () => {
  it('without NAT gateway: isolated application subnets, no internet gateway, endpoints kept, still nag-clean', () => {
    const { stack: s, outdir: dir } = synth({ context: { natGateways: 0 } });
    try {
      const t = Template.fromStack(s);
      t.resourceCountIs('AWS::EC2::NatGateway', 0);
      t.resourceCountIs('AWS::EC2::InternetGateway', 0);
      const res = t.toJSON().Resources as Record<string, Json>;
      const subnets = Object.values(res).filter((r) => r.Type === 'AWS::EC2::Subnet');
      expect(subnets).toHaveLength(4);
      for (const subnet of subnets) expect(subnet.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'aws-cdk:subnet-type', Value: 'Isolated' }]));
      expect(Object.values(res).filter((r) => r.Type === 'AWS::EC2::VPCEndpoint')).toHaveLength(7);
      expect(Annotations.fromStack(s).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    } finally {
      removeOutdir(dir);
    }
  });

  it('reads context from the command line (strings): concurrency, scaling bounds, grace, deletion protection, judge', () => {
    const { stack: s, outdir: dir } = synth({
      context: {
        maxConcurrentTasks: '64',
        runnerCpu: '2048',
        runnerMaxTasks: '20',
        runnerMinTasks: '1',
        backlogPerTask: '100',
        maxReceiveCount: '5',
        visibilityTimeoutSec: '120',
        shutdownGraceMs: '100000',
        deletionProtection: 'false',
        auroraMaxCapacity: '8',
        judgeModel: 'gpt-judge',
        judgeBaseUrl: 'https://judge.example.com/v1',
        interfaceEndpoints: 'false',
        alarmEmail: 'ops@example.com',
      },
    });
    try {
      const t = Template.fromStack(s);
      const res = t.toJSON().Resources as Record<string, Json>;
      const byType = (type: string) => Object.values(res).filter((r) => r.Type === type);
      const container = byType('AWS::ECS::TaskDefinition')[0].Properties.ContainerDefinitions[0];
      expect(envOf(container.Environment)).toMatchObject({
        MAX_CONCURRENT_TASKS: '64',
        // 2 vCPUs: one worker thread, the main thread keeps the other core.
        RUNNER_WORKER_THREADS: '1',
        RUNNER_VISIBILITY_TIMEOUT_SEC: '120',
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
      expect(cluster.Properties.DeletionProtection).toBe(false);
      expect(cluster.DeletionPolicy).toBe('Delete');
      expect(cluster.Properties.ServerlessV2ScalingConfiguration.MaxCapacity).toBe(8);
      expect(byType('AWS::EC2::VPCEndpoint')).toHaveLength(1);
      t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
      expect(Annotations.fromStack(s).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    } finally {
      removeOutdir(dir);
    }
  });
});

describe('context validation', () => {
  const read = (context: Record<string, unknown>) => readSettings({ tryGetContext: (k: string) => context[k] });

  it('applies the defaults', () => {
    expect(read({})).toMatchObject({ natGateways: 1, maxReceiveCount: 10, visibilityTimeoutSec: 60, maxConcurrentTasks: 8, runnerMinTasks: 0, runnerMaxTasks: 4, auroraMinCapacity: 0, deletionProtection: true });
  });

  it.each([
    [{ natGateways: 0, interfaceEndpoints: false }, /interfaceEndpoints.*must be true when natGateways is 0/],
    [{ natGateways: '3' }, /natGateways.*between 0 and 2/],
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
