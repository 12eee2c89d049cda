import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { KubeCluster, KubeError, Kubernetes, istio } from '../../src/adapters/kubernetes.ts';

describe('kubernetes adapter against the API double', () => {
  const api = new FakeKubeApi();
  let cluster: KubeCluster;

  before(async () => {
    await api.start();
    cluster = new KubeCluster('fake', api.kubeConfig(), 500, 3);
    for (let i = 0; i < 8; i++) {
      api.put('/api/v1/namespaces/shop/pods', {
        metadata: { name: `api-${i}`, labels: { app: i % 2 ? 'api' : 'web' } },
        spec: { nodeName: 'n1' },
      });
    }
    api.put('/apis/networking.istio.io/v1/namespaces/shop/virtualservices', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'api' },
      spec: { http: [{ route: [{ destination: { host: 'api', subset: 'amd64' }, weight: 100 }] }] },
    });
  });
  after(() => api.stop());

  test('lists every page with limit/continue and applies the label selector', async () => {
    api.requests.length = 0;
    const pods = await cluster.listPods({ namespace: 'shop' });
    assert.equal(pods.length, 8);
    assert.equal(api.requests.filter((r) => r.path === '/api/v1/namespaces/shop/pods').length, 3);
    assert.equal(api.requests[1].query.get('continue'), '3');
    const api4 = await cluster.listPods({ labelSelector: 'app=api' });
    assert.deepEqual(api4.map((p) => p.metadata?.name).sort(), ['api-1', 'api-3', 'api-5', 'api-7']);
  });

  test('inside withNodesReadOnce (a fleet run) one node list serves every caller; a failed one is not shared; outside it, nodes are read live', async () => {
    api.put('/api/v1/nodes', { metadata: { name: 'n1', labels: { 'kubernetes.io/arch': 'arm64' } } });
    const kube = new Kubernetes([cluster]);
    const nodeLists = () => api.requests.filter((r) => r.path === '/api/v1/nodes').length;
    api.requests.length = 0;
    api.fail({ path: /^\/api\/v1\/nodes$/, status: 500, message: 'etcd leader changed' });
    await kube.withNodesReadOnce(async () => {
      await assert.rejects(kube.cluster().listNodes());
      const lists = await Promise.all(Array.from({ length: 20 }, () => kube.cluster().listNodes()));
      assert.ok(lists.every((l) => l.length === 1));
      await kube.cluster().listNodes({ labelSelector: 'kubernetes.io/arch=arm64' });
    });
    assert.equal(nodeLists(), 3, 'the failure, one shared list, the filtered one');
    await cluster.listNodes();
    assert.equal(nodeLists(), 4);
    api.clearFaults();
  });

  test('a 410 "continue token expired" on a later page restarts the list (bounded, as client-go\'s pager does)', async () => {
    api.requests.length = 0;
    api.fail({
      path: /\/namespaces\/shop\/pods$/,
      status: 410,
      message: 'The provided continue parameter is too old to display a consistent list result.',
      continued: true,
    });
    const pods = await cluster.listPods({ namespace: 'shop' });
    assert.equal(pods.length, 8, 'every pod once, none twice');
    assert.equal(new Set(pods.map((p) => p.metadata?.name)).size, 8);
    // page 1, page 2 (410), then pages 1-3 again
    assert.equal(api.requests.length, 5);
    // An API server that expires every later page: the list gives up after 3 restarts, with the reason.
    api.requests.length = 0;
    api.fail({ path: /\/namespaces\/shop\/pods$/, status: 410, message: 'continue token expired', continued: true, times: 100 });
    await assert.rejects(cluster.listPods({ namespace: 'shop' }), (e: unknown) => e instanceof KubeError && e.code === 410);
    assert.equal(api.requests.length, 8);
    api.clearFaults();
  });

  test('the double refuses a strategic-merge patch on a custom resource with 415, as the API server does', async () => {
    const res = await fetch(`${api.url}/apis/networking.istio.io/v1/namespaces/shop/virtualservices/api`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/strategic-merge-patch+json' },
      body: JSON.stringify({ spec: {} }),
    });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { reason: string }).reason, 'UnsupportedMediaType');
  });

  test('merge-patches a VirtualService with the merge-patch content type', async () => {
    const ref = istio.virtualService('shop', 'api');
    const route = [
      { destination: { host: 'api', subset: 'amd64' }, weight: 90 },
      { destination: { host: 'api', subset: 'arm64' }, weight: 10 },
    ];
    await cluster.patchCustomObject(ref, { spec: { http: [{ route }] } });
    assert.equal(api.requests.at(-1)?.contentType, 'application/merge-patch+json');
    const vs = await cluster.getCustomObject<{ spec: { http: Array<{ route: unknown }> } }>(ref);
    assert.deepEqual(vs?.spec.http[0].route, route);
  });

  test('a missing object is undefined; API errors keep their status code', async () => {
    assert.equal(await cluster.getDeployment('shop', 'nope'), undefined);
    api.fail({ path: /deployments/, status: 500, message: 'etcd down' });
    await assert.rejects(
      cluster.getDeployment('shop', 'api'),
      (e: unknown) => e instanceof KubeError && e.code === 500 && /etcd down/.test(e.message),
    );
  });

  test('a hanging API server times out with a clear error', async () => {
    api.fail({ path: /nodes/, status: 0, hang: true });
    await assert.rejects(cluster.listNodes(), (e: unknown) => e instanceof KubeError && /timed out/.test(e.message));
    api.clearFaults();
  });

  test('lease create races: the second create gets 409', async () => {
    const lease = { metadata: { name: 'archshift' }, spec: { holderIdentity: 'a' } };
    await cluster.createLease('ops', lease);
    await assert.rejects(cluster.createLease('ops', lease), (e: unknown) => e instanceof KubeError && e.code === 409);
    const read = await cluster.readLease('ops', 'archshift');
    assert.equal(read?.spec?.holderIdentity, 'a');
    await cluster.replaceLease('ops', { ...read!, spec: { holderIdentity: 'b' } });
    await assert.rejects(
      cluster.replaceLease('ops', { ...read!, spec: { holderIdentity: 'c' } }),
      (e: unknown) => e instanceof KubeError && e.code === 409,
    );
  });
});
