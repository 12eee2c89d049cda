// The files of a change are read in one GraphQL request (readFiles), answered by the GitHub double from
// its real state: the request budget of a 3-file PR, and that missing, binary, oversized files and
// GraphQL failures behave as the per-file REST read (readFile) did.
import { describe, test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { openPrs } from '../../src/prs/open-prs.ts';
import { prsOf } from '../../src/prs/records.ts';
import { GitHubClient } from '../../src/adapters/github.ts';
import { GitHubError } from '../../src/adapters/github/errors.ts';
import type { Deps } from '../../src/deps.ts';
import { deployment, dockerfile, imagesWith, makeDeps, reportFor, seededGitHub, silent } from './helpers.ts';

const threeManifests = {
  api: { manifests: { repo: 'acme/k8s', files: ['apps/api/deployment.yaml', 'apps/api/a.yaml', 'apps/api/b.yaml'] } },
};
const graphqlCalls = (fake: { requests: Array<{ method: string; path: string }> }) =>
  fake.requests.filter((q) => q.method === 'POST' && q.path === '/graphql').length;

describe('readFiles: one GraphQL request for all the files of a change', () => {
  const fake = seededGitHub(['api']);
  let deps: Deps;
  beforeEach(async () => {
    deps = await makeDeps(fake, { registry: imagesWith(true) });
  });
  const run = (kinds: Array<'base' | 'selectors'>, d = deps) =>
    openPrs(d, { service: d.catalog.resolve('api'), report: reportFor('api'), kinds });

  test('a 3-file PR to a repo archshift has not looked up yet costs at most 8 requests, counted at the double', async () => {
    deps = await makeDeps(fake, { registry: imagesWith(true), extraServices: threeManifests });
    fake.addRepo('acme/k8s', {
      'apps/api/deployment.yaml': deployment('api'),
      'apps/api/a.yaml': deployment('api'),
      'apps/api/b.yaml': deployment('api'),
    });
    const before = fake.requests.length;
    const r = await run(['selectors']);
    const seen = fake.requests.slice(before);
    assert.equal(r.outcomes[0].status, 'opened');
    assert.deepEqual(r.outcomes[0].files, ['apps/api/deployment.yaml', 'apps/api/a.yaml', 'apps/api/b.yaml']);
    assert.ok(seen.length <= 8, `took ${seen.length} requests: ${seen.map((q) => `${q.method} ${q.path}`).join(', ')}`);
    assert.equal(r.outcomes[0].requests, seen.length, 'the adapter counts what the double saw');
    assert.ok(
      seen.some((q) => q.method === 'GET' && q.path === '/repos/acme/k8s'),
      'the repo lookup was not cached',
    );
    assert.equal(graphqlCalls({ requests: seen }), 1, 'the three files in one read');
    assert.ok(!seen.some((q) => q.path.includes('/contents/')));
    for (const f of r.outcomes[0].files!) assert.match(fake.file('acme/k8s', 'archshift/api/selectors', f)!, /kubernetes.io\/arch: arm64/);
  });

  test('readFiles answers as readFile did: text, missing, binary, too large for GraphQL, odd names', async () => {
    const github = deps.github!;
    const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x0a]);
    const big = 'x'.repeat(300) + '\n';
    const odd = 'dir/we"ird $name\\ ) { f9: x }.yaml';
    fake.addRepo('acme/files', { 'a.txt': 'hello\n', 'img.png': binary, 'big.txt': big, [odd]: 'odd\n', 'dir/x.txt': 'x\n' });
    fake.graphqlTextLimit = 100;
    const paths = ['a.txt', 'missing.txt', 'img.png', 'big.txt', odd];
    const head = (await github.branchHead('acme/files', 'main'))!;
    const before = fake.requests.length;
    const many = await github.readFiles('acme/files', paths, head.sha);
    const seen = fake.requests.slice(before);
    const one = await Promise.all(paths.map((p) => github.readFile('acme/files', p, head.sha)));
    assert.deepEqual(many, one);
    assert.deepEqual(many, ['hello\n', undefined, binary.toString('utf8'), big, 'odd\n']);
    assert.deepEqual(
      seen.map((q) => `${q.method} ${q.path.replace(/[0-9a-f]{40}$/, 'SHA')}`).sort(),
      ['GET /repos/acme/files/git/blobs/SHA', 'GET /repos/acme/files/git/blobs/SHA', 'POST /graphql'],
      'only the binary and the oversized file fall back to the blob API',
    );
    // A branch name works as the revision too, and a directory is refused as readFile refuses it.
    assert.deepEqual(await github.readFiles('acme/files', ['a.txt'], 'main'), ['hello\n']);
    await assert.rejects(github.readFiles('acme/files', ['dir'], 'main'), /acme\/files:dir is not a file/);
    await assert.rejects(
      github.readFiles('acme/gone', ['a.txt'], 'main'),
      (e: unknown) => e instanceof GitHubError && e.status === 404 && /cannot read a\.txt in acme\/gone: not found \(404\)/.test(e.message),
    );
  });

  test('on GitHub Enterprise (/api/v3) the query goes to /api/graphql', async () => {
    const github = new GitHubClient({
      baseUrl: `${fake.url}/api/v3`,
      allow: ['acme/*'],
      writeIntervalMs: 0,
      auth: { kind: 'token', token: 'ghp_writer' },
      timeScaleMs: 1,
      logger: silent,
    });
    assert.deepEqual(await github.readFiles('acme/api', ['Dockerfile', 'nope'], 'main'), [dockerfile, undefined]);
  });

  test('a missing file refuses the change, names the file, and opens nothing', async () => {
    fake.addRepo('acme/k8s', { 'apps/api/deployment.yaml': deployment('api') });
    deps = await makeDeps(fake, { extraServices: threeManifests });
    const r = await run(['selectors']);
    assert.equal(r.outcomes[0].status, 'refused');
    assert.match(r.outcomes[0].reason!, /acme\/k8s: apps\/api\/a\.yaml does not exist on main; fix the catalog entry for api/);
    assert.equal(fake.writes(), 0);
  });

  test('a binary file is read through the blob API and edited as before', async () => {
    const withNul = `${dockerfile}# \0\n`;
    fake.addRepo('acme/api', { Dockerfile: Buffer.from(withNul) });
    const r = await run(['base']);
    assert.equal(r.outcomes[0].status, 'opened');
    assert.equal(fake.file('acme/api', 'archshift/api/base', 'Dockerfile'), withNul.replace('openjdk:8-jre', 'eclipse-temurin:8-jre'));
    assert.ok(fake.requests.some((q) => q.method === 'GET' && q.path.startsWith('/repos/acme/api/git/blobs/')));
  });

  test('a 502 on the GraphQL read is retried; a persistent 500 fails clearly and creates nothing', async () => {
    fake.inject({ method: 'POST', path: /^\/graphql$/, status: 502, message: 'Bad Gateway', times: 1 });
    assert.equal((await run(['base'])).outcomes[0].status, 'opened');
    assert.equal(graphqlCalls(fake), 2);

    fake.reset();
    fake.addRepo('acme/api', { Dockerfile: dockerfile });
    deps = await makeDeps(fake);
    fake.inject({ method: 'POST', path: /^\/graphql$/, status: 500, message: 'Server Error', times: 10 });
    const r = await run(['base']);
    assert.equal(r.outcomes[0].status, 'failed');
    assert.equal(r.outcomes[0].reason, 'GitHub answered 500 while trying to read Dockerfile in acme/api: Server Error');
    assert.equal(graphqlCalls(fake), 4, 'the first try and three retries');
    assert.equal(fake.writes(), 0);
    assert.deepEqual(fake.branches('acme/api'), ['main']);
    assert.equal(fake.pulls('acme/api').length, 0);
    assert.equal(prsOf(deps.store, 'api').length, 0);
  });
});
