// The GitHub adapter's Checks API against the double, which refuses what GitHub's OpenAPI description
// refuses: more than 50 annotations in one request, a completed run without a conclusion, a PAT.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { GitHubClient, type CheckAnnotation } from '../../src/adapters/github.ts';
import { FakeGitHub } from '../fakes/github-api.ts';

describe('Checks API: create, complete with annotations in batches of 50', () => {
  let github: FakeGitHub;
  let app: GitHubClient;
  let head: string;

  before(async () => {
    github = await new FakeGitHub().start();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    github.app = { id: '7', publicKey, installationId: '8' };
    github.addRepo('acme/api', { Dockerfile: 'FROM alpine:3.19\n' });
    head = github.openPullAsHuman('acme/api', { branch: 'x', files: { 'a.txt': 'a\n' } }).headSha;
    app = new GitHubClient({
      baseUrl: github.url,
      allow: ['acme/*'],
      writeIntervalMs: 0,
      auth: { kind: 'app', appId: '7', privateKey, installationId: '8' },
      timeScaleMs: 1,
      retries: 0,
    });
  });
  after(() => github?.stop());

  const annotations = (n: number): CheckAnnotation[] =>
    Array.from({ length: n }, (_, i) => ({
      path: 'Dockerfile',
      startLine: i + 1,
      endLine: i + 1,
      level: 'failure',
      title: `t${i}`,
      message: `m${i}`,
    }));

  test('120 annotations go in three updates of at most 50, appended as GitHub does', async () => {
    const id = await app.createCheckRun('acme/api', { name: 'archshift/arm64', headSha: head });
    const requests = await app.completeCheckRun('acme/api', id, 'failure', {
      title: 'Breaks arm64',
      summary: 's',
      annotations: annotations(120),
    });
    assert.equal(requests, 3);
    const run = github.checkRuns('acme/api').find((r) => r.id === id)!;
    assert.deepEqual([run.status, run.conclusion, run.annotations.length], ['completed', 'failure', 120]);
    assert.deepEqual(
      run.history.map((b) => ((b.output as { annotations?: unknown[] } | undefined)?.annotations ?? []).length),
      [0, 50, 50, 20],
      'the create, then three updates',
    );
  });

  test('the double refuses what GitHub refuses', async () => {
    const id = await app.createCheckRun('acme/api', { name: 'archshift/arm64', headSha: head });
    const patch = (body: Record<string, unknown>) =>
      app.octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        owner: 'acme',
        repo: 'api',
        check_run_id: id,
        ...body,
      });
    const output = (n: number) => ({
      title: 't',
      summary: 's',
      annotations: annotations(n).map((a) => ({
        path: a.path,
        start_line: a.startLine,
        end_line: a.endLine,
        annotation_level: a.level,
        message: a.message,
      })),
    });
    await assert.rejects(
      patch({ output: output(51) }),
      (err: { status?: number; message?: string }) => err.status === 422 && /more than 50 items/.test(err.message ?? ''),
    );
    await assert.rejects(
      patch({ status: 'completed' }),
      (err: { status?: number }) => err.status === 422,
      'completed without a conclusion',
    );
    await assert.rejects(patch({ conclusion: 'exploded' }), (err: { status?: number }) => err.status === 422, 'not a conclusion');
    await assert.rejects(app.createCheckRun('acme/api', { name: 'archshift/arm64', headSha: 'f'.repeat(40) }), /No commit found/);
    github.tokens.set('ghp_pat', { write: true });
    const pat = new GitHubClient({
      baseUrl: github.url,
      allow: ['acme/*'],
      writeIntervalMs: 0,
      auth: { kind: 'token', token: 'ghp_pat' },
      timeScaleMs: 1,
      retries: 0,
    });
    await assert.rejects(pat.createCheckRun('acme/api', { name: 'archshift/arm64', headSha: head }), /403/);
  });
});
