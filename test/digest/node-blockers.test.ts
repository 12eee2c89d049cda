// What the digest leads with on the node side: problems the watch after a move found (store section
// `moveWatches`), and the DaemonSets and sidecars that keep arm64 nodes from running everything. One small
// cluster in the Kubernetes API double, its images in the real docker-registry, the digest through
// runDigest and both renderers.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeCluster, Kubernetes } from '../../src/adapters/kubernetes.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { Store } from '../../src/adapters/store.ts';
import { Catalog } from '../../src/config/catalog.ts';
import { parseConfig } from '../../src/config/load.ts';
import { runDigest, type DigestRun } from '../../src/digest/digest.ts';
import { createLogger } from '../../src/logger.ts';
import { moveWatches, type MoveWatch } from '../../src/nodes/move-watch.ts';
import { renderDigestBlocks } from '../../src/render/digest-blocks.ts';
import { renderDigestText } from '../../src/render/digest-text.ts';
import { FakeClock } from '../fakes/clock.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';

const NOW = new Date('2026-11-25T09:00:00Z');
const ARM64_TAINT = { key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoExecute' };

describe('the digest leads with what keeps arm64 nodes from running everything', () => {
  let registry: RunningRegistry;
  let kube: FakeKubeApi;
  let dir: string;
  let store: Store;
  let run: DigestRun;

  const watch = (id: string, endedAt: string, state: MoveWatch['state'], problem?: MoveWatch['problem']): MoveWatch => ({
    id,
    target: { service: id, namespace: 'shop', deployment: `${id}-arm64` },
    trigger: { kind: 'canary-started', startedAt: endedAt },
    requestedAt: endedAt,
    until: endedAt,
    state,
    endedAt,
    ...(problem ? { problem } : {}),
  });

  before(async () => {
    registry = await startRegistry();
    kube = await new FakeKubeApi().start();
    dir = await mkdtemp(join(tmpdir(), 'archshift-digest-nodes-'));
    store = await Store.open(join(dir, 'store.json'));
    const multi = [{ architecture: 'amd64' }, { architecture: 'arm64', variant: 'v8' }];
    await registry.pushIndex('agents/node-exporter', '1.8.0', multi);
    await registry.pushIndex('agents/fluent-bit', '3.2.3', multi);
    await registry.pushSingle('agents/legacy-agent', '0.9', { architecture: 'amd64' });
    await registry.pushSingle('istio/proxyv2', '1.13.4', { architecture: 'amd64' });
    await registry.pushIndex('apps/api', '2.0', multi);

    const nodes = [
      ['x86-1', 'amd64', []],
      ['x86-2', 'amd64', []],
      ['graviton-1', 'arm64', [ARM64_TAINT]],
      ['graviton-2', 'arm64', [ARM64_TAINT]],
      ['graviton-3', 'arm64', [ARM64_TAINT]],
    ] as const;
    for (const [name, arch, taints] of nodes) {
      kube.put('/api/v1/nodes', {
        metadata: {
          name,
          labels: { 'kubernetes.io/arch': arch, 'node.kubernetes.io/instance-type': arch === 'arm64' ? 'm7g.large' : 'm6i.large' },
        },
        spec: { taints: [...taints] },
        status: { allocatable: { cpu: '2', memory: '8Gi' } },
      });
    }
    const daemonSet = (name: string, image: string, tolerations: unknown[], onNodes: string[]) => {
      const ds = kube.put('/apis/apps/v1/namespaces/kube-system/daemonsets', {
        metadata: { name, namespace: 'kube-system' },
        spec: {
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name, image: `${registry.host}/agents/${image}` }], tolerations },
          },
        },
        status: { desiredNumberScheduled: onNodes.length, currentNumberScheduled: onNodes.length, numberMisscheduled: 0 },
      });
      for (const n of onNodes) {
        kube.put('/api/v1/namespaces/kube-system/pods', {
          metadata: {
            name: `${name}-${n}`,
            namespace: 'kube-system',
            labels: { app: name },
            ownerReferences: [{ kind: 'DaemonSet', name, uid: ds.metadata.uid as string, apiVersion: 'apps/v1' }],
          },
          spec: { nodeName: n, containers: [{ name, image: `${registry.host}/agents/${image}`, resources: { requests: { cpu: '50m' } } }] },
          status: { phase: 'Running' },
        });
      }
    };
    // Tolerates everything: runs on all five nodes.
    daemonSet(
      'node-exporter',
      'node-exporter:1.8.0',
      [{ operator: 'Exists' }],
      nodes.map(([n]) => n),
    );
    // Multi-arch, but no toleration of the arm64 taint: missing on the three arm64 nodes.
    daemonSet('fluent-bit', 'fluent-bit:3.2.3', [], ['x86-1', 'x86-2']);
    // amd64-only image.
    daemonSet('legacy-agent', 'legacy-agent:0.9', [], ['x86-1', 'x86-2']);
    // An application with the Istio sidecar (amd64 only) on amd64.
    kube.put('/apis/apps/v1/namespaces/shop/replicasets', {
      metadata: {
        name: 'api-5d8',
        namespace: 'shop',
        uid: 'rs',
        ownerReferences: [{ kind: 'Deployment', name: 'api', uid: 'd-api', apiVersion: 'apps/v1' }],
      },
    });
    kube.put('/apis/apps/v1/namespaces/shop/deployments', {
      metadata: { name: 'api', namespace: 'shop', uid: 'd-api' },
      spec: {
        selector: { matchLabels: { app: 'api' } },
        template: { spec: { containers: [{ name: 'api', image: `${registry.host}/apps/api:2.0` }] } },
      },
    });
    kube.put('/api/v1/namespaces/shop/pods', {
      metadata: {
        name: 'api-5d8-a',
        namespace: 'shop',
        labels: { app: 'api' },
        annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' },
        ownerReferences: [{ kind: 'ReplicaSet', name: 'api-5d8', uid: 'rs', apiVersion: 'apps/v1', controller: true }],
      },
      spec: {
        nodeName: 'x86-1',
        containers: [
          { name: 'api', image: `${registry.host}/apps/api:2.0`, resources: { requests: { cpu: '500m' } } },
          { name: 'istio-proxy', image: `${registry.host}/istio/proxyv2:1.13.4`, resources: { requests: { cpu: '100m' } } },
        ],
      },
      status: { phase: 'Running' },
    });

    await moveWatches(store).update((d) => {
      d.api = watch('api', '2026-11-24T15:00:00.000Z', 'problem', {
        kind: 'exec-format-error',
        pod: 'api-arm64-1',
        container: 'api',
        image: 'acme/api:2.0',
        message: 'exec /app: exec format error',
        at: '2026-11-24T15:00:00.000Z',
      });
      d.web = watch('web', '2026-11-23T10:00:00.000Z', 'problem', {
        kind: 'no-scale-up',
        pod: 'web-1',
        message: "pod didn't trigger scale-up",
        at: '2026-11-23T10:00:00.000Z',
        nodes: {
          verdict: 'cannot-scale-from-zero',
          cannotScaleFromZero: [{ group: 'arm-spot', missingTag: 'k8s.io/cluster-autoscaler/node-template/label/kubernetes.io/arch' }],
        },
      });
      d.old = watch('old', '2026-11-01T10:00:00.000Z', 'problem', {
        kind: 'unschedulable',
        pod: 'old-1',
        message: '0/5 nodes are available',
        at: '2026-11-01T10:00:00.000Z',
      });
      d.fine = watch('fine', '2026-11-24T10:00:00.000Z', 'healthy');
    });
    const config = parseConfig({ kubernetes: { contexts: ['prod'] }, registry: { insecure: [registry.host] } });
    run = await runDigest({
      config,
      catalog: new Catalog(config.catalog),
      store,
      logger: createLogger('silent'),
      clock: new FakeClock(NOW),
      kube: new Kubernetes([new KubeCluster('prod', kube.kubeConfig('prod'))]),
      registry: createRegistryClient({ config: config.registry, store, backoffMs: 1 }),
    });
  });
  after(async () => {
    await store.close();
    await Promise.all([registry.stop(), kube.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('problems after a move from the last 7 days, newest first, with the fix', () => {
    assert.deepEqual(
      run.model.moveProblems?.map((p) => [p.service, p.problem.kind]),
      [
        ['api', 'exec-format-error'],
        ['web', 'no-scale-up'],
      ],
    );
    const text = renderDigestText(run.model);
    assert.match(text, /After a move \(last 7 days\): 2 problems:/);
    assert.match(
      text,
      /• api \(shop\/api-arm64, after its canary, 2026-11-24\): exec format error \(an amd64 binary\): build acme\/api:2\.0 for linux\/arm64/,
    );
    assert.match(
      text,
      /• web .*cluster-autoscaler adds no node: tag arm-spot with k8s\.io\/cluster-autoscaler\/node-template\/label\/kubernetes\.io\/arch=arm64/,
    );
    assert.doesNotMatch(text, /old-arm64|fine-arm64/);
    const blocks = JSON.stringify(renderDigestBlocks(run.model));
    assert.match(blocks, /\*After a move \(last 7 days\): 2 problems\*/);
  });

  it('the blocker list is led by DaemonSets: the amd64-only image, then the multi-arch one that misses the arm64 nodes, then the sidecar', () => {
    const b = run.model.blockers.map((x) => [x.source, x.cause.replace(registry.host, 'REG'), x.arm64Nodes?.missing, x.arm64Nodes?.total]);
    assert.deepEqual(b, [
      ['daemonset', 'REG/agents/legacy-agent:0.9 is built for amd64 only', 3, 3],
      ['daemonset', 'multi-arch, but does not tolerate the arm64 taint kubernetes.io/arch=arm64:NoExecute', 3, 3],
      ['sidecar', 'REG/istio/proxyv2:1.13.4 is built for amd64 only', undefined, undefined],
    ]);
    const fluent = run.inventory.clusters[0]!.ok ? run.inventory.clusters[0]!.workloads.find((w) => w.name === 'fluent-bit') : undefined;
    assert.deepEqual(fluent?.arm64Placement, {
      taint: ARM64_TAINT,
      toleratesArm64Taint: false,
      selectsArm64: true,
      arm64Nodes: 3,
      arm64WithPod: 0,
    });
    assert.ok(
      !run.model.blockers.some((x) => x.workloads.some((w) => w.includes('node-exporter'))),
      'a DaemonSet on every arm64 node blocks nothing',
    );
    const text = renderDigestText(run.model);
    const section = text.slice(text.indexOf('Block arm64 node groups'));
    assert.match(
      section,
      /^Block arm64 node groups \(DaemonSets first, then sidecars\):\n• \S+legacy-agent:0\.9 is built for amd64 only: 1 workload \(kube-system\/DaemonSet\/legacy-agent\); missing on 3 of 3 arm64 nodes\n• multi-arch, but does not tolerate the arm64 taint kubernetes\.io\/arch=arm64:NoExecute: 1 workload \(kube-system\/DaemonSet\/fluent-bit\); missing on 3 of 3 arm64 nodes\n• \S+proxyv2:1\.13\.4 is built for amd64 only: 1 workload \(shop\/Deployment\/api\)/,
    );
  });
});
