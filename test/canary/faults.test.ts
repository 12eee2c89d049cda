import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { slackActor } from '../../src/auth/actor.ts';
import type { CanaryEvent } from '../../src/canary/events.ts';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { istio, type KubeCluster } from '../../src/adapters/kubernetes.ts';
import { Prometheus } from '../../src/adapters/prometheus.ts';
import { CanaryError, PreconditionsError, type CanaryController } from '../../src/canary/controller.ts';
import { Store } from '../../src/adapters/store.ts';
import { UnknownServiceError } from '../../src/config/catalog.ts';
import { freePort } from '../fakes/net.ts';
import { at, deployment, DEPLOYMENTS, DESTINATION_RULES, NS, startWorld, VIRTUAL_SERVICES, type World } from './world.ts';

const MIN = 60_000;

function lastEvent(w: World, service: string): CanaryEvent {
  return w.events.filter((e) => e.service === service).at(-1)!.event;
}

function repliesOf(w: World, ts: string): string[] {
  return w.slack
    .callsTo('chat.postMessage')
    .filter((c) => c.args.thread_ts === ts)
    .map((c) => String(c.args.text));
}

function patchesTo(w: World, service: string): number {
  return w.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/virtualservices/${service}`)).length;
}

/** A cluster whose `n`-th VirtualService patch never returns: the process "dies" before or after it lands. */
function dyingCluster(w: World, n: number, when: 'before' | 'after'): { cluster: KubeCluster; died: Promise<void> } {
  let count = 0;
  let died!: () => void;
  const diedP = new Promise<void>((r) => (died = r));
  const cluster = Object.create(w.cluster) as KubeCluster;
  cluster.patchCustomObject = async <T>(ref: Parameters<KubeCluster['patchCustomObject']>[0], body: unknown): Promise<T> => {
    if (++count < n) return w.cluster.patchCustomObject<T>(ref, body);
    if (when === 'after') await w.cluster.patchCustomObject(ref, body);
    died();
    return new Promise<T>(() => undefined);
  };
  return { cluster, died: diedP };
}

describe('canary faults: bad input, foreign edits, refused patches, Prometheus outages, restarts', () => {
  let w: World;
  let c: CanaryController;
  let hang: Server;
  let hangUrl: string;
  before(async () => {
    w = await startWorld();
    c = await w.controller();
    hang = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    hangUrl = `http://127.0.0.1:${(hang.address() as { port: number }).port}`;
  });
  after(async () => {
    hang.closeAllConnections();
    await new Promise((r) => hang.close(r));
    await w.stop();
  });

  test('an unknown service and a second start are refused and change nothing', async () => {
    w.clock.set(at(30));
    await assert.rejects(c.start('nope', {}, slackActor('U1')), UnknownServiceError);
    assert.equal(c.status('nope'), undefined);
    await assert.rejects(c.start('orders', { steps: '5,10,25' }, slackActor('U1')), /ends at 25% arm64, not 100%/);
    assert.equal(c.status('orders'), undefined);
    assert.equal(patchesTo(w, 'orders'), 0);

    await c.start('orders', {}, slackActor('U1'));
    await assert.rejects(
      c.start('orders', {}, slackActor('U2')),
      (e: unknown) => e instanceof CanaryError && e.refusal.code === 'already-running',
    );
    assert.equal(patchesTo(w, 'orders'), 1);
    await c.rollback('orders', slackActor('U1'));
  });

  test('a VirtualService edited by someone else mid-canary is detected, paused, reported; resume adopts it', async () => {
    w.seed('orders');
    w.clock.set(at(30));
    await c.start('orders', { gates: 'none' }, slackActor('U1'));
    // kubectl edit by a human: 70/30.
    const vs = (await w.cluster.getCustomObject<{ spec: { http: Array<{ route: Array<{ weight: number }> }> } }>(
      istio.virtualService(NS, 'orders'),
    ))!;
    vs.spec.http[0].route[0].weight = 70;
    vs.spec.http[0].route[1].weight = 30;
    await w.cluster.patchCustomObject(istio.virtualService(NS, 'orders'), { spec: { http: vs.spec.http } });
    const ours = patchesTo(w, 'orders');

    w.clock.advance(10 * MIN);
    await c.tick();
    let rec = c.status('orders')!;
    assert.equal(rec.phase, 'paused');
    assert.equal(rec.pause!.kind, 'conflict');
    assert.equal(patchesTo(w, 'orders'), ours, 'archshift does not fight the edit');
    assert.deepEqual(w.clusterWeight('orders'), { amd64: 70, arm64: 30 });
    assert.deepEqual(lastEvent(w, 'orders'), {
      kind: 'conflict',
      detail: 'VirtualService shop/orders was changed outside archshift: it sends 30% to arm64, archshift set 5%',
    });
    w.clock.advance(10 * MIN);
    await c.tick();
    assert.equal(c.status('orders')!.phase, 'paused', 'stays paused until a human acts');

    rec = await c.resume('orders', slackActor('U1'));
    assert.equal(rec.weight, 30);
    assert.equal(rec.plan.steps[rec.stepIndex], 25);
    w.clock.advance(10 * MIN);
    await c.tick();
    assert.equal(c.status('orders')!.weight, 50);
    assert.deepEqual(w.clusterWeight('orders'), { amd64: 50, arm64: 50 });
    await c.rollback('orders', slackActor('U1'));
  });

  test('the API server refusing a patch leaves state and cluster unchanged and is reported', async () => {
    w.seed('orders');
    w.clock.set(at(30));
    const before = w.kinds('orders').length;
    const rec0 = await c.start('orders', { gates: 'none' }, slackActor('U1'));
    w.kube.fail({ method: 'PATCH', path: /virtualservices\/orders$/, status: 500, message: 'etcdserver: request timed out' });
    w.clock.advance(10 * MIN);
    await c.tick();
    let rec = c.status('orders')!;
    assert.equal(rec.phase, 'paused');
    assert.equal(rec.pause!.kind, 'patch-failed');
    assert.equal(rec.weight, 5);
    assert.equal(rec.pending, undefined);
    assert.deepEqual(w.clusterWeight('orders'), { amd64: 95, arm64: 5 });
    const refused = lastEvent(w, 'orders');
    assert.equal(refused.kind, 'move-refused');
    assert.deepEqual({ ...refused, detail: undefined }, { kind: 'move-refused', from: 5, to: 10, retry: 'resume', detail: undefined });
    assert.match(
      refused.kind === 'move-refused' ? refused.detail : '',
      /the API server refused the patch: .*500.*etcdserver: request timed out/,
    );
    assert.equal(repliesOf(w, rec0.message!.ts).length, w.kinds('orders').length - before, 'and said in the thread');

    await c.resume('orders', slackActor('U1'));
    await c.tick();
    rec = c.status('orders')!;
    assert.equal(rec.weight, 10);
    assert.deepEqual(w.clusterWeight('orders'), { amd64: 90, arm64: 10 });

    // A failed rollback patch is retried on every tick until it lands.
    w.kube.fail({ method: 'PATCH', path: /virtualservices\/orders$/, status: 503, message: 'apiserver overloaded' });
    rec = await c.rollback('orders', slackActor('U1'));
    assert.equal(rec.phase, 'rolling-back');
    assert.deepEqual(w.clusterWeight('orders'), { amd64: 90, arm64: 10 });
    await c.tick();
    assert.equal(c.status('orders')!.phase, 'rolled-back');
    assert.deepEqual(w.clusterWeight('orders'), { amd64: 100, arm64: 0 });
  });

  test('Prometheus timing out or down is "no data": a pause with the reason, never a failed check', async () => {
    w.clock.set(at(30));
    const slowProm = await w.controller({ prometheus: new Prometheus(hangUrl, 300), storeFile: join(w.dir, 'prom-timeout.json') });
    await slowProm.start('slow', { gates: 'none' }, slackActor('U1'));
    w.clock.advance(10 * MIN);
    await slowProm.tick();
    let rec = slowProm.status('slow')!;
    assert.equal(rec.phase, 'paused');
    assert.equal(rec.pause!.kind, 'no-data');
    assert.match(rec.pause!.reason, /did not answer within 300 ms/);
    assert.equal(rec.failedChecks, 0);
    assert.equal(rec.weight, 5);
    await slowProm.rollback('slow', slackActor('U1'));

    w.seed('slow');
    w.clock.set(at(30));
    const down = await w.controller({
      prometheus: new Prometheus(`http://127.0.0.1:${await freePort()}`, 300),
      storeFile: join(w.dir, 'prom-down.json'),
    });
    await down.start('slow', { gates: 'none' }, slackActor('U1'));
    w.clock.advance(10 * MIN);
    await down.tick();
    rec = down.status('slow')!;
    assert.equal(rec.pause?.kind, 'no-data');
    assert.match(rec.pause!.reason, /unreachable: ECONNREFUSED/);
    await down.rollback('slow', slackActor('U1'));
  });

  for (const when of ['after', 'before'] as const) {
    test(`a restart with a patch in flight (process died ${when} it landed): the next instance reconciles store and cluster`, async () => {
      const service = when === 'after' ? 'ledger' : 'billing';
      const file = join(w.dir, `restart-${when}.json`);
      w.clock.set(at(30));
      const dying = dyingCluster(w, 2, when);
      const a = await w.controller({ cluster: () => dying.cluster, ownerId: 'bot-a', storeFile: file });
      await a.start(service, { gates: 'none' }, slackActor('U1'));
      w.clock.advance(10 * MIN);
      void a.tick(); // never returns: the "process" dies inside the second patch
      await dying.died;
      assert.deepEqual(w.clusterWeight(service), when === 'after' ? { amd64: 90, arm64: 10 } : { amd64: 95, arm64: 5 });

      const b = await w.controller({ ownerId: 'bot-b', storeFile: file });
      assert.equal(b.status(service)!.pending?.weight, 10, 'the intent was written ahead of the patch');
      await b.tick();
      assert.equal(b.status(service)!.owner!.id, 'bot-a', 'the dead instance holds the lock until it expires');
      assert.equal(b.status(service)!.pending?.weight, 10);

      w.clock.advance(121_000);
      await b.tick();
      const rec = b.status(service)!;
      assert.equal(rec.owner!.id, 'bot-b');
      assert.equal(rec.pending, undefined);
      const cluster = w.clusterWeight(service);
      assert.equal(cluster.amd64 + cluster.arm64, 100);
      assert.equal(rec.weight, cluster.arm64, 'the store matches the cluster');
      assert.equal(rec.weight, when === 'after' ? 10 : 5);
      assert.deepEqual(lastEvent(w, service), { kind: 'settled', to: 10, applied: when === 'after', weight: when === 'after' ? 10 : 5 });
      // And it carries on from there at the next check.
      w.clock.advance(10 * MIN);
      await b.tick();
      assert.equal(b.status(service)!.weight, when === 'after' ? 25 : 10);
      assert.equal(w.clusterWeight(service).arm64, b.status(service)!.weight);
      await b.rollback(service, slackActor('U1'));
    });
  }

  test('with leader election, a new leader takes over the lock a crashed leader left and rolls back at once', async () => {
    const service = 'ledger';
    const file = join(w.dir, 'failover.json');
    w.clock.set(at(30));
    w.seed(service);
    const old = await w.controller({ ownerId: 'replica-0', storeFile: file, leaseHolder: () => true });
    await old.start(service, { gates: 'none' }, slackActor('U1'));
    const heir = await w.controller({ ownerId: 'replica-1', storeFile: file, leaseHolder: () => true });
    assert.equal(heir.status(service)!.owner!.id, 'replica-0');
    await heir.rollback(service, slackActor('U1'));
    assert.equal(heir.status(service)!.owner!.id, 'replica-1', 'no wait for the old lock to expire');
    assert.deepEqual(w.clusterWeight(service), { amd64: 100, arm64: 0 });
    const cli = await w.controller({ ownerId: 'cli', storeFile: file });
    await assert.rejects(
      cli.pause(service, slackActor('U1')),
      (e: unknown) => e instanceof CanaryError && e.refusal.code === 'locked' && e.refusal.owner === 'replica-1',
      'without the Lease, the lock still keeps others out',
    );
  });

  test('traffic never goes to a side that is not ready', async () => {
    w.clock.set(at(30));
    w.kube.put(DEPLOYMENTS, deployment('stock-arm64', 'arm64', w.imageOf('stock'), 1));
    await assert.rejects(c.start('stock', {}, slackActor('U1')), (e: unknown) => {
      const arm64 = e instanceof PreconditionsError && e.report.items.find((i) => i.check === 'arm64-deployment');
      return !!arm64 && !arm64.ok && arm64.check === 'arm64-deployment' && isDeepStrictEqual(arm64.readiness, { ready: 1, desired: 3 });
    });
    assert.equal(patchesTo(w, 'stock'), 0);

    w.seed('stock');
    await c.start('stock', { gates: 'none' }, slackActor('U1'));
    // Partly ready: checks pass but the weight holds.
    w.kube.put(DEPLOYMENTS, deployment('stock-arm64', 'arm64', w.imageOf('stock'), 2));
    await assert.rejects(
      c.promote('stock', slackActor('U1')),
      (e: unknown) =>
        e instanceof CanaryError && e.refusal.code === 'not-promoted' && /stock-arm64 has 2\/3 replicas ready/.test(e.refusal.detail),
    );
    w.clock.advance(10 * MIN);
    await c.tick();
    let rec = c.status('stock')!;
    assert.equal(rec.pause?.kind, 'not-ready');
    assert.deepEqual(w.clusterWeight('stock'), { amd64: 95, arm64: 5 });
    // No ready replicas while taking traffic: immediate rollback.
    w.kube.put(DEPLOYMENTS, deployment('stock-arm64', 'arm64', w.imageOf('stock'), 0));
    await c.tick();
    rec = c.status('stock')!;
    assert.equal(rec.phase, 'rolled-back');
    assert.deepEqual(rec.outcome, { result: 'rolled-back', cause: 'arm64-unready', deployment: 'stock-arm64', weight: 5 });
    assert.deepEqual(w.clusterWeight('stock'), { amd64: 100, arm64: 0 });
  });

  test('missing preconditions are named with the PR or manifest that adds them', async () => {
    const legacy = await c.preconditions('legacy');
    const image = legacy.items.find((i) => i.check === 'arm64-image')!;
    assert.equal(image.ok, false);
    assert.deepEqual(image.check === 'arm64-image' && { status: image.status, platforms: image.platforms }, {
      status: 'amd64-only',
      platforms: ['linux/amd64'],
    });

    w.kube.remove(DEPLOYMENTS, 'outage-arm64');
    w.kube.remove(DESTINATION_RULES, 'outage');
    const vs = w.kube.get(VIRTUAL_SERVICES, 'outage')! as unknown as { spec: { http: Array<{ route: Array<{ weight: number }> }> } };
    vs.spec.http[0].route[1].weight = 30;
    w.kube.put(VIRTUAL_SERVICES, vs as never);
    const report = await c.preconditions('outage');
    assert.equal(report.ok, false);
    const failed = Object.fromEntries(report.items.filter((i) => !i.ok).map((i) => [i.check, i]));
    assert.deepEqual(Object.keys(failed).sort(), ['arm64-deployment', 'destination-rule', 'virtual-service-route']);
    assert.deepEqual(failed['arm64-deployment'].fix, { kind: 'canary-pr' });
    const rule = failed['destination-rule'].fix!;
    assert.equal(rule.kind, 'canary-pr');
    assert.match(
      rule.kind === 'canary-pr' ? rule.manifest! : '',
      /kind: DestinationRule[\s\S]*name: arm64[\s\S]*archshift.io\/arch: arm64/,
    );
    const route = failed['virtual-service-route'];
    assert.match(route.check === 'virtual-service-route' ? route.problem! : '', /weights 100 \+ 30 do not sum to 100/);
    await assert.rejects(c.start('outage', {}, slackActor('U1')), PreconditionsError);
    assert.equal(patchesTo(w, 'outage'), 0);
    w.seed('outage');
  });

  test('a record written before actors and outcomes were values reads as values, its sentence kept', async () => {
    const store = await Store.open(join(w.dir, 'legacy.json'));
    const first = await w.controller({ store, ownerId: 'old' });
    w.seed('orders');
    w.clock.set(at(30));
    await first.start('orders', { gates: 'none' }, slackActor('U1'));
    await first.rollback('orders', slackActor('U1'));
    // Rewrite it as an older archshift stored it: an id string and a sentence.
    await store
      .section<Record<string, Record<string, unknown>>>('canaries', () => ({}))
      .update((d) => {
        d.orders!.startedBy = 'U0OLD';
        d.orders!.outcome = 'rolled back by <@U0OLD>';
      });
    const rec = (await w.controller({ store, ownerId: 'new' })).status('orders')!;
    assert.deepEqual(rec.startedBy, { via: 'slack', userId: 'U0OLD' });
    assert.deepEqual(rec.outcome, { result: 'rolled-back', recorded: 'rolled back by <@U0OLD>' });
    await store.close();
  });
});
