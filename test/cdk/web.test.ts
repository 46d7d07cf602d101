/**
 * The web interface's hosting (cdk/web.ts) as `cdk synth` makes it, with a
 * small built UI (test/cdk/fixtures/ui): a private bucket read by CloudFront
 * through origin access control, the API's paths sent to the HTTP API
 * uncached, the built folder copied by a BucketDeployment whose staged asset
 * is that folder, and the settings for a custom domain and WAF.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { loadConfig } from '../../core/config.js';
import { docsRoutes } from '../../functions/api/docs.js';
import { createApiHandler } from '../../functions/api/handler.js';
import { readSettings, SettingError } from '../../cdk/settings.js';
import type { EvalapStack } from '../../cdk/stack.js';
import { API_PATHS, ASSETS_CACHE_CONTROL, PAGES_CACHE_CONTROL } from '../../cdk/web.js';
import { filesUnder } from './runner-asset.js';
import { removeOutdir, repoRoot, synth, UI_FIXTURE } from './synth.js';

type Json = Record<string, any>;

// Managed policy ids, as AWS documents them
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html,
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
const ALL_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];

const DOMAIN = 'evalap.example.com';
const CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab';
const WEB_ACL = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/evalap/a1b2c3d4-5678-90ab-cdef-111111111111';

let stack: EvalapStack;
let outdir: string;
let template: Json;
let resources: Record<string, Json>;

beforeAll(() => {
  ({ stack, outdir } = synth());
  template = Template.fromStack(stack).toJSON();
  resources = template.Resources;
}, 120_000);

afterAll(() => removeOutdir(outdir));

const idOf = (s: EvalapStack, construct: IConstruct) => s.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
const ofType = (res: Record<string, Json>, type: string) => Object.entries(res).filter(([, r]) => r.Type === type);
const distributionConfig = (res: Record<string, Json>) => {
  const found = ofType(res, 'AWS::CloudFront::Distribution');
  expect(found).toHaveLength(1);
  return found[0][1].Properties.DistributionConfig as Json;
};
const behavior = (config: Json, pattern: string) => (config.CacheBehaviors as Json[]).find((b) => b.PathPattern === pattern)!;
const originOf = (config: Json, b: Json) => (config.Origins as Json[]).find((o) => o.Id === b.TargetOriginId)!;
const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/** CloudFront's path pattern: `*` any characters (slashes too), `?` one, the rest literal and case-sensitive. */
const matches = (pattern: string, p: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(p);

/** Every path the API answers: its OpenAPI document's paths and the documentation pages. */
async function apiPaths(): Promise<string[]> {
  const api = createApiHandler({ config: loadConfig({ ...process.env, LOG_LEVEL: 'silent' }) });
  const event = { version: '2.0', rawPath: '/openapi.json', rawQueryString: '', headers: {}, requestContext: { http: { method: 'GET', path: '/openapi.json' }, requestId: 'r' }, isBase64Encoded: false };
  const res = await api(event as never, {} as never);
  expect(res.statusCode).toBe(200);
  const documented = Object.keys(JSON.parse(String(res.body)).paths as Json);
  expect(documented.length).toBeGreaterThan(20);
  return [...documented, ...docsRoutes.map((r) => r.path), '/openapi.json'].map((p) => p.replace(/\{[^/]+\}/g, '1'));
}

describe('the web interface\'s bucket', () => {
  it('is private: all public access blocked, encrypted, TLS only, readable by this distribution alone, with access logs', () => {
    const bucketId = idOf(stack, stack.web.bucket);
    const bucket = resources[bucketId].Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(bucket.WebsiteConfiguration).toBeUndefined();
    expect(bucket.LoggingConfiguration.DestinationBucketName).toEqual({ Ref: idOf(stack, stack.web.logBucket) });
    // CloudFormation cannot delete a bucket that holds objects: both are kept, and README's "Removing the stack" says so.
    for (const b of [stack.web.bucket, stack.web.logBucket]) expect(resources[idOf(stack, b)].DeletionPolicy).toBe('Retain');

    const [, policy] = ofType(resources, 'AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === bucketId)!;
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    const allows = statements.filter((st) => st.Effect === 'Allow');
    // CloudFront reads objects for this distribution only; nobody else is let in.
    expect(allows).toEqual([expect.objectContaining({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' })]);
    expect(JSON.stringify(allows[0].Condition.StringEquals['AWS:SourceArn'])).toContain(idOf(stack, stack.web.distribution));
    for (const st of statements) expect(st.Principal).not.toEqual('*');
  });

  it('logs CloudFront and S3 access to a private log bucket that accepts CloudFront\'s ACL-based delivery and expires logs after logRetentionDays', () => {
    const logs = resources[idOf(stack, stack.web.logBucket)].Properties;
    expect(logs.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(logs.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerPreferred' }]);
    expect(logs.LifecycleConfiguration.Rules).toEqual([{ ExpirationInDays: 30, Status: 'Enabled' }]);
    expect(distributionConfig(resources).Logging).toEqual({ Bucket: { 'Fn::GetAtt': [idOf(stack, stack.web.logBucket), 'RegionalDomainName'] }, Prefix: 'cloudfront/' });
  });
});

describe('the CloudFront distribution', () => {
  it('serves the bucket through origin access control (SigV4 on every request), index.html at /, HTTPS only', () => {
    const config = distributionConfig(resources);
    expect(config.DefaultRootObject).toBe('index.html');
    const b = config.DefaultCacheBehavior;
    const origin = originOf(config, b);
    expect(origin.DomainName).toEqual({ 'Fn::GetAtt': [idOf(stack, stack.web.bucket), 'RegionalDomainName'] });
    expect(origin.S3OriginConfig.OriginAccessIdentity).toBe('');
    const oacId = origin.OriginAccessControlId['Fn::GetAtt'][0];
    expect(resources[oacId]).toMatchObject({
      Type: 'AWS::CloudFront::OriginAccessControl',
      Properties: { OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' } },
    });
    expect(b.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(b.AllowedMethods).toEqual(['GET', 'HEAD']);
  });

  it('caches the UI as its objects say (nothing without Cache-Control, at most a year), keyed on the path alone', () => {
    const b = distributionConfig(resources).DefaultCacheBehavior;
    const policy = resources[b.CachePolicyId.Ref];
    expect(policy.Type).toBe('AWS::CloudFront::CachePolicy');
    const c = policy.Properties.CachePolicyConfig;
    expect([c.MinTTL, c.DefaultTTL, c.MaxTTL]).toEqual([0, 0, 365 * 86400]);
    expect(c.ParametersInCacheKeyAndForwardedToOrigin).toMatchObject({
      CookiesConfig: { CookieBehavior: 'none' },
      HeadersConfig: { HeaderBehavior: 'none' },
      QueryStringsConfig: { QueryStringBehavior: 'none' },
      EnableAcceptEncodingGzip: true,
    });
  });

  it('sends the API\'s paths to the HTTP API: uncached, every method, every viewer header but Host, HTTPS only on both legs', () => {
    const config = distributionConfig(resources);
    expect((config.CacheBehaviors as Json[]).map((b) => b.PathPattern).sort()).toEqual([...API_PATHS].sort());
    for (const pattern of API_PATHS) {
      const b = behavior(config, pattern);
      expect([pattern, b.CachePolicyId, b.OriginRequestPolicyId, b.ViewerProtocolPolicy, [...b.AllowedMethods].sort()]).toEqual([pattern, CACHING_DISABLED, ALL_VIEWER_EXCEPT_HOST_HEADER, 'https-only', ALL_METHODS]);
      const origin = originOf(config, b);
      expect(origin.CustomOriginConfig).toEqual({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
      // The host of the HTTP API's own endpoint (https://<id>.execute-api.<region>.amazonaws.com).
      expect(origin.DomainName).toEqual({ 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [idOf(stack, stack.api.httpApi), 'ApiEndpoint'] }] }] });
    }
  });

  it('routes every path the API answers to the API, and none of the UI\'s', async () => {
    const patterns = (distributionConfig(resources).CacheBehaviors as Json[]).map((b) => b.PathPattern as string);
    const unrouted = (await apiPaths()).filter((p) => !patterns.some((pattern) => matches(pattern, p)));
    expect(unrouted).toEqual([]);
    for (const p of ['/', '/index.html', '/assets/main-FIXTURE1.js', '/assets/main-FIXTURE1.css']) expect([p, patterns.filter((pattern) => matches(pattern, p))]).toEqual([p, []]);
  });

  it('outputs the UI\'s URL (the distribution\'s domain), that domain for a CNAME, and the two buckets kept after the stack', () => {
    const distributionId = idOf(stack, stack.web.distribution);
    expect(template.Outputs.WebUrl.Value).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] });
    expect(template.Outputs.WebDistributionDomain.Value).toEqual({ 'Fn::GetAtt': [distributionId, 'DomainName'] });
    expect(template.Outputs.WebBucketName.Value).toEqual({ Ref: idOf(stack, stack.web.bucket) });
    expect(template.Outputs.WebLogBucketName.Value).toEqual({ Ref: idOf(stack, stack.web.logBucket) });
    // The API's own URL stays.
    expect(JSON.stringify(template.Outputs.ApiUrl.Value)).toContain(idOf(stack, stack.api.httpApi));
  });

  it('has no custom domain, certificate or web ACL unless the settings give them', () => {
    const config = distributionConfig(resources);
    expect(config.Aliases).toBeUndefined();
    expect(config.ViewerCertificate).toBeUndefined();
    expect(config.WebACLId).toBeUndefined();
  });
});

describe('the UI deployment', () => {
  const deployments = () => ofType(resources, 'Custom::CDKBucketDeployment').map(([id, r]): Json => ({ ...r, id }));

  it('copies the built folder\'s assets/ with a year of immutable caching first, then the pages with no-cache, invalidating / and /index.html', () => {
    const byId = Object.fromEntries(deployments().map((d) => [d.id, d]));
    const assets = byId[idOf(stack, stack.web.assetsDeployment.node.findChild('CustomResource'))];
    const pages = byId[idOf(stack, stack.web.pagesDeployment.node.findChild('CustomResource'))];
    expect(Object.keys(byId)).toHaveLength(2);
    expect(assets.Properties).toMatchObject({ Exclude: ['*'], Include: ['assets/*'], Prune: false, SystemMetadata: { 'cache-control': ASSETS_CACHE_CONTROL } });
    expect(assets.Properties.DistributionId).toBeUndefined();
    expect(pages.Properties).toMatchObject({
      Exclude: ['assets/*'],
      Prune: true,
      SystemMetadata: { 'cache-control': PAGES_CACHE_CONTROL },
      DistributionId: { Ref: idOf(stack, stack.web.distribution) },
      DistributionPaths: ['/', '/index.html'],
    });
    expect(pages.Properties.Include).toBeUndefined();
    expect(list(pages.DependsOn)).toContain(assets.id);
    for (const d of [assets, pages]) expect(d.Properties.DestinationBucketName).toEqual({ Ref: idOf(stack, stack.web.bucket) });
  });

  it('stages the UI folder itself as the deployments\' source: the asset folder in cdk.out holds index.html and the hashed assets, as built', () => {
    const keys = new Set(deployments().flatMap((d) => d.Properties.SourceObjectKeys as string[]));
    expect(keys.size).toBe(1);
    const [key] = [...keys];
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
    const asset = manifest.files[key.replace(/\.zip$/, '')];
    expect(asset.source.packaging).toBe('zip');
    const staged = path.join(outdir, asset.source.path);
    const fixture = path.join(repoRoot, UI_FIXTURE);
    expect(filesUnder(staged)).toEqual(filesUnder(fixture));
    expect(filesUnder(staged)).toContain('index.html');
    for (const f of filesUnder(fixture)) expect([f, fs.readFileSync(path.join(staged, f)).equals(fs.readFileSync(path.join(fixture, f)))]).toEqual([f, true]);
  });

  it('gives its Lambda a role of its own: the UI zip by its key, this bucket\'s objects, invalidations of this distribution, its own log group, no managed policy', () => {
    const roleId = idOf(stack, stack.web.deployRole);
    const [, fn] = ofType(resources, 'AWS::Lambda::Function').find(([, f]) => f.Properties.Role['Fn::GetAtt']?.[0] === roleId)!;
    expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: idOf(stack, stack.web.deployLogs) });
    expect(resources[idOf(stack, stack.web.deployLogs)].Properties.RetentionInDays).toBe(30);
    expect(resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
    const policies = ofType(resources, 'AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId));
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
    const actions = statements.flatMap((st) => list(st.Action) as string[]).sort();
    expect(actions).toEqual(['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const resourceOf = (action: string) => statements.filter((st) => list(st.Action).includes(action)).map((st) => JSON.stringify(st.Resource));
    const distributionArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: idOf(stack, stack.web.distribution) }]] };
    expect(resourceOf('cloudfront:CreateInvalidation')).toEqual([JSON.stringify(distributionArn)]);
    const key = deployments()[0].Properties.SourceObjectKeys[0];
    expect(resourceOf('s3:GetObject').sort()).toEqual(expect.arrayContaining([expect.stringContaining(`/${key}`)]));
    expect(resourceOf('s3:PutObject')).toEqual([JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [idOf(stack, stack.web.bucket), 'Arn'] }, '/*']] })]);
    for (const st of statements) expect(st.Resource).not.toEqual('*');
  });
});

