// How replicas find and trust each other: the leader's address on the Lease (over real HTTP to the API
// double), and the peer request signature.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeCluster } from '../../src/adapters/kubernetes.ts';
import { createLogger } from '../../src/logger.ts';
import { LeaderElector } from '../../src/ops/leader.ts';
import { PEER_SIGNATURE_HEADER, PEER_TIMESTAMP_HEADER, peerUrl, signPeerRequest, verifyPeerRequest, type PeerRequest } from '../../src/ops/peer.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';

describe('the leader address on the Lease', () => {
  let kube: FakeKubeApi;
  let now = Date.parse('2026-11-24T09:00:00Z');
  before(async () => {
    kube = await new FakeKubeApi().start();
  });
  after(() => kube.stop());
  const make = (identity: string, url: string) =>
    new LeaderElector({
      api: new KubeCluster('fake', kube.kubeConfig(), 2000),
      namespace: 'ops',
      name: 'addr',
      identity,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      logger: createLogger('silent'),
      now: () => now,
      advertiseUrl: () => url,
    });
  const annotations = () => (kube.get('/apis/coordination.k8s.io/v1/namespaces/ops/leases', 'addr')?.metadata as { annotations?: Record<string, string> }).annotations ?? {};

  test('followers read the holder’s URL; a released Lease names nobody; a new leader replaces the address', async () => {
    const a = make('a', 'http://10.0.0.1:8080');
    const b = make('b', 'http://10.0.0.2:8080');
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(a.leaderUrl(), 'http://10.0.0.1:8080');
    assert.equal(b.leaderUrl(), undefined, 'nothing read yet');
    assert.equal(await b.tryAcquireOrRenew(), false);
    assert.equal(b.leaderUrl(), 'http://10.0.0.1:8080');
    assert.equal(annotations()['archshift.io/leader-url'], 'http://10.0.0.1:8080');

    // A claim rewrites the annotations; the address survives it.
    assert.equal(await a.claim('digest:slot-1'), true);
    now += 2_000;
    assert.equal(await b.tryAcquireOrRenew(), false);
    assert.equal(b.leaderUrl(), 'http://10.0.0.1:8080');

    await a.stop();
    now += 2_000;
    assert.equal(await b.tryAcquireOrRenew(), true, 'released: b takes over at once');
    assert.equal(annotations()['archshift.io/leader-url'], 'http://10.0.0.2:8080');
    assert.equal(b.leaderUrl(), 'http://10.0.0.2:8080');
    assert.ok(Object.keys(annotations()).some((k) => k.startsWith('archshift.io/ran.')), 'claims kept');
    await b.stop();
  });
});

describe('peer request signatures', () => {
  const secret = 'peer-secret-0123456789';
  const headers = (h: Record<string, string>) => h as Record<string, string | undefined>;

  test('a signed request verifies; another body, endpoint, secret, or a minute-old timestamp does not', () => {
    const now = Date.parse('2026-11-24T09:00:00Z');
    const req = (body: string, path = '/internal/events'): PeerRequest => ({ method: 'POST', path, body });
    const h = signPeerRequest(secret, req('{"a":1}'), now);
    assert.equal(verifyPeerRequest(secret, headers(h), req('{"a":1}'), now + 5_000), true);
    assert.equal(verifyPeerRequest(secret, headers(h), req('{"a":2}'), now), false);
    assert.equal(verifyPeerRequest(secret, headers(h), req('{"a":1}', '/internal/store'), now), false, 'another endpoint');
    assert.equal(verifyPeerRequest(secret, headers(h), { method: 'GET', path: '/internal/events', body: '{"a":1}' }, now), false, 'another method');
    assert.equal(verifyPeerRequest('another-secret-0123456', headers(h), req('{"a":1}'), now), false);
    assert.equal(verifyPeerRequest(secret, headers(h), req('{"a":1}'), now + 61_000), false, 'older than 60 s');
    assert.equal(verifyPeerRequest(secret, headers(h), req('{"a":1}'), now - 61_000), false, 'from too far in the future');
    assert.equal(verifyPeerRequest(secret, headers({ [PEER_TIMESTAMP_HEADER]: h[PEER_TIMESTAMP_HEADER] }), req('{"a":1}'), now), false, 'no signature');
    assert.equal(verifyPeerRequest(secret, headers({ ...h, [PEER_SIGNATURE_HEADER]: 'zz' }), req('{"a":1}'), now), false, 'not hex');
    assert.equal(verifyPeerRequest(secret, headers({ ...h, [PEER_TIMESTAMP_HEADER]: '1e9' }), req('{"a":1}'), now), false, 'not an integer');
  });

  test('peer URLs bracket IPv6 addresses', () => {
    assert.equal(peerUrl('10.1.2.3', 8080), 'http://10.1.2.3:8080');
    assert.equal(peerUrl('fd00::12', 8080), 'http://[fd00::12]:8080');
  });
});
