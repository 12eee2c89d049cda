import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GitHubClient } from '../../src/adapters/github.ts';
import { GitHubError } from '../../src/adapters/github/errors.ts';
import { FakeGitHub } from '../fakes/github-api.ts';

test('a GitHub that never answers fails the call after github.timeoutMs with a clear error', async () => {
  const fake = await new FakeGitHub().start();
  try {
    fake.tokens.set('t0', { write: true });
    fake.addRepo('acme/payments', { Dockerfile: 'FROM alpine:3.19\n' });
    fake.inject({ method: 'GET', path: /^\/repos\/acme\/payments$/, status: 0, hang: true });
    const github = new GitHubClient({
      baseUrl: fake.url,
      allow: ['acme/*'],
      writeIntervalMs: 0,
      auth: { kind: 'token', token: 't0' },
      timeScaleMs: 1,
      retries: 0,
      timeoutMs: 300,
    });
    const started = Date.now();
    await assert.rejects(
      github.repoInfo('acme/payments'),
      (e: unknown) =>
        e instanceof GitHubError && /GitHub did not answer within 300 ms while trying to read acme\/payments \(timeout\)/.test(e.message),
    );
    assert.ok(Date.now() - started < 5000);
    assert.equal((await github.repoInfo('acme/payments')).defaultBranch, 'main', 'the next call goes through');
  } finally {
    await fake.stop();
  }
});
