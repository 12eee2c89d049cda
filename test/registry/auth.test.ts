// Auth against the real registry: its `auth: token` mode with a local token server (Bearer
// challenge flow, anonymous and with credentials) and its htpasswd mode (Basic, ECR-style tokens).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { startTokenServer, type TokenServer } from '../fakes/token-server.ts';

const arm = [{ architecture: 'amd64' }, { architecture: 'arm64' }];

describe('Bearer token auth (registry auth.token + token server)', () => {
  let tokens: TokenServer;
  let registry: RunningRegistry;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archshift-auth-'));
    tokens = await startTokenServer({ users: { alice: 's3cret' }, privateRepositories: ['team/private'], expiresIn: 60 });
    registry = await startRegistry({ kind: 'token', tokenServer: tokens });
    await registry.pushIndex('team/public', '1', arm);
    await registry.pushIndex('team/public', '2', [{ architecture: 'amd64' }]);
    await registry.pushIndex('team/other', '1', arm);
    await registry.pushIndex('team/private', '1', arm);
  });
  after(async () => {
    await registry.stop();
    await tokens.close();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (extra: object = {}) => registryConfigSchema.parse({ retries: 0, ...extra });

  test('anonymous pull: one ping, one token per repository scope, reused across tags', async () => {
    const before = tokens.requests.length;
    const c = createRegistryClient({ config: config() });
    assert.equal((await c.inspect(`${registry.host}/team/public:1`)).status, 'multi-arch-with-arm64');
    assert.equal((await c.inspect(`${registry.host}/team/public:2`)).status, 'amd64-only');
    assert.equal((await c.inspect(`${registry.host}/team/other:1`)).status, 'multi-arch-with-arm64');
    assert.deepEqual(c.stats().byKind, { ping: 1, token: 2, manifest: 3, blob: 0, tags: 0 });
    assert.deepEqual(
      tokens.requests.slice(before).map((r) => [r.scope.join(), r.user]),
      [
        ['repository:team/public:pull', undefined],
        ['repository:team/other:pull', undefined],
      ],
    );
  });

  test('a private repository without credentials is unauthorized, with what to do', async () => {
    const c = createRegistryClient({ config: config() });
    const r = await c.inspect(`${registry.host}/team/private:1`);
    assert.equal(r.status, 'unauthorized');
    assert.match(r.reason!, /requires credentials to pull 127\.0\.0\.1:\d+\/team\/private.*registry\.credentials/);
    assert.equal(c.stats().byKind.manifest, 1, 'a freshly issued token that is refused is not fetched again');
  });

  test('credentials from config (password from an env var) reach the token service', async () => {
    const before = tokens.requests.length;
    const c = createRegistryClient({
      config: config({ credentials: { [registry.host]: { username: 'alice', passwordEnv: 'ARCHSHIFT_TEST_PW' } } }),
      env: { ARCHSHIFT_TEST_PW: 's3cret' },
    });
    assert.equal((await c.inspect(`${registry.host}/team/private:1`)).status, 'multi-arch-with-arm64');
    assert.deepEqual(
      tokens.requests.slice(before).map((r) => r.user),
      ['alice'],
    );
  });

  test('credentials from a Docker config.json (auths.<host>.auth)', async () => {
    const file = join(dir, 'config.json');
    await writeFile(
      file,
      JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }),
    );
    const c = createRegistryClient({ config: config({ dockerConfig: file }) });
    assert.equal((await c.inspect(`${registry.host}/team/private:1`)).status, 'multi-arch-with-arm64');
  });

  test('wrong password and unset password env var are unauthorized with distinct reasons', async () => {
    const wrong = createRegistryClient({
      config: config({ credentials: { [registry.host]: { username: 'alice', passwordEnv: 'ARCHSHIFT_TEST_PW' } } }),
      env: { ARCHSHIFT_TEST_PW: 'nope' },
    });
    const w = await wrong.inspect(`${registry.host}/team/private:1`);
    assert.equal(w.status, 'unauthorized');
    assert.match(w.reason!, /rejected the credentials from registry\.credentials\.127\.0\.0\.1:\d+; renew them/);
    const unset = createRegistryClient({
      config: config({ credentials: { [registry.host]: { username: 'alice', passwordEnv: 'ARCHSHIFT_UNSET_PW' } } }),
      env: {},
    });
    const u = await unset.inspect(`${registry.host}/team/private:1`);
    assert.equal(u.status, 'unauthorized');
    assert.match(u.reason!, /\$ARCHSHIFT_UNSET_PW, which is not set/);
  });

  test('tokens are reused until expires_in passes, then fetched again', async () => {
    let now = Date.now();
    const c = createRegistryClient({ config: config({ tagTtlSeconds: 0 }), now: () => now });
    await c.inspect(`${registry.host}/team/public:1`);
    now += 30_000;
    await c.inspect(`${registry.host}/team/public:1`);
    assert.equal(c.stats().byKind.token, 1, 'token still valid after 30 s of 60');
    now += 31_000;
    assert.equal((await c.inspect(`${registry.host}/team/public:1`)).status, 'multi-arch-with-arm64');
    assert.equal(c.stats().byKind.token, 2, 'expired after 61 s');
    assert.equal(c.stats().byKind.manifest, 3, 'tag TTL 0: every lookup asks the registry');
  });
});

describe('Basic auth (registry htpasswd)', () => {
  let registry: RunningRegistry;
  const ecrToken = Buffer.from(`ecr-${'x'.repeat(200)}`).toString('base64');
  before(async () => {
    registry = await startRegistry({ kind: 'htpasswd', users: { AWS: ecrToken } });
    await registry.pushSingle('payments/api', '1.4', { architecture: 'arm64' });
  });
  after(() => registry.stop());

  const client = (password?: string) =>
    createRegistryClient({
      config: registryConfigSchema.parse({
        retries: 0,
        credentials: password ? { [registry.host]: { username: 'AWS', passwordEnv: 'ECR_PASSWORD' } } : {},
      }),
      env: password ? { ECR_PASSWORD: password } : {},
    });

  test('ECR-style basic token: Basic is sent up front after the ping, no token round trip', async () => {
    const c = client(ecrToken);
    const r = await c.inspect(`${registry.host}/payments/api:1.4`);
    assert.equal(r.status, 'multi-arch-with-arm64');
    assert.deepEqual(c.stats().byKind, { ping: 1, token: 0, manifest: 1, blob: 1, tags: 0 });
  });

  test('without or with wrong credentials: unauthorized', async () => {
    const none = await client().inspect(`${registry.host}/payments/api:1.4`);
    assert.equal(none.status, 'unauthorized');
    assert.match(none.reason!, /requires credentials/);
    const wrong = await client('expired').inspect(`${registry.host}/payments/api:1.4`);
    assert.equal(wrong.status, 'unauthorized');
    assert.match(wrong.reason!, /refused .* with the credentials from registry\.credentials/);
  });
});
