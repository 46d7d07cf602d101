/**
 * The VPC: isolated subnets for the database, application subnets for the
 * Lambdas and the runner, and the VPC endpoints that let them reach AWS
 * services without a NAT gateway.
 *
 * Why a NAT gateway by default: the runner calls model APIs on the internet
 * (OpenAI-compatible endpoints, judges), and nothing but a NAT gateway (or
 * public IPs, which Fargate tasks here never get) lets a private task do that.
 * `natGateways: 0` removes it (and the public subnets): then the application
 * subnets are isolated and only models reachable inside the VPC work; the
 * endpoints below carry every AWS call either way.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export const VPC_CIDR = '10.40.0.0/16';

export interface NetworkProps {
  natGateways: number;
  interfaceEndpoints: boolean;
  logRetention: logs.RetentionDays;
}

export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** Where the Lambdas and the runner run. */
  readonly appSubnets: ec2.SubnetSelection;
  /** Where the database runs: no route out of the VPC. */
  readonly dataSubnets: ec2.SubnetSelection;
  readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const egress = props.natGateways > 0;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
      // Two AZs: Aurora's subnet group needs two, and an environment-agnostic stack knows no more.
      maxAzs: 2,
      natGateways: props.natGateways,
      subnetConfiguration: [
        ...(egress ? [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }] : []),
        { name: 'app', subnetType: egress ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // Every resource has its own security group; nothing uses the default one.
      restrictDefaultSecurityGroup: false,
    });
    this.appSubnets = { subnetGroupName: 'app' };
    this.dataSubnets = { subnetGroupName: 'data' };

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    // S3 gateway endpoint: free; ECR image layers come from S3.
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [this.appSubnets] });
    if (props.interfaceEndpoints) {
      // One security group for every endpoint: HTTPS from inside the VPC.
      const endpoints = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        description: 'Evalap VPC interface endpoints: HTTPS from the VPC',
        allowAllOutbound: false,
      });
      endpoints.addIngressRule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), 'HTTPS from the VPC');
      const services: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
        Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
        SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
        Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
        EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
      };
      for (const [name, service] of Object.entries(services)) {
        this.vpc.addInterfaceEndpoint(name, { service, subnets: this.appSubnets, privateDnsEnabled: true, open: false, securityGroups: [endpoints] });
      }
    }
  }
}
