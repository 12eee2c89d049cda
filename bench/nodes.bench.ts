// Node preflight benchmark (issue 14): one cluster with 300 nodes (200 amd64, 100 arm64), 40 DaemonSets
// (a pod on every node each admits: ~10,600 pods) plus 3,000 application pods with Istio sidecars (15,000
// pods in all before the DaemonSets that do not tolerate the arm64 taint are left off arm64 nodes), 20 Auto
// Scaling groups and 4 EKS node groups, every Kubernetes and AWS answer 20 ms late; DaemonSet and sidecar
// images in the real docker-registry (cold cache, no added latency). Two DaemonSets are short of pods on
// three arm64 nodes, so their own pods must be read. Reports the wall time of `preflightNodes`, the requests
// it made per API, median of 3 runs, against the floor: the list calls any preflight needs (nodes,
// DaemonSets, the injected pods, NodePools) alone through the same adapter, and against listing every pod
// (what the first version did).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsNodeGroups } from '../src/adapters/aws.ts';
import { KubeCluster, Kubernetes } from '../src/adapters/kubernetes.ts';
import { createRegistryClient } from '../src/adapters/registry.ts';
import { Store } from '../src/adapters/store.ts';
import { registryConfigSchema } from '../src/config/schema.ts';
import { createLogger } from '../src/logger.ts';
import { preflightNodes } from '../src/nodes/preflight.ts';
import { FakeAwsApi } from '../test/fakes/aws-api.ts';
import { FakeKubeApi } from '../test/fakes/kube-api.ts';
import { startRegistry } from '../test/fakes/registry.ts';

