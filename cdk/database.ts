/**
 * Aurora Serverless v2 PostgreSQL: one serverless writer that pauses at 0 ACU
 * when idle (Aurora PostgreSQL 16.3+ supports auto-pause), in the isolated
 * subnets, encrypted, TLS enforced, its credentials generated into Secrets
 * Manager and rotated.
 *
 * The secret is JSON: {username, password, host, port, dbname, engine,
 * dbClusterIdentifier}. The runner gets its fields as PG* variables (ECS
 * secrets); the Lambdas get its ARN (DATABASE_SECRET_ARN) and read it.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export const DATABASE_NAME = 'evalap';
export const DATABASE_USER = 'evalap';
/** Characters left out of the generated password: those that need quoting in URLs and shells. */
const EXCLUDE = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\,=';

export interface DatabaseProps {
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  /** Where the rotation Lambda runs (it needs the Secrets Manager endpoint or NAT). */
  rotationSubnets: ec2.SubnetSelection;
  minCapacity: number;
  maxCapacity: number;
  autoPauseMin: number;
  backupRetentionDays: number;
  deletionProtection: boolean;
  logRetention: logs.RetentionDays;
}

export class Database extends Construct {
  readonly cluster: rds.DatabaseCluster;
  readonly secret: secretsmanager.ISecret;

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
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier,
      engine,
      parameterGroup,
      writer: rds.ClusterInstance.serverlessV2('writer', { publiclyAccessible: false, autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: props.minCapacity,
      serverlessV2MaxCapacity: props.maxCapacity,
      ...(props.minCapacity === 0 ? { serverlessV2AutoPauseDuration: Duration.minutes(props.autoPauseMin) } : {}),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      credentials: rds.Credentials.fromGeneratedSecret(DATABASE_USER, { excludeCharacters: EXCLUDE }),
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
    this.secret = this.cluster.secret!;
    this.cluster.addRotationSingleUser({
      automaticallyAfter: Duration.days(30),
      excludeCharacters: EXCLUDE,
      vpcSubnets: props.rotationSubnets,
    });
  }

  /** Lets `peer` connect to PostgreSQL. */
  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.cluster.connections.allowDefaultPortFrom(peer, description);
  }
}
