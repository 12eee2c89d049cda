// Docker credential helpers (`credHelpers` per registry, `credsStore` by default) against the real
// registry: helper scripts in a temp dir on PATH speak the docker-credential-helpers protocol (`get`,
// the server URL on stdin, `{ServerURL,Username,Secret}` on stdout) and log what they were asked.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { imageFinding } from '../../src/readiness/analysers/images.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { startTokenServer, type TokenServer } from '../fakes/token-server.ts';

const SECRET = 'helper-secret-4f9a';
const arm = [{ architecture: 'amd64' }, { architecture: 'arm64' }];

describe('Docker credential helpers', () => {
  let dir: string;
  let basicRegistry: RunningRegistry;
  let tokens: TokenServer;
  let tokenRegistry: RunningRegistry;
  const env = () => ({ PATH: `${dir}:${process.env.PATH}`, HOME: dir });

  /** A helper that answers `answer` (or exits with `exit` printing `message`), logging each request. */
  const helper = async (name: string, script: string) => {
    const file = join(dir, `docker-credential-${name}`);
    await writeFile(file, `#!/bin/sh\n[ "$1" = get ] || exit 3\nread -r server\necho "$server" >> "${dir}/${name}.log"\n${script}\n`);
    await chmod(file, 0o755);
  };
  const asked = async (name: string) => (await readFile(join(dir, `${name}.log`), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const client = async (dockerConfig: object, extra: object = {}) => {
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(dockerConfig));
    return createRegistryClient({ config: registryConfigSchema.parse({ retries: 0, dockerConfig: file, ...extra }), env: env() });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archshift-credhelper-'));
    basicRegistry = await startRegistry({ kind: 'htpasswd', users: { alice: SECRET } });
    await basicRegistry.pushIndex('team/api', '1', arm);
    tokens = await startTokenServer({
      users: { alice: SECRET },
      refreshTokens: { 'refresh-abc': 'alice' },
      privateRepositories: ['team/private'],
    });
    tokenRegistry = await startRegistry({ kind: 'token', tokenServer: tokens });
    await tokenRegistry.pushIndex('team/private', '1', arm);
    await helper('good', `printf '{"ServerURL":"%s","Username":"alice","Secret":"${SECRET}"}' "$server"`);
    await helper('store', `printf '{"ServerURL":"%s","Username":"alice","Secret":"${SECRET}"}' "$server"`);
    await helper('empty', `echo "credentials not found in native keychain"; exit 1`);
    await helper('broken', `echo "error getting credentials - err: exit status 1, out: \\"keyring locked\\"" >&2; exit 1`);
    await helper('hangs', `exec sleep 60`);
    await helper('identity', `printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-abc"}' "$server"`);
    await helper('garbled', `echo "Secret=${SECRET}"`);
  });
  after(async () => {
    await basicRegistry.stop();
    await tokenRegistry.stop();
    await tokens.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('credHelpers: the helper gets the server URL on stdin, its answer is used and kept', async () => {
    const c = await client({ credHelpers: { [basicRegistry.host]: 'good' } });
    assert.equal((await c.inspect(`${basicRegistry.host}/team/api:1`)).status, 'multi-arch-with-arm64');
    const again = await c.listTags(`${basicRegistry.host}/team/api:1`);
    assert.deepEqual(again, ['1']);
    assert.deepEqual(await asked('good'), [basicRegistry.host], 'asked once, for the host as config.json names it');
  });

  test('credsStore: the default helper for registries without their own entry; credHelpers win over it', async () => {
    const viaStore = await client({ credsStore: 'store', auths: { [basicRegistry.host]: {} } });
    assert.equal((await viaStore.inspect(`${basicRegistry.host}/team/api:1`)).status, 'multi-arch-with-arm64');
    assert.deepEqual(await asked('store'), [basicRegistry.host]);
    const both = await client({ credsStore: 'empty', credHelpers: { [basicRegistry.host]: 'good' } });
    assert.equal((await both.inspect(`${basicRegistry.host}/team/api:1`)).status, 'multi-arch-with-arm64');
    assert.deepEqual(await asked('empty'), []);
  });

  test('a helper without credentials for the registry: unauthorized, saying so, and an unknown finding', async () => {
    const c = await client({ credsStore: 'empty' });
    const r = await c.inspect(`${basicRegistry.host}/team/api:1`);
    assert.equal(r.status, 'unauthorized');
    assert.match(
      r.reason!,
      /docker-credential-empty \(credsStore in .*\.json\) has no credentials for 127\.0\.0\.1:\d+ \(credentials not found\); log in with `docker login 127\.0\.0\.1:\d+`/,
    );
    const finding = imageFinding(
      { reference: `${basicRegistry.host}/team/api:1`, label: 'Base image', role: 'target', evidence: { file: 'Dockerfile' } },
      r,
    );
    assert.equal(finding.severity, 'unknown', 'never ready');
  });

  test('a helper that fails, hangs, is missing or answers garbage: a clear error, never the secret', async () => {
    const cases: [string, RegExp][] = [
      [
        'broken',
        /docker-credential-broken get failed for 127\.0\.0\.1:\d+ \(exit 1: error getting credentials - err: exit status 1, out: "keyring locked"\)/,
      ],
      ['hangs', /docker-credential-hangs get gave no answer within 300 ms \(registry\.credentialHelperTimeoutMs\)/],
      ['missing', /docker-credential-missing is not installed \(not found on PATH\)/],
      ['garbled', /docker-credential-garbled get answered something that is not the helper protocol's JSON/],
    ];
    for (const [name, reason] of cases) {
      const c = await client({ credHelpers: { [basicRegistry.host]: name } }, { credentialHelperTimeoutMs: 300 });
      const r = await c.inspect(`${basicRegistry.host}/team/api:1`);
      assert.equal(r.status, 'error', name);
      assert.match(r.reason!, reason);
      assert.doesNotMatch(r.reason!, new RegExp(SECRET));
    }
  });

  test('a helper name that is a path is refused without running anything', async () => {
    const c = await client({ credHelpers: { [basicRegistry.host]: '../good' } });
    const r = await c.inspect(`${basicRegistry.host}/team/api:1`);
    assert.equal(r.status, 'unauthorized');
    assert.match(
      r.reason!,
      /credHelpers\.127\.0\.0\.1:\d+ in .*\.json names the credential helper "\.\.\/good", which is not a plain program name/,
    );
  });

  test('`<token>` username: an identity token, exchanged at the token service with the refresh_token grant', async () => {
    const before = tokens.requests.length;
    const c = await client({ credHelpers: { [tokenRegistry.host]: 'identity' } });
    assert.equal((await c.inspect(`${tokenRegistry.host}/team/private:1`)).status, 'multi-arch-with-arm64');
    assert.deepEqual(
      tokens.requests.slice(before).map((r) => [r.method, r.user, r.status]),
      [['POST', 'alice', 200]],
    );
    const wrong = await client({ auths: { [tokenRegistry.host]: { identitytoken: 'revoked' } } });
    const r = await wrong.inspect(`${tokenRegistry.host}/team/private:1`);
    assert.equal(r.status, 'unauthorized');
    assert.match(r.reason!, /rejected the credentials from .*auths\.127\.0\.0\.1:\d+\)/);
  });
});