const NODES = { amd64: 200, arm64: 100 };
const DAEMONSETS = 40;
const APP_PODS = 3000;
const GROUPS = 20;
const LATENCY_MS = 20;
const RUNS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<unknown> {
  const registry = await startRegistry();
  const kube = await new FakeKubeApi().start();
  const aws = await new FakeAwsApi().start();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-nodes-bench-'));
  Object.assign(process.env, aws.env());
  try {
    const nodeNames: string[] = [];
    for (const [arch, count] of Object.entries(NODES)) {
      for (let i = 0; i < count; i++) {
        const name = `${arch}-${i}`;
        nodeNames.push(name);
        kube.put('/api/v1/nodes', {
          metadata: {
            name,
            labels: { 'kubernetes.io/arch': arch, 'node.kubernetes.io/instance-type': arch === 'arm64' ? 'm6g.large' : 'm5.large' },
          },
          spec: { taints: arch === 'arm64' ? [{ key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoExecute' }] : [] },
        });
      }
    }
    let podCount = APP_PODS;
    const arm64Nodes = nodeNames.filter((n) => n.startsWith('arm64'));
    for (let d = 0; d < DAEMONSETS; d++) {
      const image = `${registry.host}/agents/agent-${d}:1.0`;
      if (d % 4 === 0) await registry.pushSingle(`agents/agent-${d}`, '1.0', { architecture: 'amd64' });
      else await registry.pushIndex(`agents/agent-${d}`, '1.0', [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
      const uid = `uid-${d}`;
      const tolerates = d % 3 !== 0;
      // As the DaemonSet controller places them: not on the tainted arm64 nodes unless tolerated.
      const admitted = tolerates ? nodeNames : nodeNames.filter((n) => !n.startsWith('arm64'));
      const short = d === 5 || d === 7 ? new Set(arm64Nodes.slice(0, 3)) : new Set<string>();
      const placed = admitted.filter((n) => !short.has(n));
      kube.put('/apis/apps/v1/namespaces/kube-system/daemonsets', {
        metadata: { name: `agent-${d}`, namespace: 'kube-system', uid },
        spec: {
          selector: { matchLabels: { app: `agent-${d}` } },
          template: {
            metadata: { labels: { app: `agent-${d}` } },
            spec: { containers: [{ name: 'agent', image }], tolerations: tolerates ? [{ operator: 'Exists' }] : [] },
          },
        },
        status: { desiredNumberScheduled: admitted.length, currentNumberScheduled: placed.length, numberMisscheduled: 0 },
      });
      podCount += placed.length;
      for (const n of placed) {
        kube.put('/api/v1/namespaces/kube-system/pods', {
          metadata: {
            name: `agent-${d}-${n}`,
            namespace: 'kube-system',
            labels: { app: `agent-${d}` },
            ownerReferences: [{ kind: 'DaemonSet', uid, name: `agent-${d}` }],
          },
          spec: { nodeName: n, containers: [{ name: 'agent', image }] },
        });
      }
    }
    await registry.pushSingle('istio/proxyv2', '1.13.4', { architecture: 'amd64' });
    for (let p = 0; p < APP_PODS; p++) {
      kube.put('/api/v1/namespaces/shop/pods', {
        metadata: {
          name: `app-${p}`,
          namespace: 'shop',
          labels: { app: `app-${p % 50}`, 'security.istio.io/tlsMode': 'istio' },
          annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' },
        },
        spec: {
          nodeName: nodeNames[p % nodeNames.length],
          containers: [
            { name: 'app', image: 'app:1' },
            { name: 'istio-proxy', image: `${registry.host}/istio/proxyv2:1.13.4` },
          ],
        },
      });
    }
    for (let g = 0; g < GROUPS; g++) {
      const arm = g % 2 === 0;
      aws.groups.push({
        name: `group-${g}`,
        min: 0,
        max: 20,
        desired: arm ? 0 : 5,
        tags: { 'kubernetes.io/cluster/bench': 'owned' },
        instanceTypes: [arm ? 'm6g.large' : 'm5.large'],
      });
    }
    for (let g = 0; g < 4; g++)
      aws.nodegroups.push({
        cluster: 'bench',
        name: `ng-${g}`,
        amiType: 'AL2023_ARM_64_STANDARD',
        instanceTypes: ['m6g.large'],
        min: 0,
        max: 5,
        desired: 1,
      });
    kube.latencyMs = LATENCY_MS;
    aws.latencyMs = LATENCY_MS;
    kube.requests.push = () => 0;

    const times: number[] = [];
    const floors: number[] = [];
    const everyPod: number[] = [];
    let requests: Record<string, number> = {};
    for (let r = 0; r < RUNS; r++) {
      const store = await Store.open(join(dir, `store-${r}.json`));
      const kubernetes = new Kubernetes([new KubeCluster('bench', kube.kubeConfig())]);
      const reg = createRegistryClient({
        config: registryConfigSchema.parse({ retries: 0 }),
        store,
        logger: createLogger('silent'),
        env: {},
        now: () => Date.now(),
      });
      let kubeCalls = 0;
      kube.requests.push = () => ++kubeCalls;
      aws.actions.length = 0;
      const t0 = performance.now();
      const report = await preflightNodes({
        kube: kubernetes,
        registry: reg,
        aws: new AwsNodeGroups({ region: aws.region, endpoint: aws.url, maxAttempts: 3, clusterNames: {} }),
        configuredTaint: () => undefined,
        now: () => new Date(),
      });
      times.push(performance.now() - t0);
      requests = { kubernetes: kubeCalls, aws: aws.actions.length };
      if (report.clusters[0]!.verdict !== 'arm64-ready') throw new Error(`unexpected verdict ${report.clusters[0]!.verdict}`);
      const c = kubernetes.cluster();
      const f0 = performance.now();
      await Promise.all([
        c.listNodes(),
        c.listDaemonSets(),
        c.listPods({ labelSelector: 'security.istio.io/tlsMode' }),
        c.listPods({ labelSelector: 'linkerd.io/control-plane-ns' }),
        c.listClusterCustomObjects({ group: 'karpenter.sh', version: 'v1', plural: 'nodepools' }),
      ]);
      floors.push(performance.now() - f0);
      const e0 = performance.now();
      await c.listPods();
      everyPod.push(performance.now() - e0);
      await store.close();
    }
    return {
      cluster: {
        nodes: NODES.amd64 + NODES.arm64,
        daemonSets: DAEMONSETS,
        pods: podCount,
        autoscalingGroups: GROUPS,
        latencyMs: LATENCY_MS,
      },
      preflightMs: { median: Math.round(median(times)), runs: times.map(Math.round) },
      floorListCallsMs: { median: Math.round(median(floors)), runs: floors.map(Math.round) },
      ratioToFloor: +(median(times) / median(floors)).toFixed(2),
      listEveryPodMs: { median: Math.round(median(everyPod)), runs: everyPod.map(Math.round) },
      requestsPerRun: requests,
      target: 'under 3,000 ms',
    };
  } finally {
    await Promise.all([registry.stop(), kube.stop(), aws.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}
