// checkService and `/arm64 check` for a catalog service: files through the GitHub adapter (REST double),
// images from the real registry, the live Deployment from the Kubernetes API double, and the report
// posted to the fake Slack Web API (chat.postMessage "Checking…", then chat.update with the report).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { check } from '../../commands/check.ts';
import { Kubernetes } from '../../src/adapters/kubernetes.ts';
import type { Deps } from '../../src/deps.ts';
import { checkService } from '../../src/readiness/check.ts';
import { FakeGitHub } from '../fakes/github-api.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { fixtureFile, pushOpenImages, readinessDeps, seedServiceRepos } from './service-fixtures.ts';

describe('checkService: GitHub, registry and cluster together', () => {
  let registry: RunningRegistry;
  let github: FakeGitHub;
  let kube: FakeKubeApi;
  let slack: FakeSlackApi;
  let dir: string;
  let deps: Deps;

  before(async () => {
    [registry, github, kube, slack] = await Promise.all([
      startRegistry(),
      new FakeGitHub().start(),
      new FakeKubeApi().start(),
      new FakeSlackApi().start(),
    ]);
    await pushOpenImages(registry);
    // A sidecar the mesh injects at admission: only the live pods show it.
    await registry.pushSingle('mesh/proxy', '1.12.0', { architecture: 'amd64' });
    github.tokens.set('ghp_reader', { write: false });
    const entry = await seedServiceRepos(github, 'checkout-api', registry.host);

    const manifest = (await fixtureFile('checkout-api', 'deployment.yaml', registry.host)).split('---\n')[1]!;
    const { parse } = await import('yaml');
    const deployment = parse(manifest);
    kube.put('/apis/apps/v1/namespaces/shop/deployments', deployment);
    kube.put('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'x86-1', labels: { 'kubernetes.io/arch': 'amd64' } } });
    kube.put('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'graviton-1', labels: { 'kubernetes.io/arch': 'arm64' } },
      spec: { taints: [{ key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoExecute' }] },
    });
    const pod = (name: string, node: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app: 'checkout-api' } },
      spec: {
        nodeName: node,
        initContainers: deployment.spec.template.spec.initContainers,
        containers: [...deployment.spec.template.spec.containers, { name: 'mesh-proxy', image: `${registry.host}/mesh/proxy:1.12.0` }],
      },
    });
    kube.put('/api/v1/namespaces/shop/pods', pod('checkout-api-1', 'x86-1'));
    kube.put('/api/v1/namespaces/shop/pods', pod('checkout-api-2', 'x86-1'));

    dir = await mkdtemp(join(tmpdir(), 'archshift-check-'));
    deps = await readinessDeps(github, { catalog: { services: { 'checkout-api': entry } } }, dir);
    deps = { ...deps, kube: await Kubernetes.fromConfig(deps.config.kubernetes, kube.kubeConfig()) };
  });
  after(async () => {
    await Promise.all([registry?.stop(), github?.stop(), kube?.stop(), slack?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('files from GitHub, placement and an injected amd64-only sidecar from the cluster (blocked)', async () => {
    const report = await checkService(deps, 'checkout-api');
    const ids = report.findings.map((f) => f.id);
    assert.ok(github.requests.some((r) => r.path.includes('/contents/Dockerfile')));
    const golang = report.findings.find((f) => f.evidence.image === `${registry.host}/library/golang:1.22`)!;
    assert.deepEqual(
      [golang.id, golang.evidence.file, golang.evidence.line],
      ['image.arm64', 'Dockerfile', 7],
      'read from the default branch (trunk)',
    );
    assert.ok(ids.includes('pipeline.arm64-build'));
    assert.equal(
      report.findings.find((f) => f.id === 'kubernetes.placement')!.title,
      '2 pods of Deployment checkout-api run now: 2 on amd64 (x86-1)',
    );
    const sidecar = report.findings.find((f) => f.evidence.image === `${registry.host}/mesh/proxy:1.12.0`)!;
    assert.deepEqual([sidecar.id, sidecar.severity], ['image.amd64-only', 'blocker']);
    assert.equal(report.verdict, 'blocked');
    assert.ok(!ids.includes('native.not-scanned') && !ids.includes('native.scan-failed'), 'native dependencies are scanned through GitHub');
    assert.ok(!ids.includes('kubernetes.arm64-without-image'), 'nothing runs on arm64 yet');
  });

  test('a pod with that sidecar on an arm64 node is the crash-loop case, named as such', async () => {
    kube.put('/api/v1/namespaces/shop/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'checkout-api-3', labels: { app: 'checkout-api' } },
      spec: { nodeName: 'graviton-1', containers: [{ name: 'mesh-proxy', image: `${registry.host}/mesh/proxy:1.12.0` }] },
    });
    try {
      const report = await checkService(deps, 'checkout-api');
      const crash = report.findings.find((f) => f.id === 'kubernetes.arm64-without-image')!;
      assert.equal(crash.severity, 'blocker');
      assert.match(crash.title, /has pods on arm64 nodes.*mesh\/proxy:1\.12\.0.*exec format error/);
    } finally {
      kube.remove('/api/v1/namespaces/shop/pods', 'checkout-api-3');
    }
  });

  test('arm64 nodes without the arm64 taint take any pod its selectors allow: the amd64-only sidecar is then a blocker', async () => {
    kube.put('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'graviton-2', labels: { 'kubernetes.io/arch': 'arm64' } },
    });
    try {
      const report = await checkService(deps, 'checkout-api');
      const risk = report.findings.find((f) => f.id === 'kubernetes.arm64-without-image')!;
      assert.match(risk.title, /can be scheduled on arm64 nodes.*mesh\/proxy:1\.12\.0/);
    } finally {
      kube.remove('/api/v1/nodes', 'graviton-2');
    }
  });

  test("the selectors fix tolerates the taint the cluster's arm64 nodes carry, not a hard-coded NoExecute", async () => {
    kube.put('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'graviton-1', labels: { 'kubernetes.io/arch': 'arm64' } },
      spec: { taints: [{ key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' }] },
    });
    try {
      const report = await checkService(deps, 'checkout-api');
      const fix = report.findings.find((f) => f.autofix?.kind === 'selectors')!;
      assert.equal(fix.autofix!.params.taint, 'kubernetes.io/arch=arm64:NoSchedule');
      assert.match(fix.fix!, /kubernetes\.io\/arch=arm64:NoSchedule/);
    } finally {
      kube.put('/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'graviton-1', labels: { 'kubernetes.io/arch': 'arm64' } },
        spec: { taints: [{ key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoExecute' }] },
      });
    }
  });

  test('a cluster that fails and a GitHub that fails are unknown evidence, never ready', async () => {
    kube.fail({ path: /deployments/, status: 500, message: 'etcd is sad' });
    github.inject({ method: 'GET', path: /contents\/services/, status: 502, times: 10 });
    try {
      const report = await checkService(deps, 'checkout-api');
      assert.equal(report.verdict === 'blocked' || report.verdict === 'unknown', true);
      const cluster = report.findings.find((f) => f.id === 'kubernetes.unreachable')!;
      assert.equal(cluster.severity, 'unknown');
      assert.match(cluster.title, /500/);
      const pipeline = report.findings.find((f) => f.id === 'source.unreadable')!;
      assert.equal(pipeline.evidence.file, 'services/checkout-api.yml');
    } finally {
      kube.clearFaults();
      github.clearInjections();
    }
  });

  test('/arm64 check posts "Checking…" and updates it with the report and an Open PRs button', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const replies: unknown[] = [];
    await check.run({
      args: { positionals: ['checkout-api'], flags: {} },
      user: { id: 'U1' },
      channelId: 'C0MIGRATION',
      respond: async (r) => void replies.push(r),
      client,
      deps,
    });
    const posted = slack.calls.filter((c) => c.method === 'chat.postMessage');
    const updated = slack.calls.filter((c) => c.method === 'chat.update');
    assert.equal(posted.length, 1);
    assert.match(String(posted[0]!.args.text), /Checking checkout-api/);
    assert.equal(updated.length, 1);
    assert.equal(updated[0]!.args.channel, 'C0MIGRATION');
    assert.match(String(updated[0]!.args.text), /^checkout-api: Blocked/);
    const blocks = (typeof updated[0]!.args.blocks === 'string' ? JSON.parse(updated[0]!.args.blocks) : updated[0]!.args.blocks) as Array<{
      type: string;
      elements?: Array<{ action_id?: string; value?: string }>;
    }>;
    const button = blocks.find((b) => b.type === 'actions')!.elements![0]!;
    assert.deepEqual([button.action_id, button.value], ['open_prs', 'checkout-api']);
    assert.deepEqual(replies, []);
  });

  test('/arm64 check refuses a bad or unknown service before posting anything', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const before = slack.calls.length;
    const ctx = (positionals: string[]) => ({
      args: { positionals, flags: {} },
      user: { id: 'U1' },
      channelId: 'C1',
      respond: async () => undefined,
      client,
      deps,
    });
    await assert.rejects(check.run(ctx([])), /exactly one service/);
    await assert.rejects(check.run(ctx(['Bad_Name'])), /not a service name/);
    await assert.rejects(check.run(ctx(['checkout-apj'])), /unknown service "checkout-apj"/);
    assert.equal(slack.calls.length, before);
  });
});
