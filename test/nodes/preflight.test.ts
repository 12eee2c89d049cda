// `nodes` end to end: the Kubernetes double (nodes, taints, Karpenter NodePools, DaemonSets with per-node
// pods, injected sidecars), the AWS SDK against the local double of Auto Scaling, EC2 and EKS, the real
// docker-registry for image architectures, and the terminal and Slack surfaces.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { AWS_ACTIONS, AwsNodeGroups } from '../../src/adapters/aws.ts';
import { KubeCluster, Kubernetes } from '../../src/adapters/kubernetes.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { Store } from '../../src/adapters/store.ts';
import { runCli } from '../../src/cli.ts';
import { createLogger } from '../../src/logger.ts';
import { preflightNodes, type NodesDeps } from '../../src/nodes/preflight.ts';
import { FakeAwsApi } from '../fakes/aws-api.ts';
import { startTestBot } from '../fakes/bot.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';

const NOSCHED = { key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' };

let registry: RunningRegistry;
let kube: FakeKubeApi;
let aws: FakeAwsApi;
let dir: string;
let store: Store;

function seed(api: FakeKubeApi, host: string): void {
  const node = (name: string, arch: string, type: string, taints: unknown[] = []) =>
    api.put('/api/v1/nodes', {
      metadata: { name, labels: { 'kubernetes.io/arch': arch, 'node.kubernetes.io/instance-type': type } },
      spec: { taints },
    });
  node('ip-10-0-1-1', 'amd64', 'm5.large');
  node('ip-10-0-1-2', 'amd64', 'm5.large');
  node('ip-10-0-2-1', 'arm64', 'm6g.large', [NOSCHED]);
  node('ip-10-0-2-2', 'arm64', 'm6g.large', [NOSCHED]);
  const ds = (name: string, uid: string, image: string, tolerations: unknown[], nodes: string[]) => {
    api.put('/apis/apps/v1/namespaces/kube-system/daemonsets', {
      metadata: { name, namespace: 'kube-system', uid },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${host}/${image}` }], tolerations } },
      },
      status: { desiredNumberScheduled: nodes.length, currentNumberScheduled: nodes.length },
    });
    for (const n of nodes) {
      api.put('/api/v1/namespaces/kube-system/pods', {
        metadata: {
          name: `${name}-${n}`,
          namespace: 'kube-system',
          labels: { app: name },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name, uid, controller: true }],
        },
        spec: { nodeName: n, containers: [{ name, image: `${host}/${image}` }] },
      });
    }
  };
  // Multi-arch, but tolerates only the NoExecute flavour of the taint: missing on both arm64 nodes.
  ds(
    'fluent-bit',
    'uid-fb',
    'fluent/fluent-bit:3.0.4',
    [{ key: 'kubernetes.io/arch', operator: 'Exists', effect: 'NoExecute' }],
    ['ip-10-0-1-1', 'ip-10-0-1-2'],
  );
  ds(
    'node-exporter',
    'uid-ne',
    'prom/node-exporter:1.8.1',
    [{ operator: 'Exists' }],
    ['ip-10-0-1-1', 'ip-10-0-1-2', 'ip-10-0-2-1', 'ip-10-0-2-2'],
  );
  ds('legacy-agent', 'uid-la', 'acme/legacy-agent:2.1', [{ operator: 'Exists' }], ['ip-10-0-1-1', 'ip-10-0-1-2']);
  api.put('/api/v1/namespaces/shop/pods', {
    // Istio's injector labels what it injects (security.istio.io/tlsMode) besides the status annotation.
    metadata: {
      name: 'checkout-1',
      namespace: 'shop',
      labels: { app: 'checkout', 'security.istio.io/tlsMode': 'istio' },
      annotations: { 'sidecar.istio.io/status': JSON.stringify({ containers: ['istio-proxy'], initContainers: ['istio-init'] }) },
    },
    spec: {
      nodeName: 'ip-10-0-1-1',
      containers: [
        { name: 'app', image: `${host}/shop/checkout:1` },
        { name: 'istio-proxy', image: `${host}/istio/proxyv2:1.13.4` },
      ],
    },
  });
  api.put('/apis/karpenter.sh/v1/nodepools', {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name: 'graviton' },
    spec: {
      template: { spec: { requirements: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] }], taints: [NOSCHED] } },
      limits: { cpu: '200' },
    },
  });
}

function seedAws(a: FakeAwsApi): void {
  a.groups.push(
    {
      name: 'prod-eu-x86',
      min: 2,
      max: 10,
      desired: 2,
      tags: { 'kubernetes.io/cluster/prod-eu': 'owned' },
      instanceTypes: ['m5.large'],
      instances: ['m5.large', 'm5.large'],
    },
    {
      name: 'prod-eu-graviton-selfmanaged',
      min: 0,
      max: 10,
      desired: 0,
      tags: {
        'k8s.io/cluster-autoscaler/prod-eu': 'owned',
        'k8s.io/cluster-autoscaler/node-template/taint/kubernetes.io/arch': 'arm64:NoSchedule',
      },
      launchTemplate: { id: 'lt-0arm', name: 'graviton' },
    },
    {
      name: 'other-cluster',
      min: 0,
      max: 3,
      desired: 0,
      tags: { 'kubernetes.io/cluster/staging': 'owned' },
      instanceTypes: ['c7g.xlarge'],
    },
  );
  a.launchTemplates.set('lt-0arm', 'c7g.xlarge');
  a.nodegroups.push({
    cluster: 'prod-eu',
    name: 'ng-arm',
    amiType: 'AL2023_ARM_64_STANDARD',
    instanceTypes: ['m6g.large'],
    taints: [{ key: 'kubernetes.io/arch', value: 'arm64', effect: 'NO_SCHEDULE' }],
    min: 0,
    max: 5,
    desired: 2,
  });
}

before(async () => {
  registry = await startRegistry();
  await registry.pushIndex('fluent/fluent-bit', '3.0.4', [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
  await registry.pushIndex('prom/node-exporter', '1.8.1', [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
  await registry.pushSingle('acme/legacy-agent', '2.1', { architecture: 'amd64' });
  await registry.pushSingle('istio/proxyv2', '1.13.4', { architecture: 'amd64' });
  kube = await new FakeKubeApi().start();
  seed(kube, registry.host);
  aws = await new FakeAwsApi().start();
  seedAws(aws);
  Object.assign(process.env, aws.env());
  dir = await mkdtemp(join(tmpdir(), 'archshift-nodes-'));
  store = await Store.open(join(dir, 'store.json'));
});

after(async () => {
  await store.close();
  await Promise.all([registry.stop(), kube.stop(), aws.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const awsConfig = () => ({ region: aws.region, endpoint: aws.url, maxAttempts: 2, clusterNames: { fake: 'prod-eu' } });

function deps(opts: { aws?: boolean; taint?: typeof NOSCHED } = {}): NodesDeps {
  const logger = createLogger('silent');
  return {
    kube: new Kubernetes([new KubeCluster('fake', kube.kubeConfig())]),
    registry: createRegistryClient({
      config: registryConfigSchema.parse({ tagTtlSeconds: 60, concurrency: 8, timeoutMs: 5000, blobTimeoutMs: 5000, retries: 0 }),
      store,
      logger,
      env: {},
      now: () => Date.now(),
    }),
    ...(opts.aws === false ? {} : { aws: new AwsNodeGroups(awsConfig()) }),
    configuredTaint: () => opts.taint,
    now: () => new Date('2026-12-01T10:00:00Z'),
  };
}

describe('archshift nodes: one cluster read for real', () => {
  it('learns the NoSchedule taint, finds the capacity and flags the DaemonSets and the sidecar', async () => {
    const asked = kube.requests.length;
    const report = await preflightNodes(deps());
    // Never every pod: injected pods by their injector's label, and only legacy-agent's own pods (its status,
    // 2 of 2, disagrees with the 4 nodes it admits); the other DaemonSets' statuses say where their pods are.
    const podLists = kube.requests.slice(asked).filter((r) => r.path.endsWith('/pods'));
    assert.deepEqual(podLists.map((r) => `${r.path} ${r.query.get('labelSelector')}`).sort(), [
      '/api/v1/namespaces/kube-system/pods app=legacy-agent',
      '/api/v1/pods linkerd.io/control-plane-ns',
      '/api/v1/pods security.istio.io/tlsMode',
    ]);
    const c = report.clusters[0]!;
    assert.equal(c.verdict, 'arm64-ready');
    assert.deepEqual(c.taint, { taint: NOSCHED, source: 'nodes' });
    assert.equal(c.schedulableArm64Nodes, 2);
    assert.deepEqual(
      c.daemonSets.map((d) => [d.name, d.problems, d.arm64Nodes - d.arm64Scheduled]),
      [
        ['legacy-agent', ['image-without-arm64'], 2],
        ['fluent-bit', ['does-not-tolerate-taint'], 2],
        ['node-exporter', [], 0],
      ],
    );
    assert.deepEqual(
      c.sidecars.map((s) => [s.container, s.status, s.architectures]),
      [['istio-proxy', 'amd64-only', ['amd64']]],
    );
    assert.deepEqual(
      c.nodePools.map((p) => [p.name, p.allowsArm64, p.blockingTaints.length]),
      [['graviton', true, 0]],
    );
    // Only the cluster's groups; the self-managed arm64 group's type comes from its launch template.
    assert.deepEqual(
      c.autoscalingGroups!.map((g) => [g.name, g.arch, g.canScaleFromZero]),
      [
        ['prod-eu-x86', 'amd64', false],
        ['prod-eu-graviton-selfmanaged', 'arm64', false],
      ],
    );
    assert.ok(c.issues.some((i) => i.kind === 'cannot-scale-from-zero' && i.group === 'prod-eu-graviton-selfmanaged'));
    assert.deepEqual(
      c.managedNodeGroups!.map((g) => [g.name, g.arch, g.taints]),
      [['ng-arm', 'arm64', [NOSCHED]]],
    );
  });

  it('calls exactly the AWS actions of the documented minimal IAM policy', async () => {
    aws.actions.length = 0;
    await preflightNodes(deps());
    const policy = JSON.parse(await readFile(new URL('../../docs/aws-iam-policy.json', import.meta.url), 'utf8')) as {
      Statement: { Sid: string; Action: string[] }[];
    };
    const granted = policy.Statement.filter((s) => s.Sid === 'ArchshiftNodePreflightReadOnly')
      .flatMap((s) => s.Action)
      .sort();
    assert.deepEqual([...new Set(aws.actions)].sort(), granted);
    assert.deepEqual([...AWS_ACTIONS].sort(), granted);
  });

  it('a throttled Auto Scaling API, retried, becomes an unreadable fact naming the action, never "fine"', async () => {
    aws.faults = [{ action: 'autoscaling:DescribeAutoScalingGroups', kind: 'throttle' }];
    try {
      const c = (await preflightNodes(deps())).clusters[0]!;
      assert.equal(c.autoscalingGroups, undefined);
      const issue = c.issues.find((i) => i.kind === 'unreadable' && i.source === 'autoscaling');
      assert.deepEqual(issue && 'cause' in issue ? [issue.cause, issue.grant] : [], ['throttled', 'autoscaling:DescribeAutoScalingGroups']);
    } finally {
      aws.faults = [];
    }
  });

  it('access denied on EKS names the permission to grant', async () => {
    aws.faults = [{ action: 'eks:ListNodegroups', kind: 'deny' }];
    try {
      const c = (await preflightNodes(deps())).clusters[0]!;
      assert.deepEqual(
        c.issues.filter((i) => i.kind === 'unreadable').map((i) => i.kind === 'unreadable' && [i.source, i.cause, i.grant]),
        [['eks', 'access-denied', 'eks:ListNodegroups']],
      );
    } finally {
      aws.faults = [];
    }
  });

  it('bad AWS credentials are reported as such, with the actions archshift needs', async () => {
    const saved = process.env.AWS_ACCESS_KEY_ID;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDWRONG';
    try {
      const io = { out: [] as string[] };
      const config = await writeConfig();
      const code = await runCli(['nodes', '--config', config], { out: (t) => io.out.push(t), err: (t) => io.out.push(t) });
      assert.equal(code, 0, io.out.join('\n')); // the nodes and Karpenter still prove capacity
      assert.match(io.out.join('\n'), /AWS refused the credentials \(autoscaling:DescribeAutoScalingGroups failed: InvalidClientTokenId/);
      assert.match(io.out.join('\n'), /allowed autoscaling:DescribeAutoScalingGroups, ec2:DescribeInstanceTypes/);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved;
    }
  });

  it('an unreachable cluster is unknown, and the terminal exits 2', async () => {
    kube.fail({ path: /\/api\/v1\/nodes/, status: 503, times: 1 });
    const io: string[] = [];
    const code = await runCli(['nodes', '--json', '--config', await writeConfig({ aws: false })], {
      out: (t) => io.push(t),
      err: (t) => io.push(t),
    });
    assert.equal(code, 2, io.join('\n'));
    const report = JSON.parse(io.join('\n')) as {
      schemaVersion: number;
      clusters: { verdict: string; issues: { kind: string; source?: string }[] }[];
    };
    assert.equal(report.schemaVersion, 1);
    assert.equal(report.clusters[0]!.verdict, 'unknown');
    assert.ok(report.clusters[0]!.issues.some((i) => i.kind === 'unreadable' && i.source === 'nodes'));
  });
});

async function writeConfig(opts: { aws?: boolean } = {}): Promise<string> {
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kube.kubeConfig().exportConfig());
  const file = join(dir, `archshift-${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(
    file,
    stringify({
      kubernetes: { kubeconfig, contexts: ['fake'] },
      registry: { retries: 0 },
      store: { file: join(dir, 'cli-store.json') },
      ...(opts.aws === false ? {} : { aws: awsConfig() }),
    }),
  );
  return file;
}

describe('/arm64 nodes in Slack', () => {
  it('answers the person who asked with the verdict, the DaemonSets first and the capacity', async () => {
    const t = await startTestBot(
      { kubernetes: { contexts: ['fake'] }, registry: { retries: 0 }, aws: awsConfig() },
      { kubeConfig: kube.kubeConfig() },
    );
    try {
      const res = await t.command('nodes');
      assert.equal(res.status, 200);
      await t.slack.waitFor(() => t.slack.responses.some((r) => String(r.text).includes('arm64-ready')), 20_000);
      const text = String(t.slack.responses.find((r) => String(r.text).includes('arm64-ready'))!.text);
      assert.match(text, /^\*fake\*: arm64-ready/);
      assert.ok(text.indexOf('legacy-agent') < text.indexOf('Karpenter NodePool graviton'), 'DaemonSets lead the report');
      assert.match(text, /kube-system\/fluent-bit: does not tolerate the arm64 taint: missing on 2 of 2 arm64 nodes/);
      assert.match(text, /sidecar istio-proxy .*istio\/proxyv2:1.13.4: no linux\/arm64/);
      assert.match(text, /prod-eu-graviton-selfmanaged: .*cannot scale from zero/);

      await t.command('nodes nope');
      await t.slack.waitFor(() => t.slack.responses.some((r) => String(r.text).includes('No cluster named `nope`')), 10_000);
    } finally {
      await t.stop();
    }
  });
});
