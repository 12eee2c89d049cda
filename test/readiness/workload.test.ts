import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { allowedArchitectures, pinnedToArm64, toleratesArm64Taint } from '../../src/scheduling/arm64.ts';
import {
  placementFinding,
  schedulingFindings,
  workloadFromLive,
  workloadsFromHelmValues,
  workloadsFromManifest,
  type PodSpecLike,
} from '../../src/readiness/analysers/workload.ts';

const fixture = (service: string) => readFileSync(new URL(`../fixtures/services/${service}/deployment.yaml`, import.meta.url), 'utf8');
const taint = { key: 'kubernetes.io/arch', operator: 'Equal', value: 'arm64', effect: 'NoExecute' };

describe('workload analyser', () => {
  test('multi-document manifest: the Deployment with its init container and line numbers', async () => {
    const { workloads, findings } = await workloadsFromManifest('k8s/deployment.yaml', fixture('checkout-api'));
    assert.deepEqual(findings, []);
    assert.equal(workloads.length, 1);
    const [w] = workloads;
    assert.deepEqual([w!.kind, w!.name, w!.origin], ['Deployment', 'checkout-api', { file: 'k8s/deployment.yaml', line: 14 }]);
    assert.deepEqual(
      w!.containers.map((c) => [c.kind, c.container, c.image, c.evidence.line]),
      [
        ['init', 'wait-for-db', 'registry.invalid:5000/library/busybox:1.36', 32],
        ['container', 'api', 'registry.invalid:5000/shop/checkout-api:1.8.0', 36],
      ],
    );
    const [s] = schedulingFindings(w!);
    assert.deepEqual([s!.id, s!.severity], ['kubernetes.not-on-arm64', 'info']);
    assert.deepEqual(s!.autofix, {
      kind: 'selectors',
      params: { file: 'k8s/deployment.yaml', kind: 'Deployment', name: 'checkout-api', taint: 'kubernetes.io/arch=arm64:NoExecute' },
    });
  });

  test('arm64 selector with the toleration is scheduled; without it the pods cannot schedule', async () => {
    const [moved] = (await workloadsFromManifest('d.yaml', fixture('payments'))).workloads;
    assert.deepEqual(
      schedulingFindings(moved!).map((f) => [f.id, f.severity]),
      [['kubernetes.arm64-scheduled', 'info']],
    );
    const noTol = fixture('payments').replace(/ *tolerations:[\s\S]*?effect: NoExecute\n/, '');
    const [w] = (await workloadsFromManifest('d.yaml', noTol)).workloads;
    const [f] = schedulingFindings(w!);
    assert.deepEqual([f!.id, f!.severity, f!.autofix?.kind], ['kubernetes.missing-toleration', 'change', 'selectors']);
  });

  test('an amd64 nodeSelector is a pin; a toleration without a selector leaves placement to chance', async () => {
    const [pinned] = (await workloadsFromManifest('d.yaml', fixture('legacy-billing'))).workloads;
    assert.equal(schedulingFindings(pinned!)[0]!.id, 'kubernetes.amd64-pinned');
    const spec: PodSpecLike = { tolerations: [taint], containers: [] };
    const [f] = schedulingFindings({ kind: 'Deployment', name: 'x', spec, origin: { file: 'd.yaml', line: 1 }, containers: [] });
    assert.deepEqual([f!.id, f!.severity], ['kubernetes.arch-unpinned', 'warning']);
  });

  test('node affinity: terms are ORed, expressions ANDed, NotIn subtracts', () => {
    const terms = (...t: Array<Array<{ key: string; operator: string; values?: string[] }>>): PodSpecLike => ({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: t.map((matchExpressions) => ({ matchExpressions })) },
        },
      },
    });
    const arch = (operator: string, ...values: string[]) => ({ key: 'kubernetes.io/arch', operator, values });
    assert.deepEqual(allowedArchitectures(terms([arch('In', 'arm64')])), new Set(['arm64']));
    assert.deepEqual(allowedArchitectures(terms([arch('In', 'arm64', 'amd64'), arch('NotIn', 'amd64')])), new Set(['arm64']));
    assert.equal(allowedArchitectures(terms([arch('In', 'amd64')], [{ key: 'zone', operator: 'In', values: ['a'] }])), 'any');
    assert.deepEqual(allowedArchitectures(terms([arch('In', 'amd64')], [arch('In', 'arm64')])), new Set(['amd64', 'arm64']));
    assert.deepEqual(allowedArchitectures({ nodeSelector: { 'kubernetes.io/arch': 'arm64' }, ...terms([arch('In', 'amd64')]) }), new Set());
  });

  test('pinned to arm64: the selector (or its beta name) or the required affinity leaves arm64 alone', () => {
    const affinity = (values: string[]) => ({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values }] }],
          },
        },
      },
    });
    assert.equal(pinnedToArm64({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } }), true);
    assert.equal(pinnedToArm64({ nodeSelector: { 'beta.kubernetes.io/arch': 'arm64' } }), true);
    assert.equal(pinnedToArm64(affinity(['arm64'])), true);
    assert.equal(pinnedToArm64(affinity(['arm64', 'amd64'])), false);
    assert.equal(pinnedToArm64({}), false);
    assert.equal(pinnedToArm64(undefined), false);
  });

  test('tolerations: Exists on the key or an empty key with Exists tolerate; another effect does not', () => {
    assert.equal(toleratesArm64Taint({ tolerations: [{ key: 'kubernetes.io/arch', operator: 'Exists' }] }), true);
    assert.equal(toleratesArm64Taint({ tolerations: [{ operator: 'Exists' }] }), true);
    assert.equal(toleratesArm64Taint({ tolerations: [{ ...taint, effect: 'NoSchedule' }] }), false);
    assert.equal(toleratesArm64Taint({ tolerations: [{ ...taint, value: 'amd64' }] }), false);
    assert.equal(toleratesArm64Taint({}), false);
  });

  test('CronJob, Pod and List kinds; a Helm template that is not YAML is unknown', async () => {
    const text = [
      'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: job, image: "alpine:3.19"}]',
      'apiVersion: v1\nkind: List\nitems:\n  - kind: Pod\n    metadata: {name: p}\n    spec: {containers: [{name: c, image: nginx}]}',
    ].join('\n---\n');
    const { workloads } = await workloadsFromManifest('all.yaml', text);
    assert.deepEqual(
      workloads.map((w) => [w.kind, w.name, w.containers[0]!.image]),
      [
        ['CronJob', 'nightly', 'alpine:3.19'],
        ['Pod', 'p', 'nginx'],
      ],
    );
    const bad = await workloadsFromManifest('t.yaml', 'spec:\n  replicas: {{ .Values.replicas }}\n  x: [\n');
    assert.deepEqual(
      bad.findings.map((f) => [f.id, f.severity]),
      [['kubernetes.manifest-unparseable', 'unknown']],
    );
  });

  test('Helm values: scheduling keys and image maps (registry/repository/tag)', () => {
    const values = [
      'image:\n  registry: ghcr.io\n  repository: acme/api\n  tag: "1.2.3"',
      'nodeSelector:\n  kubernetes.io/arch: arm64',
      'tolerations:\n  - {key: kubernetes.io/arch, operator: Exists, effect: NoExecute}',
      'metrics:\n  exporterImage:\n    repository: prom/statsd-exporter',
    ].join('\n');
    const { workloads, findings } = workloadsFromHelmValues('values.yaml', values, 'api');
    assert.deepEqual(
      workloads[0]!.containers.map((c) => [c.image, c.evidence.line]),
      [['ghcr.io/acme/api:1.2.3', 3]],
    );
    assert.deepEqual(
      findings.map((f) => f.id),
      ['kubernetes.helm-image-untagged'],
    );
    assert.deepEqual(
      schedulingFindings(workloads[0]!).map((f) => f.id),
      ['kubernetes.arm64-scheduled'],
    );
    assert.equal(schedulingFindings({ ...workloads[0]!, spec: {} })[0]!.autofix!.params.helm, 'true');
  });

  test('live: injected sidecars join the template containers; placement by node architecture', () => {
    const live = {
      cluster: 'prod',
      namespace: 'shop',
      kind: 'Deployment',
      name: 'api',
      spec: { containers: [{ name: 'api', image: 'acme/api:1' }] },
      pods: [
        {
          name: 'api-1',
          nodeName: 'n1',
          images: [
            { container: 'api', kind: 'container' as const, image: 'acme/api:1' },
            {
              container: 'istio-proxy',
              kind: 'container' as const,
              image: 'istio/proxyv2:1.12.0',
              imageID: `docker-pullable://istio/proxyv2@sha256:${'a'.repeat(64)}`,
            },
          ],
        },
        { name: 'api-2', nodeName: 'n2', images: [] },
        { name: 'api-3', images: [] },
      ],
      nodeArch: new Map([
        ['n1', 'amd64'],
        ['n2', 'arm64'],
      ]),
    };
    const w = workloadFromLive(live);
    assert.deepEqual(
      w.containers.map((c) => [c.container, c.image, c.evidence.digest]),
      [
        ['api', 'acme/api:1', undefined],
        ['istio-proxy', 'istio/proxyv2:1.12.0', `sha256:${'a'.repeat(64)}`],
      ],
    );
    const p = placementFinding(live);
    assert.equal(p.title, '3 pods of Deployment api run now: 1 on amd64 (n1); 1 on arm64 (n2); 1 on unscheduled (api-3)');
    assert.equal(schedulingFindings(w)[0]!.autofix, undefined);
  });
});
