/**
 * Aurora Serverless v2 PostgreSQL: a serverless writer (and, with
 * `auroraReader`, a serverless reader in the other AZ) in the isolated
 * subnets, encrypted, TLS enforced, reachable on 5432 from the runner's
 * security group only.
 *
 * - The Lambdas reach it through the RDS Data API (HTTPS, no connection
 *   held), so Aurora can pause at 0 ACU between bursts and a burst of
 *   Lambdas opens no PostgreSQL connection at all.
 *   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.html
 * - The master password is generated, stored and rotated by RDS itself
 *   (ManageMasterUserPassword): no rotation Lambda, nothing in the VPC needs
 *   Secrets Manager. The secret is JSON {"username", "password"}, encrypted
 *   with the AWS managed key aws/secretsmanager (no kms grant needed to read
 *   it), and is what the Data API and the runner read.
 *   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html
 * - Auto-pause (0 ACU) needs Aurora PostgreSQL 16.3+.
 *   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-auto-pause.html
 */
import { Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export const DATABASE_NAME = 'evalap';
export const DATABASE_USER = 'evalap';
export const DATABASE_PORT = 5432;

/**
 * PostgreSQL's default max_connections of an Aurora Serverless v2 instance,
 * which Aurora derives from the maximum capacity (the documented table,
 * "Maximum connections for Aurora Serverless v2", Aurora PostgreSQL column):
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html#aurora-serverless-v2.max-connections
 */
const MAX_CONNECTIONS_BY_MAX_ACU: readonly [maxAcu: number, connections: number][] = [
  [1, 189],
  [4, 823],
  [8, 1669],
  [16, 3360],
  [32, 5000],
];

/**
 * max_connections for a capacity range: the table's row at or below
 * `maxCapacity` (a lower bound between rows), capped at 2,000 when the
 * minimum is 0 or 0.5 ACU, as the same page documents for PostgreSQL.
 */
export function maxConnections(minCapacity: number, maxCapacity: number): number {
  let connections = MAX_CONNECTIONS_BY_MAX_ACU[0][1];
  for (const [acu, value] of MAX_CONNECTIONS_BY_MAX_ACU) if (maxCapacity >= acu) connections = value;
  return minCapacity <= 0.5 ? Math.min(connections, 2000) : connections;
}

export interface DatabaseProps {
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  minCapacity: number;
  maxCapacity: number;
  autoPauseMin: number;
  reader: boolean;
  backupRetentionDays: number;
  deletionProtection: boolean;
  logRetention: logs.RetentionDays;
}

export class Database extends Construct {
  readonly cluster: rds.DatabaseCluster;
  /** The cluster's CloudFormation resource (the Data API's resource ARN, the managed secret). */
  readonly cfnCluster: rds.CfnDBCluster;
  /** The writer instance: what migrations wait for. */
  readonly writer: rds.CfnDBInstance;
  readonly reader?: rds.CfnDBInstance;
  /** The RDS-managed master user secret ({"username", "password"}). */
  readonly secret: secretsmanager.ISecret;
  readonly securityGroup: ec2.SecurityGroup;
  readonly maxConnections: number;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const engine = rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_9 });
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'Evalap: TLS required',
      parameters: { 'rds.force_ssl': '1' },
    });
    // A fixed identifier, so the PostgreSQL log group can be made here with
    // its retention (RDS writes to it) instead of by a log-retention Lambda.
    const clusterIdentifier = `${Stack.of(this).stackName.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-db`;
    const logGroup = new logs.LogGroup(this, 'PostgresqlLogs', {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // No rule until allowFrom: only the runner connects over the network.
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Evalap Aurora PostgreSQL: 5432 from the runner only',
      allowAllOutbound: false,
    });
    // The writer in the first AZ, the reader in the second: a reader left to
    // RDS's choice could land beside the writer and survive nothing.
    const az = (i: number) => Fn.select(i, Fn.getAzs());
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier,
      engine,
      parameterGroup,
      port: DATABASE_PORT,
      writer: rds.ClusterInstance.serverlessV2('writer', { publiclyAccessible: false, autoMinorVersionUpgrade: true, availabilityZone: az(0) }),
      readers: props.reader
        ? [rds.ClusterInstance.serverlessV2('reader', { publiclyAccessible: false, autoMinorVersionUpgrade: true, availabilityZone: az(1), scaleWithWriter: true })]
        : [],
      serverlessV2MinCapacity: props.minCapacity,
      serverlessV2MaxCapacity: props.maxCapacity,
      ...(props.minCapacity === 0 ? { serverlessV2AutoPauseDuration: Duration.minutes(props.autoPauseMin) } : {}),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      credentials: rds.Credentials.fromUsername(DATABASE_USER),
      manageMasterUserPassword: true,
      enableDataApi: true,
      defaultDatabaseName: DATABASE_NAME,
      storageEncrypted: true,
      backup: { retention: Duration.days(props.backupRetentionDays), preferredWindow: '03:00-04:00' },
      preferredMaintenanceWindow: 'Sun:04:30-Sun:05:30',
      deletionProtection: props.deletionProtection,
      removalPolicy: props.deletionProtection ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      copyTagsToSnapshot: true,
      cloudwatchLogsExports: ['postgresql'],
    });
    this.cluster.node.addDependency(logGroup);
    this.cfnCluster = this.cluster.node.defaultChild as rds.CfnDBCluster;
    this.writer = this.cluster.node.findChild('writer').node.defaultChild as rds.CfnDBInstance;
    if (props.reader) this.reader = this.cluster.node.findChild('reader').node.defaultChild as rds.CfnDBInstance;
    this.secret = this.cluster.secret!;
    this.maxConnections = maxConnections(props.minCapacity, props.maxCapacity);
  }

  /** The cluster's ARN, the Data API's resource ARN (DATABASE_RESOURCE_ARN). */
  get clusterArn(): string {
    return this.cfnCluster.attrDbClusterArn;
  }

  /**
   * The variables a Lambda needs to use the Data API (core/config.ts:
   * DATABASE_RESOURCE_ARN, DATABASE_SECRET_ARN, PGDATABASE).
   */
  get dataApiEnvironment(): Record<string, string> {
    return { DATABASE_RESOURCE_ARN: this.clusterArn, DATABASE_SECRET_ARN: this.secret.secretArn, PGDATABASE: DATABASE_NAME };
  }

  /**
   * Lets `grantee` run SQL through the Data API: the five statement and
   * transaction actions on this cluster, and reading the secret the Data API
   * is called with (the caller's identity must read it: Data API calls carry
   * the secret's ARN). The secret's key is AWS managed: no kms:Decrypt grant.
   * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.access.html
   */
  grantDataApi(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DataApi',
        actions: ['rds-data:ExecuteStatement', 'rds-data:BatchExecuteStatement', 'rds-data:BeginTransaction', 'rds-data:CommitTransaction', 'rds-data:RollbackTransaction'],
        resources: [this.clusterArn],
      }),
    );
    this.grantReadSecret(grantee);
  }

  /** Lets `grantee` read the master user secret (GetSecretValue only). */
  grantReadSecret(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'DatabaseSecret', actions: ['secretsmanager:GetSecretValue'], resources: [this.secret.secretArn] }),
    );
  }

  /** Lets `peer` connect to PostgreSQL on 5432. */
  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.cluster.connections.allowFrom(peer, ec2.Port.tcp(DATABASE_PORT), description);
  }
}
