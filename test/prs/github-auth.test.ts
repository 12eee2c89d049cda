import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { githubAuthFromEnv } from '../../src/adapters/github/credentials.ts';

test('GitHub credentials: a token, an App key inline (escaped newlines) or from a mounted file, else none', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'archshift-gh-auth-'));
  try {
    const pem = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n';
    await writeFile(join(dir, 'key.pem'), pem);
    const app = { GITHUB_APP_ID: '12', GITHUB_APP_INSTALLATION_ID: '34' };
    assert.deepEqual(githubAuthFromEnv({ GITHUB_TOKEN: 'ghp_x' }), { kind: 'token', token: 'ghp_x' });
    assert.deepEqual(githubAuthFromEnv({ ...app, GITHUB_APP_PRIVATE_KEY: pem.replace(/\n/g, '\\n') }), {
      kind: 'app',
      appId: '12',
      installationId: '34',
      privateKey: pem,
    });
    assert.deepEqual(githubAuthFromEnv({ ...app, GITHUB_APP_PRIVATE_KEY_FILE: join(dir, 'key.pem') }), {
      kind: 'app',
      appId: '12',
      installationId: '34',
      privateKey: pem,
    });
    assert.equal(githubAuthFromEnv({ GITHUB_APP_ID: '12', GITHUB_APP_PRIVATE_KEY: pem }), undefined, 'no installation id: no App');
    assert.equal(githubAuthFromEnv({}), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
