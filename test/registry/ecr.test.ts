// Amazon ECR: the AWS SDK (default credential chain, from the environment here) asks the local ECR API
// double for a token (endpoint override), and the real registry, with htpasswd Basic auth for user
// `AWS`, stands behind the ECR host names (connectTo opens their connections to it; it speaks plain HTTP,
// so the hosts are listed as insecure).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { ECR_ACTIONS, ECR_READ_ACTIONS, parseEcrHost } from '../../src/adapters/registry/ecr.ts';
import { imageFinding } from '../../src/readiness/analysers/images.ts';
import { FakeAwsApi } from '../fakes/aws-api.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';

const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const OTHER_ACCOUNT = '210987654321.dkr.ecr.eu-west-1.amazonaws.com';

describe('Amazon ECR registries', () => {
  const aws = new FakeAwsApi();
  let registry: RunningRegistry;

  before(async () => {
    aws.ecrPassword = `eyJwYXlsb2FkIjoi${'x'.repeat(300)}`;
    await aws.start();
    Object.assign(process.env, aws.env());
    registry = await startRegistry({ kind: 'htpasswd', users: { AWS: aws.ecrPassword } });
    await registry.pushIndex('payments/api', '1.4', [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
    await registry.pushSingle('payments/legacy', '2', { architecture: 'amd64' });
  });
  after(async () => {
    await registry.stop();
    await aws.stop();
  });

  /** DNS stand-in: both ECR hosts are served by the local registry. */
  const client = (clock?: { now: number }) =>
    createRegistryClient({
      config: registryConfigSchema.parse({
        retries: 0,
        tagTtlSeconds: 0,
        insecure: [ECR, OTHER_ACCOUNT],
        ecr: { endpoint: aws.url, maxAttempts: 2 },
      }),
      connectTo: { [ECR]: registry.host, [OTHER_ACCOUNT]: registry.host },
      env: { HOME: '/nonexistent' },
      ...(clock ? { now: () => clock.now } : {}),
    });
  const tokenCalls = () => aws.actions.filter((a) => a === 'ecr:GetAuthorizationToken').length;

  test('ECR host names: commercial, China and FIPS partitions; others are not ECR', () => {
    assert.deepEqual(parseEcrHost(ECR), { account: '123456789012', region: 'eu-west-1' });
    assert.deepEqual(parseEcrHost('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn'), { account: '123456789012', region: 'cn-north-1' });
    assert.deepEqual(parseEcrHost('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com'), {
      account: '123456789012',
      region: 'us-gov-west-1',
    });
    assert.equal(parseEcrHost('public.ecr.aws'), undefined);
    assert.equal(parseEcrHost('123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example'), undefined);
  });

  test('a token from GetAuthorizationToken, then Basic auth as AWS; kept for later lookups, across accounts', async () => {
    const before = tokenCalls();
    const c = client();
    assert.equal((await c.inspect(`${ECR}/payments/api:1.4`)).status, 'multi-arch-with-arm64');
    assert.equal((await c.inspect(`${ECR}/payments/legacy:2`)).status, 'amd64-only');
    assert.deepEqual(await c.listTags(`${ECR}/payments/api:1.4`), ['1.4']);
    assert.equal(tokenCalls() - before, 1, 'one token for every lookup of the registry');
    assert.equal(
      (await c.inspect(`${OTHER_ACCOUNT}/payments/api:1.4`)).status,
      'multi-arch-with-arm64',
      'cross-account: its own host, the same credential chain',
    );
    assert.equal(tokenCalls() - before, 2);
  });

  test('the token is renewed before it expires (10 minutes ahead, at most half its life)', async () => {
    aws.ecrTokenLifetimeSeconds = 30 * 60;
    try {
      const clock = { now: Date.now() };
      const c = client(clock);
      const before = tokenCalls();
      await c.inspect(`${ECR}/payments/api:1.4`);
      clock.now += 15 * 60_000;
      assert.equal((await c.inspect(`${ECR}/payments/api:1.4`)).status, 'multi-arch-with-arm64');
      assert.equal(tokenCalls() - before, 1, '15 minutes left: kept');
      clock.now += 6 * 60_000;
      assert.equal((await c.inspect(`${ECR}/payments/api:1.4`)).status, 'multi-arch-with-arm64');
      assert.equal(tokenCalls() - before, 2, '9 minutes left: renewed');
    } finally {
      aws.ecrTokenLifetimeSeconds = 12 * 3600;
    }
  });

  test('access denied: unauthorized, naming the IAM actions to grant, and an unknown finding', async () => {
    aws.faults = [{ action: 'ecr:GetAuthorizationToken', kind: 'deny' }];
    try {
      const r = await client().inspect(`${ECR}/payments/api:1.4`);
      assert.equal(r.status, 'unauthorized');
      assert.match(
        r.reason!,
        /ECR did not give a pull token for 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com \(ecr:GetAuthorizationToken failed: AccessDeniedException: .*\); grant archshift's AWS role ecr:GetAuthorizationToken, and ecr:BatchGetImage/,
      );
      const finding = imageFinding(
        { reference: `${ECR}/payments/api:1.4`, label: 'Base image', role: 'target', evidence: { file: 'Dockerfile' } },
        r,
      );
      assert.equal(finding.severity, 'unknown', 'never ready');
    } finally {
      aws.faults = [];
    }
  });

  test('throttled past the SDK retries: an error saying so, never ready; a retry once it passes works', async () => {
    aws.faults = [{ action: 'ecr:GetAuthorizationToken', kind: 'throttle', times: 2 }];
    try {
      const c = client();
      const r = await c.inspect(`${ECR}/payments/api:1.4`);
      assert.equal(r.status, 'error');
      assert.match(r.reason!, /ThrottlingException.*ECR throttled the call after 2 attempts, try again later/);
      assert.equal((await c.inspect(`${ECR}/payments/api:1.4`)).status, 'multi-arch-with-arm64', 'a failed token is not kept');
    } finally {
      aws.faults = [];
    }
  });

  test('no AWS credentials in the chain: unauthorized, saying where the SDK looks', async () => {
    const saved = process.env.AWS_ACCESS_KEY_ID;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDUNKNOWN';
    try {
      const r = await client().inspect(`${ECR}/payments/api:1.4`);
      assert.equal(r.status, 'unauthorized');
      assert.match(r.reason!, /UnrecognizedClientException.*no valid AWS credentials \(IRSA, instance profile, AWS_PROFILE/);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved;
    }
  });

  test('docs/aws-iam-policy.json grants exactly the ECR actions, pulls limited to repositories', async () => {
    const policy = JSON.parse(await readFile(new URL('../../docs/aws-iam-policy.json', import.meta.url), 'utf8')) as {
      Statement: { Sid: string; Action: string[]; Resource: string }[];
    };
    const ecr = policy.Statement.filter((s) => s.Action.some((a) => a.startsWith('ecr:')));
    assert.deepEqual(ecr.flatMap((s) => s.Action).sort(), [...ECR_ACTIONS].sort());
    assert.equal(ecr.find((s) => s.Action.includes(ECR_READ_ACTIONS.manifest))!.Resource, 'arn:aws:ecr:*:*:repository/*');
    // The SDK call the tests saw, and the Registry API reads each read action stands for.
    assert.ok(aws.actions.includes('ecr:GetAuthorizationToken'));
    const c = client();
    await c.inspect(`${ECR}/payments/legacy:2`);
    await c.listTags(`${ECR}/payments/legacy:2`);
    const kinds = c.stats().byKind;
    assert.ok(kinds.manifest > 0 && kinds.blob > 0 && kinds.tags > 0);
  });
});
