// The guard end to end: signed GitHub deliveries into the running bot's ops server (POST /github/events),
// a GitHub App against the GitHub double (checks API and PR files validated against GitHub's OpenAPI
// description), images on the real docker-registry, the Deployment from the Kubernetes API double, and
// the Slack note to the fake Slack Web API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { FakeGitHub } from '../fakes/github-api.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { until } from '../fakes/until.ts';

const SECRET = 'webhook-secret-for-tests';
const INSTALLATION = '4242';
const amd64 = { architecture: 'amd64' };
const arm64 = { architecture: 'arm64', variant: 'v8' };

const deployment = (host: string, image = `${host}/shop/api:1.0.0`) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: { app: api }
  template:
    metadata:
      labels: { app: api }
    spec:
      containers:
        - name: api
          image: ${image}
`;

export function sign(body: string, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

describe('the PR guard through GitHub webhooks', () => {
  let registry: RunningRegistry;
  let github: FakeGitHub;
  let kube: FakeKubeApi;
  let bot: TestBot;
  let hooks: string;

  before(async () => {
    [registry, github, kube] = await Promise.all([startRegistry(), new FakeGitHub().start(), new FakeKubeApi().start()]);
    await registry.pushIndex('library/alpine', '3.19', [amd64, arm64]);
    await registry.pushSingle('library/alpine', '3.8', amd64);
    await registry.pushIndex('shop/api', '1.0.0', [amd64, arm64]);
    await registry.pushIndex('shop/web', '2.0.0', [amd64, arm64]);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    github.app = { id: '99', publicKey, installationId: INSTALLATION };
    const files = (svc: string) => ({
      Dockerfile: `FROM ${registry.host}/library/alpine:3.19\nCOPY app /app\n`,
      'k8s/deployment.yaml': deployment(registry.host, `${registry.host}/shop/${svc}:${svc === 'api' ? '1.0.0' : '2.0.0'}`),
      'pipeline.yml': 'steps:\n  docker-build:\n    mustBuildARM64: true\n',
    });
    github.addRepo('acme/api', files('api'));
    github.addRepo('acme/web', files('web'));
    // api runs on arm64 (moved); web runs on amd64 only (not moved).
    kube.put('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'graviton-1', labels: { 'kubernetes.io/arch': 'arm64' } } });
    kube.put('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'x86-1', labels: { 'kubernetes.io/arch': 'amd64' } } });
    for (const [name, node] of [['api', 'graviton-1'], ['web', 'x86-1']] as const) {
      kube.put('/apis/apps/v1/namespaces/shop/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop' }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${registry.host}/shop/${name}:1.0.0` }] } } } });
      kube.put('/api/v1/namespaces/shop/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-1`, namespace: 'shop', labels: { app: name } }, spec: { nodeName: node, containers: [{ name, image: `${registry.host}/shop/${name}:1.0.0` }] } });
    }
    const entry = (svc: string) => ({
      repo: `acme/${svc}`, dockerfiles: ['Dockerfile'], image: `${registry.host}/shop/${svc}`,
      pipeline: { repo: `acme/${svc}`, file: 'pipeline.yml' }, manifests: { repo: `acme/${svc}`, files: ['k8s/deployment.yaml'] },
      namespace: 'shop', deployment: svc, channel: `#team-${svc}`,
    });
    bot = await startTestBot(
      {
        catalog: { services: { api: entry('api'), web: entry('web') } },
        github: { baseUrl: github.url, allow: ['acme/*'], writeIntervalMs: 0 },
        guard: { reportUrl: 'https://archshift.example/services/{service}', maxPayloadBytes: 256 * 1024 },
      },
      {
        kubeConfig: kube.kubeConfig(),
        githubWebhookSecret: SECRET,
        env: { GITHUB_APP_ID: '99', GITHUB_APP_PRIVATE_KEY: privateKey, GITHUB_APP_INSTALLATION_ID: INSTALLATION },
      },
    );
    hooks = `${bot.opsUrl}/github/events`;
  });
  after(async () => {
    await bot?.stop();
    await Promise.all([registry?.stop(), github?.stop(), kube?.stop()]);
  });

  const pullEvent = (repo: string, pr: { number: number; headSha: string; baseSha: string }, action = 'opened') => ({
    action,
    number: pr.number,
    pull_request: {
      number: pr.number,
      html_url: `https://github.example/${repo}/pull/${pr.number}`,
      head: { sha: pr.headSha, ref: `b${pr.number}` },
      base: { sha: pr.baseSha, ref: 'main' },
    },
    repository: { full_name: repo, name: repo.split('/')[1], html_url: `https://github.example/${repo}`, owner: { login: 'acme' } },
    installation: { id: Number(INSTALLATION) },
  });
  const deliver = (event: string, payload: unknown, opts: { delivery?: string; signature?: string; body?: string } = {}) => {
    const body = opts.body ?? JSON.stringify(payload);
    return fetch(hooks, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': opts.delivery ?? randomUUID(), 'x-hub-signature-256': opts.signature ?? sign(body) },
    });
  };
  const completedRun = async (repo: string, sha: string) => {
    const find = () => github.checkRuns(repo).find((r) => r.head_sha === sha && r.status === 'completed');
    await until(() => find() !== undefined, 60_000, `a completed check run on ${sha.slice(0, 7)}`);
    return find()!;
  };
  const posted = (channel: string) => bot.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === channel);

  test('a PR that moves a moved service to a base image without arm64 fails within 30 s, annotated at file:line; the team hears once', async () => {
    const pr = github.openPullAsHuman('acme/api', { branch: 'bump-alpine', files: { Dockerfile: `FROM ${registry.host}/library/alpine:3.8\nCOPY app /app\n` } });
    const before = github.requests.length;
    const started = Date.now();
    const res = await deliver('pull_request', pullEvent('acme/api', pr));
    assert.equal(res.status, 202);
    const run = await completedRun('acme/api', pr.headSha);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 30_000, `failing check after ${elapsed} ms`);
    assert.equal(run.name, 'archshift/arm64');
    assert.equal(run.conclusion, 'failure');
    assert.match(run.output.title!, /Breaks arm64 for api/);
    assert.match(run.output.summary!, /1 pods? run on arm64 nodes/);
    assert.match(run.output.summary!, /https:\/\/archshift\.example\/services\/api/);
    assert.deepEqual(run.annotations.map((a) => [a.path, a.start_line, a.annotation_level]), [['Dockerfile', 1, 'failure']]);
    assert.match(run.annotations[0]!.message, /Fix: /);
    await until(() => posted('#team-api').length > 0, 10_000, 'the Slack note');
    const note = posted('#team-api')[0]!;
    assert.match(String(note.args.text), /acme\/api#1/);
    assert.match(String(note.args.text), /would break arm64 for \*api\*/);
    console.log(`# guard: failing check ${elapsed} ms after the delivery, ${github.requests.length - before} GitHub requests`);

    // A re-requested check runs again (a new run on the same head), but the team is not told twice.
    const rerequest = { action: 'rerequested', check_run: { name: 'archshift/arm64', head_sha: pr.headSha, pull_requests: [{ number: pr.number, head: { sha: pr.headSha }, base: { sha: pr.baseSha } }] }, repository: pullEvent('acme/api', pr).repository, installation: { id: Number(INSTALLATION) } };
    assert.equal((await deliver('check_run', rerequest)).status, 202);
    await until(() => github.checkRuns('acme/api').filter((r) => r.head_sha === pr.headSha && r.status === 'completed').length === 2, 60_000, 'the re-run');
    await bot.bot.ops.inFlight.drain(30_000);
    assert.equal(posted('#team-api').length, 1);
  });

  test('a PR that introduces nothing succeeds, even though it moves lines; a service not on arm64 is neutral', async () => {
    const clean = github.openPullAsHuman('acme/api', { branch: 'comment', files: { Dockerfile: `# runtime\nFROM ${registry.host}/library/alpine:3.19\nCOPY app /app\n` } });
    await deliver('pull_request', pullEvent('acme/api', clean));
    assert.equal((await completedRun('acme/api', clean.headSha)).conclusion, 'success');
    const web = github.openPullAsHuman('acme/web', { branch: 'bump', files: { Dockerfile: `FROM ${registry.host}/library/alpine:3.8\n` } });
    await deliver('pull_request', pullEvent('acme/web', web));
    const run = await completedRun('acme/web', web.headSha);
    assert.equal(run.conclusion, 'neutral');
    assert.match(run.output.summary!, /not on arm64 yet/);
    assert.equal(run.annotations[0]?.annotation_level, 'warning');
  });

  test('only what the PR brings is blamed: the base branch moving on after the PR branched is not', async () => {
    const pr = github.openPullAsHuman('acme/api', { branch: 'docs', files: { 'README.md': 'docs\n' } });
    // main later breaks its own Dockerfile; the PR (branched before) does not carry that and is not blamed for it either way.
    const newBase = github.pushAsHuman('acme/api', 'main', { Dockerfile: `FROM ${registry.host}/library/alpine:3.8\n` });
    await deliver('pull_request', pullEvent('acme/api', { ...pr, baseSha: newBase }));
    const run = await completedRun('acme/api', pr.headSha);
    assert.equal(run.conclusion, 'success', run.output.summary ?? '');
    github.pushAsHuman('acme/api', 'main', { Dockerfile: `FROM ${registry.host}/library/alpine:3.19\nCOPY app /app\n` });
  });

  test('forged, unsigned, oversized, replayed and duplicate deliveries: refused or run once', async () => {
    const pr = github.openPullAsHuman('acme/api', { branch: 'dup', files: { Dockerfile: `FROM ${registry.host}/library/alpine:3.8\n` } });
    const payload = pullEvent('acme/api', pr);
    const runsBefore = () => github.checkRuns('acme/api').filter((r) => r.head_sha === pr.headSha).length;
    assert.equal((await deliver('pull_request', payload, { signature: sign(JSON.stringify(payload), 'wrong-secret') })).status, 401, 'forged');
    assert.equal((await deliver('pull_request', payload, { signature: 'sha1=abc' })).status, 401, 'no sha256 signature');
    // Oversized: refused from its Content-Length before anything is read.
    const big = JSON.stringify({ ...payload, padding: 'x'.repeat(300 * 1024) });
    assert.equal((await deliver('pull_request', undefined, { body: big })).status, 413);
    // Oversized without a Content-Length (chunked): refused once the cap is passed.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(hooks, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign(big), 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      for (let i = 0; i < big.length; i += 16 * 1024) req.write(big.slice(i, i + 16 * 1024));
      req.end();
    });
    assert.equal(chunked, 413);
    assert.equal(runsBefore(), 0, 'nothing refused ran');
    const id = randomUUID();
    assert.equal((await deliver('pull_request', payload, { delivery: id })).status, 202);
    assert.equal((await deliver('pull_request', payload, { delivery: id })).status, 200, 'the same delivery again (a redelivery) is acknowledged');
    await completedRun('acme/api', pr.headSha);
    await bot.bot.ops.inFlight.drain(30_000);
    assert.equal(runsBefore(), 1, 'run once');
    // Another installation's delivery is not ours to act on.
    const other = { ...pullEvent('acme/api', pr, 'synchronize'), installation: { id: 1 } };
    assert.equal((await deliver('pull_request', other)).status, 202);
    await bot.bot.ops.inFlight.drain(30_000);
    assert.equal(runsBefore(), 1);
  });
});
