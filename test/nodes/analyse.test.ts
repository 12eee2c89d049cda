import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysePreflight, daemonSetNeedsPods, type NodeLike, type PreflightInput } from '../../src/nodes/analyse.ts';
import type { Taint } from '../../src/scheduling/taints.ts';

const NOEXEC: Taint = { key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoExecute' };
const NOSCHED: Taint = { key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' };

function node(name: string, arch: string, taints: Taint[] = []): NodeLike {
  return {
    metadata: {
      name,
      labels: { 'kubernetes.io/arch': arch, 'node.kubernetes.io/instance-type': arch === 'arm64' ? 'm6g.large' : 'm5.large' },
    },
    spec: { taints },
  };
}

const input = (over: Partial<PreflightInput>): PreflightInput => ({ cluster: 'c1', nodes: [], images: new Map(), unreadable: [], ...over });

describe('node preflight verdicts', () => {
  it('arm64 nodes that carry the taint make the cluster arm64-ready', () => {
    const r = analysePreflight(input({ nodes: [node('a1', 'amd64'), node('g1', 'arm64', [NOEXEC])] }));
    assert.equal(r.verdict, 'arm64-ready');
    assert.equal(r.schedulableArm64Nodes, 1);
    assert.deepEqual(r.taint, { taint: NOEXEC, source: 'nodes' });
  });

  it('no arm64 node, NodePool or node group is no-capacity', () => {
    const r = analysePreflight(input({ nodes: [node('a1', 'amd64')] }));
    assert.equal(r.verdict, 'no-capacity');
    assert.equal(r.taint.source, 'default');
  });

  it('an arm64 node without the arm64 taint is a taint-mismatch (amd64-only pods could land there)', () => {
    const r = analysePreflight(input({ nodes: [node('g1', 'arm64'), node('g2', 'arm64', [NOEXEC])] }));
    assert.equal(r.verdict, 'taint-mismatch');
    assert.deepEqual(
      r.issues.find((i) => i.kind === 'arm64-node-untainted'),
      { kind: 'arm64-node-untainted', nodes: ['g1'] },
    );
  });

  it('an amd64 node carrying the arm64 taint is a taint-mismatch', () => {
    const r = analysePreflight(input({ nodes: [node('a1', 'amd64', [NOEXEC]), node('g1', 'arm64', [NOEXEC])] }));
    assert.equal(r.verdict, 'taint-mismatch');
    assert.ok(r.issues.some((i) => i.kind === 'amd64-node-tainted'));
  });

  it('arm64 nodes tainted with different effects are a taint-mismatch', () => {
    const r = analysePreflight(input({ nodes: [node('g1', 'arm64', [NOEXEC]), node('g2', 'arm64', [NOSCHED])] }));
    assert.equal(r.verdict, 'taint-mismatch');
    assert.ok(r.issues.some((i) => i.kind === 'mixed-taints'));
  });

  it('learns a NoSchedule taint from the nodes and reports a config that says otherwise', () => {
    const r = analysePreflight(input({ configuredTaint: NOEXEC, nodes: [node('g1', 'arm64', [NOSCHED])] }));
    assert.equal(r.verdict, 'arm64-ready');
    assert.deepEqual(r.taint, { taint: NOSCHED, source: 'nodes', configured: NOEXEC });
    assert.ok(r.issues.some((i) => i.kind === 'config-taint-mismatch'));
  });

  it('uses the configured taint while no arm64 node exists', () => {
    const r = analysePreflight(input({ configuredTaint: NOSCHED, nodes: [node('a1', 'amd64')] }));
    assert.deepEqual(r.taint, { taint: NOSCHED, source: 'config' });
  });

  it('arm64 nodes that all carry another untolerated taint give no capacity, and say which taint', () => {
    const gpu: Taint = { key: 'dedicated', value: 'ml', effect: 'NoSchedule' };
    const r = analysePreflight(input({ nodes: [node('g1', 'arm64', [NOEXEC, gpu])] }));
    assert.equal(r.verdict, 'no-capacity');
    assert.deepEqual(
      r.issues.find((i) => i.kind === 'arm64-nodes-blocked'),
      { kind: 'arm64-nodes-blocked', nodes: 1, taints: [gpu] },
    );
  });

  it('a PreferNoSchedule taint does not keep pods off', () => {
    const r = analysePreflight(input({ nodes: [node('g1', 'arm64', [NOEXEC, { key: 'spot', effect: 'PreferNoSchedule' }])] }));
    assert.equal(r.verdict, 'arm64-ready');
  });

  it('a Karpenter NodePool that allows arm64 is capacity; one limited to amd64 is not', () => {
    const pool = (name: string, values?: string[]) => ({
      apiVersion: 'karpenter.sh/v1',
      metadata: { name },
      spec: {
        template: { spec: { requirements: values ? [{ key: 'kubernetes.io/arch', operator: 'In', values }] : [], taints: [NOEXEC] } },
        limits: { cpu: '100' },
      },
    });
    assert.equal(analysePreflight(input({ nodePools: [pool('x86', ['amd64'])] })).verdict, 'no-capacity');
    const r = analysePreflight(input({ nodePools: [pool('x86', ['amd64']), pool('graviton', ['arm64'])] }));
    assert.equal(r.verdict, 'arm64-ready');
    assert.deepEqual(
      r.nodePools.map((p) => [p.name, p.allowsArm64]),
      [
        ['x86', false],
        ['graviton', true],
      ],
    );
    assert.equal(analysePreflight(input({ nodePools: [pool('any')] })).nodePools[0]!.architectures, 'any');
  });

  it('an arm64 Auto Scaling group at 0 without the arch label tag cannot scale from zero; with it, it can', () => {
    const group = (tags: Record<string, string>) => ({
      name: 'graviton',
      arch: 'arm64' as const,
      instanceTypes: ['m6g.large'],
      min: 0,
      max: 10,
      desired: 0,
      taintTags: [NOEXEC],
      ...tags,
    });
    const without = analysePreflight(input({ autoscalingGroups: [group({})] }));
    assert.equal(without.verdict, 'cannot-scale-from-zero');
    assert.ok(without.issues.some((i) => i.kind === 'cannot-scale-from-zero' && i.group === 'graviton'));
    assert.equal(analysePreflight(input({ autoscalingGroups: [group({ archLabelTag: 'arm64' })] })).verdict, 'arm64-ready');
    assert.equal(analysePreflight(input({ autoscalingGroups: [group({ managedNodeGroup: 'ng-graviton' })] })).verdict, 'arm64-ready');
  });

  it('nodes that cannot be read make the verdict unknown, never ready', () => {
    const r = analysePreflight(input({ nodes: undefined, unreadable: [{ kind: 'unreadable', source: 'nodes', reason: 'timed out' }] }));
    assert.equal(r.verdict, 'unknown');
  });

  it('without proof of capacity, an unreadable node-group source makes it unknown rather than no-capacity', () => {
    const r = analysePreflight(
      input({
        nodes: [node('a1', 'amd64')],
        unreadable: [{ kind: 'unreadable', source: 'autoscaling', reason: 'Throttling', cause: 'throttled' }],
      }),
    );
    assert.equal(r.verdict, 'unknown');
  });
});

describe('DaemonSets on arm64 nodes', () => {
  const nodes = [node('a1', 'amd64'), node('g1', 'arm64', [NOSCHED]), node('g2', 'arm64', [NOSCHED])];
  const ds = (
    name: string,
    uid: string,
    image: string,
    tolerations: unknown[],
    status = { desiredNumberScheduled: 1, currentNumberScheduled: 1 },
  ) => ({
    metadata: { name, namespace: 'logging', uid },
    spec: { template: { spec: { containers: [{ name, image }], tolerations: tolerations as never } } },
    status,
  });
  const pod = (owner: string, nodeName: string) => ({
    metadata: { ownerReferences: [{ kind: 'DaemonSet', uid: owner }] },
    spec: { nodeName },
  });

  it('a multi-arch DaemonSet that tolerates only NoExecute is flagged when the nodes taint NoSchedule, with the missing count', () => {
    const images = new Map([['fluent-bit:3.0.4', { image: 'fluent-bit:3.0.4', status: 'arm64' as const }]]);
    const fluent = ds('fluent-bit', 'u1', 'fluent-bit:3.0.4', [{ key: 'kubernetes.io/arch', operator: 'Exists', effect: 'NoExecute' }]);
    assert.equal(daemonSetNeedsPods(fluent, nodes), false, 'its status (1 of 1, the one node it admits) says where its pods are');
    const r = analysePreflight(input({ nodes, daemonSets: [fluent], images }));
    const d = r.daemonSets[0]!;
    assert.deepEqual(d.problems, ['does-not-tolerate-taint']);
    assert.equal(d.arm64Nodes, 2);
    assert.equal(d.arm64Scheduled, 0);
  });

  it('a DaemonSet tolerating everything with an arm64 image covers the arm64 nodes (from its status alone)', () => {
    const images = new Map([['node-exporter:1.8', { image: 'node-exporter:1.8', status: 'arm64' as const }]]);
    const exporter = ds('node-exporter', 'u2', 'node-exporter:1.8', [{ operator: 'Exists' }], {
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
    });
    assert.equal(daemonSetNeedsPods(exporter, nodes), false);
    const r = analysePreflight(input({ nodes, daemonSets: [exporter], images }));
    assert.deepEqual(r.daemonSets[0]!.problems, []);
    assert.equal(r.daemonSets[0]!.arm64Scheduled, 2);
  });

  it('a DaemonSet short of pods is counted from its own pods, per arm64 node', () => {
    const images = new Map([['node-exporter:1.8', { image: 'node-exporter:1.8', status: 'arm64' as const }]]);
    const exporter = ds('node-exporter', 'u4', 'node-exporter:1.8', [{ operator: 'Exists' }], {
      desiredNumberScheduled: 3,
      currentNumberScheduled: 2,
    });
    assert.equal(daemonSetNeedsPods(exporter, nodes), true);
    // A status that disagrees with the nodes it admits is not trusted either.
    assert.equal(
      daemonSetNeedsPods(ds('x', 'u5', 'x:1', [{ operator: 'Exists' }], { desiredNumberScheduled: 2, currentNumberScheduled: 2 }), nodes),
      true,
    );
    const daemonSetPods = new Map([['u4', [pod('u4', 'a1'), pod('u4', 'g2'), pod('other', 'g1')]]]);
    const r = analysePreflight(input({ nodes, daemonSets: [exporter], daemonSetPods, images }));
    assert.equal(r.daemonSets[0]!.arm64Scheduled, 1, 'a pod of another owner matched by the selector does not count');
  });

  it('an image without arm64 is the first problem named', () => {
    const images = new Map([['legacy-agent:2', { image: 'legacy-agent:2', status: 'amd64-only' as const }]]);
    const r = analysePreflight(
      input({ nodes, daemonSets: [ds('legacy-agent', 'u3', 'legacy-agent:2', [{ operator: 'Exists' }])], images }),
    );
    assert.deepEqual(r.daemonSets[0]!.problems, ['image-without-arm64']);
  });

  it('injected sidecars are read from the injector annotation, with the node architectures they run on', () => {
    const images = new Map([['proxyv2:1.13.4', { image: 'proxyv2:1.13.4', status: 'amd64-only' as const }]]);
    const meshPod = (n: string) => ({
      metadata: {
        annotations: { 'sidecar.istio.io/status': JSON.stringify({ containers: ['istio-proxy'], initContainers: ['istio-init'] }) },
      },
      spec: {
        nodeName: n,
        containers: [
          { name: 'app', image: 'app:1' },
          { name: 'istio-proxy', image: 'proxyv2:1.13.4' },
        ],
      },
    });
    const r = analysePreflight(input({ nodes, pods: [meshPod('a1'), meshPod('a1')], images }));
    assert.deepEqual(r.sidecars, [
      { container: 'istio-proxy', image: 'proxyv2:1.13.4', status: 'amd64-only', pods: 2, architectures: ['amd64'] },
    ]);
  });
});
