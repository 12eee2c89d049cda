// LeaderElector rounds driven by hand with an injected clock, over real HTTP to the API double.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBot } from '../../src/app.ts';
import { Store } from '../../src/adapters/store.ts';
import { parseConfig } from '../../src/config/load.ts';
import { UserError } from '../../src/errors.ts';
import { KubeCluster } from '../../src/adapters/kubernetes.ts';
import { LeaderElector } from '../../src/ops/leader.ts';
import { createLogger } from '../../src/logger.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/ops/leases';

describe('LeaderElector', () => {
  let kube: FakeKubeApi;
  let now = Date.parse('2026-11-24T09:00:00Z');
  const electors: LeaderElector[] = [];
  const make = (identity: string, name: string) => {
    const e = new LeaderElector({
      api: new KubeCluster('fake', kube.kubeConfig(), 2000),
      namespace: 'ops',
      name,
      identity,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      logger: createLogger('silent'),
      now: () => now,
    });
    electors.push(e);
    return e;
  };
  const lease = (name: string) =>
    kube.get(LEASES, name) as { spec: Record<string, unknown>; metadata: { annotations?: Record<string, string> } } | undefined;

  before(async () => {
    kube = await new FakeKubeApi().start();
  });
  after(async () => {
    await Promise.all(electors.map((e) => e.stop()));
    await kube.stop();
  });

  test('the first creates the Lease (MicroTime with microseconds); the second follows while it is renewed', async () => {
    const a = make('a', 'l1');
    const b = make('b', 'l1');
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(await b.tryAcquireOrRenew(), false);
    const spec = lease('l1')!.spec;
    assert.equal(spec.holderIdentity, 'a');
    assert.equal(spec.leaseDurationSeconds, 15);
    assert.match(String(spec.renewTime), /^2026-11-24T09:00:00\.000000Z$/);
    // a renews every retry period; b never sees a stale record.
    for (let i = 0; i < 20; i++) {
      now += 2_000;
      assert.equal(await a.tryAcquireOrRenew(), true);
      assert.equal(await b.tryAcquireOrRenew(), false);
    }
    assert.equal(lease('l1')!.spec.leaseTransitions, 0);
  });

  test('a silent leader is replaced once the lease has not changed for its duration on the follower clock', async () => {
    const a = make('a', 'l2');
    const b = make('b', 'l2');
    await a.tryAcquireOrRenew();
    await b.tryAcquireOrRenew(); // b first sees the record now
    now += 14_000;
    assert.equal(await b.tryAcquireOrRenew(), false, 'not yet expired');
    assert.equal(a.isLeader(), false, 'a itself stopped claiming leadership past its renew deadline');
    now += 1_500;
    assert.equal(await b.tryAcquireOrRenew(), true);
    assert.equal(lease('l2')!.spec.holderIdentity, 'b');
    assert.equal(lease('l2')!.spec.leaseTransitions, 1);
    // The old leader, waking up, sees b's fresh record and follows.
    assert.equal(await a.tryAcquireOrRenew(), false);
  });

  test('a leader that cannot reach the API server steps down after the renew deadline', async () => {
    const a = make('a', 'l3');
    a.start();
    await waitFor(() => a.isLeader());
    kube.fail({ path: /leases/, status: 500, times: 1000 });
    try {
      now += 9_000;
      assert.equal(a.isLeader(), true);
      now += 1_500;
      assert.equal(a.isLeader(), false);
    } finally {
      kube.clearFaults();
    }
  });

  test('claims: once per key across replicas, only by the leader, and they survive a change of leader', async () => {
    const a = make('a', 'l4');
    const b = make('b', 'l4');
    await a.tryAcquireOrRenew();
    await b.tryAcquireOrRenew();
    assert.equal(await b.claim('digest:2026-11-24T09:00:00.000Z'), false, 'a follower never claims');
    assert.equal(await a.claim('digest:2026-11-24T09:00:00.000Z'), true);
    assert.equal(await a.claim('digest:2026-11-24T09:00:00.000Z'), false);
    assert.ok(
      Object.keys(lease('l4')!.metadata.annotations!).some((k) => /^archshift\.io\/ran\.digest_2026-11-24T09_00_00\.000Z$/.test(k)),
    );
    assert.equal(await b.tryAcquireOrRenew(), false, 'the claim write is a sign of life too');
    now += 16_000;
    assert.equal(await b.tryAcquireOrRenew(), true);
    assert.equal(await b.claim('digest:2026-11-24T09:00:00.000Z'), false, 'the new leader sees the old claim');
    assert.equal(await b.claim('digest:2026-11-25T09:00:00.000Z'), true);
  });

  test('stop() releases the Lease so a follower takes over on its next round', async () => {
    const a = make('a', 'l5');
    const b = make('b', 'l5');
    a.start();
    await waitFor(() => a.isLeader());
    await b.tryAcquireOrRenew();
    await a.stop();
    assert.equal(lease('l5')!.spec.holderIdentity, '');
    assert.equal(await b.tryAcquireOrRenew(), true);
  });
});

async function waitFor(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(pred());
}

test('leader election (several replicas) on a lowdb file is refused at start, naming the PostgreSQL keys', async () => {
  const kube = await new FakeKubeApi().start();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-le-'));
  try {
    const config = parseConfig({
      slack: { mode: 'http', port: 0 },
      store: { file: join(dir, 's.json') },
      server: { leaderElection: { enabled: true } },
    });
    await assert.rejects(
      createBot(config, {
        logger: createLogger('silent'),
        kubeConfig: kube.kubeConfig(),
        secrets: { slackBotToken: 'xoxb-t', slackSigningSecret: 's' },
      }),
      (e: unknown) => e instanceof UserError && /store\.driver: postgres/.test(e.message) && /DATABASE_URL/.test(e.message),
    );
    // The refused bot released the file: another process may open it.
    await (await Store.open(join(dir, 's.json'))).close();
  } finally {
    await kube.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
