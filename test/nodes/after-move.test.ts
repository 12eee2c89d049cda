import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeCluster, Kubernetes } from '../../src/adapters/kubernetes.ts';
import { watchAfterMove } from '../../src/nodes/after-move.ts';
import { classifyPod } from '../../src/nodes/pod-problems.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';

describe('what goes wrong right after a move', () => {
  const pod = (status: object) => ({ metadata: { name: 'api-arm64-1' }, status });

  it('a Pending pod whose scheduler event says no node fits is unschedulable', () => {
    const p = classifyPod(
      pod({ phase: 'Pending' }),
      [
        {
          reason: 'FailedScheduling',
          message:
            '0/5 nodes are available: 3 node(s) didn\u2019t match Pod\u2019s node affinity/selector, 2 node(s) had untolerated taint {kubernetes.io/arch: arm64}.',
        },
      ],
      {},
    );
    assert.equal(p?.kind, 'unschedulable');
    assert.match(p!.message, /untolerated taint/);
  });

  it('NotTriggerScaleUp wins over FailedScheduling: the fix is the node group, not the pod', () => {
    const events = [
      { reason: 'FailedScheduling', message: '0/3 nodes are available' },
      { reason: 'NotTriggerScaleUp', message: "pod didn't trigger scale-up: 1 node(s) didn't match Pod's node affinity/selector" },
    ];
    assert.equal(classifyPod(pod({ phase: 'Pending' }), events, {})?.kind, 'no-scale-up');
  });

  it('exec format error in the crashed container’s last lines names the container', () => {
    const p = classifyPod(
      pod({ phase: 'Running', containerStatuses: [{ name: 'api', state: { waiting: { reason: 'CrashLoopBackOff' } } }] }),
      [],
      { api: 'starting\nexec /app/server: exec format error\n' },
    );
    assert.deepEqual(p, {
      kind: 'exec-format-error',
      pod: 'api-arm64-1',
      container: 'api',
      message: 'exec /app/server: exec format error',
    });
  });

  it('an image pull that finds no linux/arm64 manifest is image-platform-missing', () => {
    const message = 'Failed to pull image "acme/api:1.4": no matching manifest for linux/arm64/v8 in the manifest list entries';
    assert.equal(
      classifyPod(
        pod({ phase: 'Pending', containerStatuses: [{ name: 'api', state: { waiting: { reason: 'ErrImagePull', message } } }] }),
        [],
        {},
      )?.kind,
      'image-platform-missing',
    );
  });

  it('a pod pulling an image for an ordinary reason, or running, is no move problem', () => {
    assert.equal(
      classifyPod(
        pod({
          phase: 'Pending',
          containerStatuses: [{ name: 'api', state: { waiting: { reason: 'ErrImagePull', message: 'pull access denied' } } }],
        }),
        [],
        {},
      ),
      undefined,
    );
    assert.equal(classifyPod(pod({ phase: 'Running', containerStatuses: [{ name: 'api', state: {} }] }), [], {}), undefined);
  });
});

describe('watching a workload after its move, against the Kubernetes API double', () => {
  let kube: FakeKubeApi;
  before(async () => {
    kube = await new FakeKubeApi().start();
    for (const name of ['api-arm64', 'web-arm64']) {
      kube.put('/apis/apps/v1/namespaces/shop/deployments', {
        metadata: { name, namespace: 'shop' },
        spec: { selector: { matchLabels: { app: name } } },
      });
    }
    kube.put('/api/v1/namespaces/shop/pods', {
      metadata: { name: 'api-arm64-7d9', namespace: 'shop', labels: { app: 'api-arm64' } },
      spec: {
        nodeName: 'g1',
        containers: [
          { name: 'api', image: 'acme/api:1.4' },
          { name: 'istio-proxy', image: 'proxyv2:1.20' },
        ],
      },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'api',
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { reason: 'Error', exitCode: 255 } },
          },
          { name: 'istio-proxy', state: {} },
        ],
      },
    });
    kube.podLogs.set('shop/api-arm64-7d9/api', 'exec /usr/local/bin/api: exec format error');
    kube.put('/api/v1/namespaces/shop/pods', {
      metadata: { name: 'web-arm64-1', namespace: 'shop', labels: { app: 'web-arm64' } },
      spec: { containers: [{ name: 'web', image: 'web:1' }] },
      status: { phase: 'Running', containerStatuses: [{ name: 'web', state: {} }] },
    });
  });
  after(() => kube.stop());

  const deps = () => ({
    kube: new Kubernetes([new KubeCluster('fake', kube.kubeConfig())]),
    now: () => new Date(),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  });
  const within = (ms: number) => ({ until: new Date(Date.now() + ms), intervalMs: 50 });

  it('finds the crash-looping arm64 pod, reads its previous log and names the container and its image', async () => {
    const found = await watchAfterMove(deps(), { service: 'api', namespace: 'shop', deployment: 'api-arm64' }, within(60_000));
    assert.equal(found?.kind, 'exec-format-error');
    assert.equal(found?.container, 'api');
    assert.equal(found?.image, 'acme/api:1.4');
    const logRead = kube.requests.find((r) => r.path.endsWith('/pods/api-arm64-7d9/log'));
    assert.equal(logRead?.query.get('previous'), 'true');
    assert.equal(logRead?.query.get('container'), 'api');
  });

  it('healthy pods for the whole watch: nothing to tell', async () => {
    const found = await watchAfterMove(deps(), { service: 'web', namespace: 'shop', deployment: 'web-arm64' }, within(150));
    assert.equal(found, undefined);
  });

  it('events are asked for one pod by field selector, as the API server allows', async () => {
    kube.put('/api/v1/namespaces/shop/pods', {
      metadata: { name: 'web-arm64-2', namespace: 'shop', labels: { app: 'web-arm64' } },
      spec: { containers: [{ name: 'web', image: 'web:1' }] },
      status: { phase: 'Pending' },
    });
    kube.put('/api/v1/namespaces/shop/events', {
      metadata: { name: 'web-arm64-2.1', namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: 'web-arm64-2' },
      reason: 'NotTriggerScaleUp',
      message: "pod didn't trigger scale-up: 2 max node group size reached",
    });
    kube.put('/api/v1/namespaces/shop/events', {
      metadata: { name: 'other.1', namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: 'other' },
      reason: 'FailedScheduling',
      message: 'nope',
    });
    const found = await watchAfterMove(deps(), { service: 'web', namespace: 'shop', deployment: 'web-arm64' }, within(60_000));
    assert.deepEqual([found?.kind, found?.pod], ['no-scale-up', 'web-arm64-2']);
    const res = await fetch(`${kube.url}/api/v1/namespaces/shop/events?fieldSelector=spec.bogus%3Dx`, {
      headers: { authorization: `Bearer ${kube.token}` },
    });
    assert.equal(res.status, 400, 'the double refuses field labels the API server does not support');
    const bad = await fetch(`${kube.url}/api/v1/pods?labelSelector=${encodeURIComponent('app=(x')}`, {
      headers: { authorization: `Bearer ${kube.token}` },
    });
    assert.equal(bad.status, 400, 'and a label selector it cannot parse');
    const ok = await fetch(
      `${kube.url}/api/v1/pods?labelSelector=${encodeURIComponent('security.istio.io/tlsMode,app notin (x, y),!gone')}&limit=1`,
      { headers: { authorization: `Bearer ${kube.token}` } },
    );
    assert.equal(ok.status, 200);
  });
});
