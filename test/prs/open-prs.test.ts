import { describe, test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { slackActor } from '../../src/auth/actor.ts';
import { personName } from '../../src/render/people.ts';
import { openPrs, changeTrailer } from '../../src/prs/open-prs.ts';
import { prsOf } from '../../src/prs/records.ts';
import { CHANGE_KINDS } from '../../src/prs/planner.ts';
import type { Deps } from '../../src/deps.ts';
import { dockerfile, imagesWith, makeDeps, reportFor, seededGitHub } from './helpers.ts';

const depsFinding = {
  id: 'jvm.netty-epoll',
  severity: 'change' as const,
  ecosystem: 'jvm' as const,
  title: 'netty 4.1.40.Final has no linux-aarch_64 epoll',
  evidence: { file: 'pom.xml', line: 4 },
  autofix: {
    kind: 'deps' as const,
    params: { file: 'pom.xml', package: 'netty-transport-native-epoll', from: '4.1.40.Final', to: '4.1.100.Final', line: '4' },
  },
};

describe('openPrs against the GitHub double, through @octokit/rest over HTTP', () => {
  const fake = seededGitHub(['api', 'web']);
  let deps: Deps;
  beforeEach(async () => {
    deps = await makeDeps(fake, { registry: imagesWith(false) });
  });

  const run = (kinds = [...CHANGE_KINDS], d = deps, extra = [depsFinding]) =>
    openPrs(d, { service: d.catalog.resolve('api'), report: reportFor('api', extra), kinds, requestedBy: slackActor('U1', 'alice') });

  test('opens one branch, one commit and one PR per change, in the right repos', async () => {
    const result = await run();
    assert.deepEqual(
      result.outcomes.map((o) => [o.kind, o.status]),
      [
        ['base', 'opened'],
        ['deps', 'opened'],
        ['pipeline', 'opened'],
        ['selectors', 'opened'],
      ],
    );
    const base = fake.pulls('acme/api').find((p) => p.head === 'archshift/api/base')!;
    assert.equal(base.base, 'main');
    assert.equal(fake.file('acme/api', 'archshift/api/base', 'Dockerfile'), dockerfile.replace('openjdk:8-jre', 'eclipse-temurin:8-jre'));
    assert.equal(fake.file('acme/api', 'main', 'Dockerfile'), dockerfile, 'the base branch is untouched');
    assert.match(fake.file('acme/api', 'archshift/api/deps', 'pom.xml')!, /<version>4\.1\.100\.Final<\/version>/);
    assert.match(fake.file('acme/pipelines', 'archshift/api/pipeline', 'services/api.yml')!, /repository: api\n {6}mustBuildARM64: true\n/);
    assert.match(
      fake.file('acme/k8s', 'archshift/api/selectors', 'apps/api/deployment.yaml')!,
      /nodeSelector:\n {8}kubernetes.io\/arch: arm64/,
    );
    // One commit on top of main, carrying the trailer that marks it as archshift's.
    const sha = fake.repos.get('acme/api')!.refs.get('refs/heads/archshift/api/base')!;
    const commit = fake.commit('acme/api', sha)!;
    assert.deepEqual(commit.parents, [fake.repos.get('acme/api')!.refs.get('refs/heads/main')]);
    assert.match(commit.message, new RegExp(changeTrailer('api', 'base')));
    // The PR body: readiness summary, table with evidence, merge order, checklist.
    assert.match(base.body, /Readiness of `api` for arm64: \*\*needs-changes\*\*/);
    assert.match(
      base.body,
      /\| `Dockerfile` \| base image `openjdk:8-jre` → `eclipse-temurin:8-jre` \| line 1: openjdk:8-jre publishes linux\/amd64 only \|/,
    );
    assert.match(base.body, /### Merge order[\s\S]*1\. Base image[\s\S]*this PR[\s\S]*4\. Scheduling/);
    assert.match(base.body, /- \[ \] /);
    // The requester in words GitHub shows: never a Slack mention, never an @handle that would ping a GitHub user.
    assert.ok(base.body.includes(`Opened by archshift for ${personName(slackActor('U1', 'alice'), 'github')}`));
    assert.doesNotMatch(base.body, /<@|@alice/);
    // Selectors waits for the image: a draft that says why.
    const sel = fake.pulls('acme/k8s')[0];
    assert.equal(sel.draft, true);
    assert.match(sel.body, /Draft on purpose:.*registry\.acme\.io\/api:1\.0\.0` does not publish `linux\/arm64` yet/);
    assert.equal(fake.pulls('acme/pipelines')[0].draft, false);
    // The store remembers every PR for the report and the digest.
    assert.deepEqual(
      prsOf(deps.store, 'api').map((r) => [r.kind, r.state, r.number]),
      [
        ['base', 'open', base.number],
        ['deps', 'open', fake.pulls('acme/api')[1].number],
        ['pipeline', 'open', fake.pulls('acme/pipelines')[0].number],
        ['selectors', 'open', sel.number],
      ],
    );
  });

  test('a 3-file PR takes at most 8 GitHub requests once the repo is known, reads included', async () => {
    deps = await makeDeps(fake, {
      registry: imagesWith(true),
      extraServices: {
        api: { manifests: { repo: 'acme/k8s', files: ['apps/api/deployment.yaml', 'apps/api/a.yaml', 'apps/api/b.yaml'] } },
      },
    });
    const repo = fake.repos.get('acme/k8s')!;
    fake.addRepo('acme/k8s', {
      'apps/api/deployment.yaml': deployment2('api'),
      'apps/api/a.yaml': deployment2('api-worker').replace('api-worker', 'api'),
      'apps/api/b.yaml': deployment2('api'),
    });
    void repo;
    await deps.github!.repoInfo('acme/k8s');
    const r = await run(['selectors']);
    assert.equal(r.outcomes[0].status, 'opened');
    assert.equal(r.outcomes[0].files!.length, 3);
    assert.ok(r.outcomes[0].requests! <= 8, `took ${r.outcomes[0].requests} requests`);
    assert.equal(fake.pulls('acme/k8s')[0].draft, false, 'the image publishes arm64, so the PR is ready');
  });

  test('a re-run updates the same branch and PR instead of opening another', async () => {
    await run(['base']);
    const first = fake.pulls('acme/api')[0];
    const again = await run(['base']);
    assert.equal(again.outcomes[0].status, 'unchanged');
    // main moves on: the branch is rebuilt on the new head, the PR stays the same.
    const main = fake.repos.get('acme/api')!.refs.get('refs/heads/main')!;
    fake.pushAsHuman('acme/api', 'main', { 'README.md': 'hello\n' }, 'docs');
    const third = await run(['base']);
    assert.equal(third.outcomes[0].status, 'updated');
    assert.equal(fake.pulls('acme/api').length, 1);
    assert.equal(third.outcomes[0].pr!.number, first.number);
    const head = fake.commit('acme/api', fake.repos.get('acme/api')!.refs.get('refs/heads/archshift/api/base')!)!;
    assert.notEqual(head.parents[0], main);
    assert.equal(fake.file('acme/api', 'archshift/api/base', 'README.md'), 'hello\n');
  });

  test('a branch a person pushed to is left alone and reported', async () => {
    await run(['pipeline']);
    const before = fake.pushAsHuman('acme/pipelines', 'archshift/api/pipeline', { 'services/api.yml': 'hand edit\n' });
    const writes = fake.writes();
    const r = await run(['pipeline']);
    assert.equal(r.outcomes[0].status, 'left-alone');
    assert.match(
      r.outcomes[0].reason!,
      /someone pushed to acme\/pipelines:archshift\/api\/pipeline \(commit [0-9a-f]{7} "tweak by hand"\)/,
    );
    assert.equal(fake.repos.get('acme/pipelines')!.refs.get('refs/heads/archshift/api/pipeline'), before);
    assert.equal(fake.writes() - writes, 2, 'only the unreachable tree and commit objects were written; no ref moved, no PR touched');
  });

  test('a failure while opening the PR deletes the branch it created', async () => {
    fake.inject({ method: 'POST', path: /\/pulls$/, status: 500, message: 'Server Error', times: 10 });
    const r = await run(['base']);
    assert.equal(r.outcomes[0].status, 'failed');
    assert.match(r.outcomes[0].reason!, /500.*The branch archshift had created was deleted again/);
    assert.deepEqual(fake.branches('acme/api'), ['main']);
    assert.equal(prsOf(deps.store, 'api').length, 0);
    // Next time it works, and nothing is in the way.
    fake.clearInjections();
    assert.equal((await run(['base'])).outcomes[0].status, 'opened');
  });

  test('a 500 on createRef is retried by the retry plugin; a persistent one leaves nothing behind', async () => {
    fake.inject({ method: 'POST', path: /\/git\/refs$/, status: 502, message: 'Bad Gateway', times: 1 });
    assert.equal((await run(['base'])).outcomes[0].status, 'opened');
    fake.inject({ method: 'POST', path: /\/git\/refs$/, status: 500, times: 10 });
    const r = await run(['pipeline']);
    assert.equal(r.outcomes[0].status, 'failed');
    assert.deepEqual(fake.branches('acme/pipelines'), ['main']);
  });

  test('secondary rate limits (403 + retry-after) and 429s are waited out, not failed', async () => {
    fake.inject({
      method: 'POST',
      path: /\/git\/trees$/,
      status: 403,
      message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      headers: { 'retry-after': '2' },
    });
    fake.inject({
      method: 'GET',
      path: /\/branches\//,
      status: 429,
      message: 'API rate limit exceeded',
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000)) },
    });
    const r = await run(['base']);
    assert.equal(r.outcomes[0].status, 'opened');
    assert.equal(fake.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/git/trees')).length, 2);
  });

  test('a rate limit longer than we wait for fails clearly with nothing created', async () => {
    fake.inject({
      method: 'POST',
      path: /\/git\/trees$/,
      status: 403,
      message: 'You have exceeded a secondary rate limit.',
      headers: { 'retry-after': '3600' },
    });
    const r = await run(['base']);
    assert.equal(r.outcomes[0].status, 'refused');
    assert.match(r.outcomes[0].reason!, /rate limit/);
    assert.deepEqual(fake.branches('acme/api'), ['main']);
  });

  test('a repo outside github.allow is refused without a single request', async () => {
    deps = await makeDeps(fake, { allow: ['acme/k8s', 'acme/pipelines'] });
    const r = await run(['base']);
    assert.equal(r.outcomes[0].status, 'refused');
    assert.match(r.outcomes[0].reason!, /may not write to acme\/api: it is not in github.allow/);
    assert.equal(r.outcomes[0].requests, 0);
  });

  test('archived repos, read-only tokens and empty repos get a clear reply and nothing is created', async () => {
    fake.repos.get('acme/api')!.archived = true;
    const archived = await run(['base']);
    assert.match(archived.outcomes[0].reason!, /acme\/api is archived \(read-only\)/);
    fake.repos.get('acme/api')!.archived = false;

    fake.tokens.set('ghp_reader', { write: false });
    const ro = await makeDeps(fake, { token: 'ghp_reader' });
    const r = await run(['base'], ro);
    assert.equal(r.outcomes[0].status, 'refused');
    assert.match(r.outcomes[0].reason!, /no write access to acme\/api/);

    // App tokens: GitHub does not describe permissions on the repo, so the first write's 403 tells.
    fake.tokens.set('ghs_app_readonly', { write: false, app: true });
    const app = await makeDeps(fake, { token: 'ghs_app_readonly' });
    const a = await run(['base'], app);
    assert.equal(a.outcomes[0].status, 'refused');
    assert.match(a.outcomes[0].reason!, /may not write to acme\/api \(403: Resource not accessible by integration\)/);

    fake.addRepo('acme/api', {}, { empty: true });
    const empty = await run(['base'], await makeDeps(fake));
    assert.match(empty.outcomes[0].reason!, /acme\/api has no branch main; is the repository empty\?/);
    assert.deepEqual(fake.branches('acme/api'), []);
    assert.equal(fake.pulls('acme/api').length, 0);
  });

  test('a missing file or an edit the editor cannot place opens no PR and names the file', async () => {
    fake.addRepo('acme/pipelines', { 'services/other.yml': 'x: 1\n' });
    const missing = await run(['pipeline']);
    assert.equal(missing.outcomes[0].status, 'refused');
    assert.match(missing.outcomes[0].reason!, /acme\/pipelines: services\/api\.yml does not exist on main/);

    fake.addRepo('acme/pipelines', { 'services/api.yml': '/pipeline:\n  build:\n    uses: make@v1\n' });
    const cannot = await run(['pipeline']);
    assert.equal(cannot.outcomes[0].status, 'refused');
    assert.match(cannot.outcomes[0].reason!, /acme\/pipelines: services\/api\.yml: no docker-build step found\. No PR was opened\./);
    assert.deepEqual(fake.branches('acme/pipelines'), ['main']);
    assert.equal(fake.pulls('acme/pipelines').length, 0);
  });

  test('when the base already has the change, no PR is opened', async () => {
    fake.addRepo('acme/pipelines', { 'services/api.yml': '/pipeline:\n  docker-build:\n    with:\n      mustBuildARM64: true\n' });
    const r = await run(['pipeline']);
    assert.equal(r.outcomes[0].status, 'already-done');
    assert.equal(fake.writes(), 0);
  });

  test('the selectors draft is marked ready on a re-run once the image publishes arm64', async () => {
    await run(['selectors']);
    assert.equal(fake.pulls('acme/k8s')[0].draft, true);
    deps = { ...deps, registry: imagesWith(true) };
    const r = await run(['selectors']);
    assert.equal(r.outcomes[0].pr!.draft, false);
    assert.equal(fake.pulls('acme/k8s')[0].draft, false);
    assert.doesNotMatch(fake.pulls('acme/k8s')[0].body, /Draft on purpose/);
  });

  test('a closed PR is not reopened', async () => {
    await run(['pipeline']);
    const pr = fake.pulls('acme/pipelines')[0];
    pr.state = 'closed';
    const r = await run(['pipeline']);
    assert.equal(r.outcomes[0].status, 'left-alone');
    assert.match(r.outcomes[0].reason!, /was closed; archshift does not reopen it/);
  });

  test('dry run returns unified diffs and writes nothing', async () => {
    const r = await openPrs(deps, {
      service: deps.catalog.resolve('api'),
      report: reportFor('api'),
      kinds: ['base', 'pipeline'],
      dryRun: true,
    });
    assert.deepEqual(
      r.outcomes.map((o) => o.status),
      ['dry-run', 'dry-run'],
    );
    assert.match(
      r.outcomes[0].diff!,
      /--- a\/acme\/api\/Dockerfile\n\+\+\+ b\/acme\/api\/Dockerfile\n@@ -1,4 \+1,4 @@\n-FROM openjdk:8-jre\n\+FROM eclipse-temurin:8-jre\n/,
    );
    assert.equal(fake.writes(), 0);
  });

  test('canary services get the -arm64 Deployment and DestinationRule subsets', async () => {
    const r = await openPrs(deps, { service: deps.catalog.resolve('web'), report: reportFor('web'), kinds: ['selectors'] });
    assert.equal(r.outcomes[0].status, 'opened');
    const text = fake.file('acme/k8s', 'archshift/web/selectors', 'apps/web/deployment.yaml')!;
    assert.match(text, /name: web-arm64/);
    assert.match(text, /kind: DestinationRule[\s\S]*host: web[\s\S]*- name: amd64[\s\S]*- name: arm64/);
    assert.ok(
      text.includes('      labels:\n        app: web\n        archshift.io/arch: amd64\n    spec:\n'),
      'the original keeps running on amd64, labelled for its subset',
    );
    assert.doesNotMatch(text.split('---')[0], /nodeSelector/, 'the original Deployment is not moved');
  });

  test('GitHub App authentication: installation token exchange, then writes', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    fake.app = { id: '123', publicKey, installationId: '42' };
    const { GitHubClient } = await import('../../src/adapters/github.ts');
    deps = {
      ...deps,
      github: new GitHubClient({
        baseUrl: fake.url,
        allow: ['acme/*'],
        writeIntervalMs: 0,
        auth: { kind: 'app', appId: '123', privateKey, installationId: '42' },
        timeScaleMs: 1,
      }),
    };
    const r = await run(['base']);
    assert.equal(r.outcomes[0].status, 'opened');
    assert.ok(fake.requests.some((q) => q.path === '/app/installations/42/access_tokens'));
  });
});

function deployment2(name: string): string {
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n        - name: ${name}\n          image: x\n`;
}
