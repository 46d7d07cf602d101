/**
 * The VPC, in one of two layouts (the `networkLayout` setting):
 *
 * - `public` (the default): public subnets for the runners and isolated
 *   subnets for the database; no NAT gateway and no interface endpoint.
 *   A runner task gets a public IPv4 address while it runs (Fargate's
 *   `assignPublicIp`) and reaches SQS, Secrets Manager, KMS, ECR, CloudWatch
 *   Logs and the model APIs through the internet gateway; its security group
 *   admits nothing inbound, so the address answers nothing. Idle, the layout
 *   costs nothing: a public IPv4 address is billed only while a task holds
 *   it, and the Lambdas run outside the VPC (they reach the database through
 *   the RDS Data API).
 *   IPv6 with an egress-only gateway was considered and not chosen: Fargate
 *   would still need IPv4 (or NAT64 + DNS64, i.e. a NAT gateway) for
 *   endpoints and model APIs that have no IPv6 address, and the public IPv4
 *   address it saves costs $0.005 per task-hour, about 1/8 of the task's own
 *   Fargate price.
 * - `private`: the runners in private subnets behind `natGateways` NAT
 *   gateways (public subnets hold only the NAT gateways), with optional
 *   interface endpoints, for teams whose policy forbids public addresses.
 *
 * Both: a free S3 gateway endpoint (ECR's image layers come from S3) and
 * flow logs of all traffic.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export const VPC_CIDR = '10.40.0.0/16';

export type NetworkLayout = 'public' | 'private';

export interface NetworkProps {
  layout: NetworkLayout;
  /** NAT gateways of the private layout (1 or 2). */
  natGateways: number;
  /** Interface endpoints, private layout only. */
  interfaceEndpoints: boolean;
  logRetention: logs.RetentionDays;
}

/** The interface endpoints of the private layout, by construct id. */
const INTERFACE_ENDPOINTS: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
  Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
};

export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly layout: NetworkLayout;
  /** Where the runner's tasks run. */
  readonly runnerSubnets: ec2.SubnetSelection;
  /** Whether a runner task needs a public IP to reach anything (the public layout). */
  readonly runnerPublicIp: boolean;
  /** Where the database runs: no route out of the VPC. */
  readonly dataSubnets: ec2.SubnetSelection;
  readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.layout = props.layout;
    const isPublic = props.layout === 'public';
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
      // Two AZs: Aurora's subnet group needs two, and an environment-agnostic stack knows no more.
      maxAzs: 2,
      natGateways: isPublic ? 0 : props.natGateways,
      subnetConfiguration: isPublic
        ? [
            // Nothing launched here gets an address unless it asks (Fargate's assignPublicIp does).
            { name: 'runner', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 22, mapPublicIpOnLaunch: false },
            { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
          ]
        : [
            { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
            { name: 'runner', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
            { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
          ],
      // Every resource has its own security group; nothing uses the default one.
      restrictDefaultSecurityGroup: false,
    });
    this.runnerSubnets = { subnetGroupName: 'runner' };
    this.runnerPublicIp = isPublic;
    this.dataSubnets = { subnetGroupName: 'data' };

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    // S3 gateway endpoint: free, and ECR image layers come from S3.
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [this.runnerSubnets] });
    if (!isPublic && props.interfaceEndpoints) {
      // One security group for every endpoint: HTTPS from inside the VPC.
      const endpoints = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        description: 'Evalap VPC interface endpoints: HTTPS from the VPC',
        allowAllOutbound: false,
      });
      endpoints.addIngressRule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), 'HTTPS from the VPC');
      for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS)) {
        this.vpc.addInterfaceEndpoint(name, { service, subnets: this.runnerSubnets, privateDnsEnabled: true, open: false, securityGroups: [endpoints] });
      }
    }
  }
}
