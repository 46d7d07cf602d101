/**
 * The web interface in AWS: its built files (index.html and the hashed
 * assets/ a build writes) in a private S3 bucket, served by a CloudFront
 * distribution that also sends the API's paths to the HTTP API. One origin
 * for the browser: the UI calls relative `/v1/...` URLs, so no CORS; the
 * distribution is where a custom domain and a WAF web ACL attach. The API's
 * own URL keeps working beside it.
 */
import { Duration, Fn, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';

/** The paths the API answers (functions/api: /v1 routes, the OpenAPI document, its documentation pages, health). */
export const API_PATHS = ['/v1/*', '/openapi.json', '/health', '/docs*', '/redoc*'] as const;
/** The build's content-hashed files (ui/build-options.js): a new build never reuses a name. */
export const ASSETS_DIR = 'assets';
export const ASSETS_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** index.html names the current assets: browsers and CloudFront check it on every load. */
export const PAGES_CACHE_CONTROL = 'no-cache';

export interface WebProps {
  /** Absolute path of the built UI folder (holds index.html). */
  uiDir: string;
  httpApi: apigwv2.IHttpApi;
  logRetention: logs.RetentionDays;
  /** Alternate domain name, with its us-east-1 ACM certificate; both or neither. */
  domainName?: string;
  certificateArn?: string;
  webAclArn?: string;
}

export class Web extends Construct {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly uiFiles: s3assets.Asset;
  readonly assetsDeployment: s3deploy.BucketDeployment;
  readonly pagesDeployment: s3deploy.BucketDeployment;
  readonly deployRole: iam.Role;
  readonly deployLogs: logs.LogGroup;
  /** https://<custom domain or the distribution's domain> */
  readonly url: string;

  constructor(scope: Construct, id: string, props: WebProps) {
    super(scope, id);

    // Kept when the stack is deleted (RETAIN): logs are records, and CloudFormation cannot delete a non-empty bucket.
    this.logBucket = new s3.Bucket(this, 'Logs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // CloudFront's standard logs are delivered with an ACL grant, so this bucket must have ACLs enabled
      // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html).
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(props.logRetention) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'Site', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // SSE-S3: CloudFront's origin access control reads it with no key policy to keep in step.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3/',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The objects' own Cache-Control decides (a year for assets/, revalidation for pages); nothing without one is cached.
    const uiCache = new cloudfront.CachePolicy(this, 'UiCache', {
      comment: 'Evalap UI: the objects\' own Cache-Control',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      maxTtl: Duration.days(365),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
    });

    // An HTTP API's endpoint is https://<id>.execute-api.<region>.amazonaws.com: the origin is its host.
    const apiOrigin = new origins.HttpOrigin(Fn.select(2, Fn.split('/', props.httpApi.apiEndpoint)), {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
    });
    const apiBehavior: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      // Everything the viewer sent but Host: API Gateway routes on its own domain name in Host and fails when it
      // carries the distribution's ("AllViewerExceptHostHeader",
      // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
      // With caching disabled this policy forwards Authorization too
      // (https://repost.aws/knowledge-center/cloudfront-authorization-header).
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };

    const customDomain = props.domainName && props.certificateArn ? { domainName: props.domainName, certificateArn: props.certificateArn } : undefined;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Evalap web interface and API',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: uiCache,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
        compress: true,
      },
      additionalBehaviors: Object.fromEntries(API_PATHS.map((p) => [p, apiBehavior])),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      ...(customDomain
        ? {
            domainNames: [customDomain.domainName],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', customDomain.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
      ...(props.webAclArn ? { webAclId: props.webAclArn } : {}),
    });
    this.url = `https://${customDomain?.domainName ?? this.distribution.distributionDomainName}`;

    this.uiFiles = new s3assets.Asset(this, 'UiFiles', { path: props.uiDir });
    this.deployLogs = new logs.LogGroup(this, 'DeployLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.deployRole = this.deploymentRole();

    const common = {
      sources: [s3deploy.Source.bucket(this.uiFiles.bucket, this.uiFiles.s3ObjectKey)],
      destinationBucket: this.bucket,
      // The role's policy is written here, narrower than BucketDeployment's own grants (whole buckets, invalidations on "*").
      role: this.deployRole.withoutPolicyUpdates(),
      logGroup: this.deployLogs,
    };
    // Old assets stay (prune off): a page loaded before a deploy may still fetch them.
    this.assetsDeployment = new s3deploy.BucketDeployment(this, 'DeployAssets', {
      ...common,
      exclude: ['*'],
      include: [`${ASSETS_DIR}/*`],
      prune: false,
      cacheControl: [s3deploy.CacheControl.fromString(ASSETS_CACHE_CONTROL)],
    });
    // Pages go up after the assets they name. Their sync prunes other pages but never assets/: `aws s3 sync --delete`
    // leaves files its filters exclude, and the last matching filter wins, so `--exclude * --include assets/*` above
    // copies assets/ alone (https://docs.aws.amazon.com/cli/latest/reference/s3/sync.html, --delete;
    // https://docs.aws.amazon.com/cli/latest/reference/s3/#use-of-exclude-and-include-filters).
    this.pagesDeployment = new s3deploy.BucketDeployment(this, 'DeployPages', {
      ...common,
      exclude: [`${ASSETS_DIR}/*`],
      prune: true,
      cacheControl: [s3deploy.CacheControl.fromString(PAGES_CACHE_CONTROL)],
      distribution: this.distribution,
      distributionPaths: ['/', '/index.html'],
    });
    this.pagesDeployment.node.addDependency(this.assetsDeployment);
    // CDK cannot see the role's policy through withoutPolicyUpdates(): without these, a first deploy could run the copy before the policy exists.
    for (const deployment of [this.assetsDeployment, this.pagesDeployment]) deployment.node.addDependency(this.deployRole);
  }

  /**
   * The deployment Lambda's role with only what its handler does: read the UI's
   * zip, `aws s3 sync` into the bucket (list, put, delete), invalidate and
   * wait on this distribution, and log to its log group (handler:
   * aws-cdk-lib/custom-resource-handlers/dist/aws-s3-deployment/bucket-deployment-handler/index.py).
   */
  private deploymentRole(): iam.Role {
    const role = new iam.Role(this, 'DeployRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the Evalap web interface into its bucket and invalidates index.html in CloudFront',
    });
    const allow = (actions: string[], resources: string[]) => role.addToPolicy(new iam.PolicyStatement({ actions, resources }));
    allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [this.deployLogs.logGroupArn]);
    allow(['s3:GetObject'], [this.uiFiles.bucket.arnForObjects(this.uiFiles.s3ObjectKey)]);
    allow(['s3:ListBucket'], [this.bucket.bucketArn]);
    allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'], [this.bucket.arnForObjects('*')]);
    // Invalidations take the distribution as their resource (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudfront.html).
    allow(['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'], [this.distribution.distributionArn]);
    return role;
  }
}