describe('web settings', () => {
  const withContext = (context: Record<string, unknown>) => {
    const made = synth({ context });
    try {
      return { s: made.stack, t: Template.fromStack(made.stack).toJSON() as Json, nag: Annotations.fromStack(made.stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')) };
    } finally {
      removeOutdir(made.outdir);
    }
  };

  it('puts a custom domain with its certificate (SNI, TLS 1.2 minimum) and a WAF web ACL on the distribution, and the domain in WebUrl, still nag-clean', () => {
    const { t, nag } = withContext({ webDomainName: DOMAIN, webCertificateArn: CERTIFICATE, webAclArn: WEB_ACL });
    expect(nag).toEqual([]);
    const config = distributionConfig(t.Resources);
    expect(config.Aliases).toEqual([DOMAIN]);
    expect(config.ViewerCertificate).toEqual({ AcmCertificateArn: CERTIFICATE, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
    expect(config.WebACLId).toBe(WEB_ACL);
    expect(t.Outputs.WebUrl.Value).toBe(`https://${DOMAIN}`);
  });

  it('refuses a domain without a certificate, a certificate outside us-east-1, a regional web ACL', () => {
    const settings = (context: Record<string, unknown>) => readSettings({ tryGetContext: (k: string) => context[k] });
    expect(() => settings({ webDomainName: DOMAIN })).toThrow(/webDomainName and webCertificateArn go together/);
    expect(() => settings({ webCertificateArn: CERTIFICATE })).toThrow(SettingError);
    expect(() => settings({ webDomainName: DOMAIN, webCertificateArn: CERTIFICATE.replace('us-east-1', 'eu-west-3') })).toThrow(/webCertificateArn/);
    expect(() => settings({ webAclArn: WEB_ACL.replace('global/', 'regional/') })).toThrow(/webAclArn/);
    expect(settings({ webDomainName: DOMAIN, webCertificateArn: CERTIFICATE, webAclArn: WEB_ACL })).toMatchObject({ webDomainName: DOMAIN, webCertificateArn: CERTIFICATE, webAclArn: WEB_ACL, uiDir: 'dist/ui' });
  });

  it('stops the synth, naming uiDir and the build command, when the UI folder has no index.html', () => {
    const missing = 'test/cdk/fixtures/no-such-ui';
    let error: unknown;
    try {
      withContext({ uiDir: missing });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SettingError);
    expect((error as Error).message).toContain('"uiDir"');
    expect((error as Error).message).toContain(path.join(repoRoot, missing));
    expect((error as Error).message).toContain('npm run build');
  });
});
