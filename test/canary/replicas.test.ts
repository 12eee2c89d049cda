// Replica-stepped canaries (workers, stream consumers) against the API double: the arm64 share of the
// replicas follows the plan through the scale subresource, the side gaining replicas goes up first and
// the other comes down only once they are ready, rollback restores the starting counts, a restart in the
// middle of a step finishes it without scaling twice, and a Flink job is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { slackActor } from '../../src/auth/actor.ts';
import type { KubeCluster } from '../../src/adapters/kubernetes.ts';
import { CanaryError, type CanaryController } from '../../src/canary/controller.ts';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { Prometheus } from '../../src/adapters/prometheus.ts';
import { templatesFor } from '../../src/canary/analysis.ts';
import { consumerTemplates } from '../../src/canary/consumer-metrics.ts';
import { validateTemplates } from '../../src/canary/metrics.ts';
import { parseConfig } from '../../src/config/load.ts';
import { canaryText } from '../../src/render/canary-blocks.ts';
import { canaryErrorText } from '../../src/render/canary-events.ts';
import { at, CONSUMERS, deployment, DEPLOYMENTS, NS, startWorld, type World } from './world.ts';

const MIN = 60_000;
const ALICE = slackActor('U0ALICE');

/** The scale requests sent so far, as `deployment=replicas`, in order. */
function scales(w: World, service?: string): string[] {
  return w.kube.requests
    .filter((r) => r.method === 'PATCH' && r.path.endsWith('/scale') && (!service || r.path.includes(`/deployments/${service}`)))
    .map((r) => `${r.path.split('/').at(-2)}=${(r.body as { spec: { replicas: number } }).spec.replicas}`);
}

/** Puts a consumer back where it starts: every replica on amd64 (ready), the arm64 Deployment at 0. */
function reset(w: World, name: string): void {
  const n = CONSUMERS[name].replicas;
  w.kube.put(DEPLOYMENTS, deployment(name, 'amd64', w.imageOf(name), n, n));
  w.kube.put(DEPLOYMENTS, deployment(`${name}-arm64`, 'arm64', w.imageOf(name), 0, 0));
}

/** A cluster whose process "dies" inside its nth scale call, before or after the call reached the API server. */
function dyingCluster(
  w: World,
  n: number,
  when: 'before' | 'after',
  onScale?: (name: string) => void,
): { cluster: KubeCluster; died: Promise<void> } {
  let count = 0;
  let died!: () => void;
  const diedP = new Promise<void>((r) => (died = r));
  const cluster = Object.create(w.cluster) as KubeCluster;
  cluster.scaleDeployment = async (namespace: string, name: string, replicas: number): Promise<number> => {
    if (++count < n) {
      const got = await w.cluster.scaleDeployment(namespace, name, replicas);
      onScale?.(name);
      return got;
    }
    if (when === 'after') await w.cluster.scaleDeployment(namespace, name, replicas);
    died();
    return new Promise<number>(() => undefined);
  };
  return { cluster, died: diedP };
}

describe('replica-stepped canaries for workers and consumers', () => {
  let w: World;
  // Each test drives its canaries with its own controller (its own store file); this one is the bot's.
  let c: CanaryController;
  before(async () => (w = await startWorld()));
  after(() => w.stop());

  test('steps the arm64 share of 4 replicas (25 → 50 → 100%): arm64 up first, amd64 down once arm64 is ready', async () => {
    c = await w.controller();
    w.clock.set(at(30));
    let rec = await c.start('payments', { gates: 'none' }, ALICE);
    assert.deepEqual(rec.plan.steps, [25, 50, 100], '5,10,25,50,100 as 4 replicas can follow it');
    assert.deepEqual(rec.target.replicas, { amd64: 4, arm64: 0 }, 'the starting counts are recorded');
    assert.equal(rec.target.mode, 'replicas');
    // arm64 is scaled up; amd64 keeps all 4 until the new arm64 pod is ready.
    assert.deepEqual(w.replicas('payments'), { amd64: 4, arm64: 1 });
    assert.equal(rec.weight, 0);
    assert.equal(rec.pending?.weight, 25);
    assert.equal(w.kinds('payments').at(-1), 'scaling');
    assert.equal(
      w.kube.requests.filter((r) => r.path.includes('virtualservices/payments')).length,
      0,
      'no Istio object is read or written',
    );

    w.clock.advance(1 * MIN);
    await c.tick();
    assert.deepEqual(w.replicas('payments'), { amd64: 4, arm64: 1 }, 'nothing more while arm64 is not ready');

    w.rollOut('payments-arm64');
    await c.tick();
    rec = c.status('payments')!;
    assert.deepEqual(w.replicas('payments'), { amd64: 3, arm64: 1 });
    assert.equal(rec.weight, 25);
    assert.equal(rec.pending, undefined);
    assert.deepEqual(w.events.filter((e) => e.service === 'payments').at(-1)!.event, {
      kind: 'moved',
      step: 1,
      steps: 3,
      from: 0,
      to: 25,
      nextCheckSeconds: 600,
      replicas: { amd64: 3, arm64: 1 },
    });
    w.rollOut('payments');

    // The check 10 minutes later reads the Kafka consumer metrics per arch from the real Prometheus.
    w.clock.advance(10 * MIN);
    await c.tick();
    rec = c.status('payments')!;
    const check = rec.checks.at(-1)!;
    assert.equal(check.verdict, 'pass', JSON.stringify(check));
    assert.equal(check.arm64.values['consumer lag'], 20);
    assert.ok(
      Math.abs(check.amd64.values['CPU per message']! - 10) < 0.1,
      `amd64 ${check.amd64.values['CPU per message']} CPU ms per message`,
    );
    assert.ok(
      Math.abs(check.arm64.values['CPU per message']! - 6) < 0.1,
      `arm64 ${check.arm64.values['CPU per message']} CPU ms per message`,
    );
    assert.deepEqual(w.replicas('payments'), { amd64: 3, arm64: 2 }, 'the next step scales arm64 up first');
    w.rollOut('payments-arm64');
    await c.tick();
    assert.deepEqual(w.replicas('payments'), { amd64: 2, arm64: 2 });
    assert.equal(c.status('payments')!.weight, 50);
    w.rollOut('payments');

    // Promotion: arm64 to 4 first, amd64 to 0 only once all 4 are ready.
    rec = await c.promote('payments', ALICE);
    assert.equal(rec.phase, 'progressing');
    assert.deepEqual(w.replicas('payments'), { amd64: 2, arm64: 4 });
    w.rollOut('payments-arm64');
    await c.tick();
    rec = c.status('payments')!;
    assert.equal(rec.phase, 'promoted');
    assert.equal(rec.weight, 100);
    assert.deepEqual(w.replicas('payments'), { amd64: 0, arm64: 4 });
    assert.deepEqual(scales(w, 'payments'), [
      'payments-arm64=1',
      'payments=3',
      'payments-arm64=2',
      'payments=2',
      'payments-arm64=4',
      'payments=0',
    ]);
    const finished = w.events.filter((e) => e.service === 'payments').at(-1)!.event;
    assert.deepEqual(finished, { kind: 'finished', outcome: { result: 'promoted', by: ALICE }, replicas: { amd64: 0, arm64: 4 } });

    const card = canaryText(rec, c.config.thresholds, w.clock.now());
    assert.match(card, /shop\/replicas of payments and payments-arm64/);
    assert.match(card, /consumer lag/);

    // What it measured, per arch, with the prices of the nodes each side ran on.
    const m = rec.measured!;
    assert.equal(m.result, 'promoted');
    assert.equal(m.unit, 'message');
    assert.ok(Math.abs(m.unitsPerSecond! - 200) < 1, `${m.unitsPerSecond} messages/s over both sides`);
    assert.ok(Math.abs(m.amd64.cpuMsPerUnit! - 10) < 0.1 && Math.abs(m.arm64.cpuMsPerUnit! - 6) < 0.1);
    assert.deepEqual(m.amd64.nodes!.types, { 'm6i.xlarge': { pods: 2, vcpus: 4, hourlyPrice: 0.192 } });
    assert.deepEqual(m.arm64.nodes!.types, { 'm7g.xlarge': { pods: 2, vcpus: 4, hourlyPrice: 0.1632 } });
  });

  test('a consumer whose arm64 lag grows after the second step fails its checks and rolls back to the starting replicas', async () => {
    w.clock.set(at(30));
    const ctl = await w.controller({ storeFile: join(w.dir, 'lag.json') });
    await ctl.start('shipments', { gates: 'none' }, ALICE);
    w.rollOut('shipments-arm64');
    await ctl.tick();
    w.rollOut('shipments');
    assert.deepEqual(w.replicas('shipments'), { amd64: 3, arm64: 1 });
    w.clock.set(at(40));
    await ctl.tick(); // passes at 25%: arm64 goes to 2
    w.rollOut('shipments-arm64');
    await ctl.tick();
    w.rollOut('shipments');
    assert.deepEqual(w.replicas('shipments'), { amd64: 2, arm64: 2 });
    assert.equal(ctl.status('shipments')!.weight, 50);

    w.clock.set(at(50));
    await ctl.tick();
    let rec = ctl.status('shipments')!;
    assert.equal(rec.checks.at(-1)!.verdict, 'fail');
    const failed = rec.checks.at(-1)!.lines.filter((l) => !l.ok);
    assert.deepEqual(
      failed.map((l) => l.metric),
      ['consumer lag'],
    );
    assert.equal(rec.checks.at(-1)!.arm64.values['consumer lag'], 20 + 9 * 6000);
    w.clock.set(at(60));
    await ctl.tick();
    rec = ctl.status('shipments')!;
    assert.equal(rec.phase, 'rolling-back');
    assert.deepEqual(w.replicas('shipments'), { amd64: 4, arm64: 2 }, 'amd64 back to 4 first; arm64 keeps consuming meanwhile');
    w.rollOut('shipments');
    await ctl.tick();
    rec = ctl.status('shipments')!;
    assert.equal(rec.phase, 'rolled-back');
    assert.equal(rec.outcome && 'cause' in rec.outcome && rec.outcome.cause, 'failed-checks');
    assert.deepEqual(w.replicas('shipments'), { amd64: 4, arm64: 0 }, 'the replica counts recorded before the first step');
    assert.deepEqual(w.kinds('shipments'), [
      'started',
      'scaling',
      'moved',
      'scaling',
      'moved',
      'check-failed',
      'check-failed',
      'scaling',
      'finished',
    ]);
    assert.equal(rec.measured?.result, 'rolled-back');
  });

  test('rollback restores the starting replica counts, amd64 back up before arm64 goes to 0', async () => {
    w.clock.set(at(30));
    const file = join(w.dir, 'rollback.json');
    const ctl = await w.controller({ storeFile: file });
    await ctl.start('invoices', { gates: 'none' }, ALICE);
    w.rollOut('invoices-arm64');
    await ctl.tick();
    w.rollOut('invoices');
    assert.deepEqual(w.replicas('invoices'), { amd64: 3, arm64: 1 });

    let rec = await ctl.rollback('invoices', ALICE);
    assert.equal(rec.phase, 'rolling-back');
    assert.deepEqual(w.replicas('invoices'), { amd64: 4, arm64: 1 }, 'arm64 keeps consuming until amd64 has its 4 ready');
    w.clock.advance(MIN);
    await ctl.tick();
    assert.deepEqual(w.replicas('invoices'), { amd64: 4, arm64: 1 });
    w.rollOut('invoices');
    await ctl.tick();
    rec = ctl.status('invoices')!;
    assert.equal(rec.phase, 'rolled-back');
    assert.deepEqual(w.replicas('invoices'), rec.target.replicas, 'back to the counts recorded before the first step');
    assert.deepEqual(w.replicas('invoices'), { amd64: 4, arm64: 0 });
    assert.ok(rec.endedAt);
  });

  for (const when of ['before', 'after'] as const) {
    test(`a restart in the middle of a replica step (died ${when} the amd64 scale-down landed): the next instance finishes it, scaling nothing twice`, async () => {
      w.clock.set(at(30));
      reset(w, 'invoices');
      const file = join(w.dir, `replica-restart-${when}.json`);
      const before = scales(w, 'invoices').length;
      // The arm64 pod is ready at once, so both halves of the step run in one go and the process dies in the second.
      const dying = dyingCluster(w, 2, when, (name) => w.rollOut(name));
      const a = await w.controller({ cluster: () => dying.cluster, ownerId: 'bot-a', storeFile: file });
      void a.start('invoices', { gates: 'none' }, ALICE);
      await dying.died;
      assert.deepEqual(w.replicas('invoices'), when === 'after' ? { amd64: 3, arm64: 1 } : { amd64: 4, arm64: 1 });

      const b = await w.controller({ ownerId: 'bot-b', storeFile: file });
      assert.equal(b.status('invoices')!.pending?.weight, 25, 'the intent was written ahead of the scale');
      w.clock.advance(121_000); // the dead instance's lock expires
      await b.tick();
      const rec = b.status('invoices')!;
      assert.equal(rec.owner!.id, 'bot-b');
      assert.equal(rec.pending, undefined);
      assert.equal(rec.weight, 25);
      assert.deepEqual(w.replicas('invoices'), { amd64: 3, arm64: 1 });
      assert.deepEqual(scales(w, 'invoices').slice(before), ['invoices-arm64=1', 'invoices=3'], 'each Deployment scaled once');
      assert.equal(w.kinds('invoices').at(-1), when === 'after' ? 'settled' : 'moved');

      // It carries on from there: rollback restores the counts recorded before the first step.
      w.rollOut('invoices');
      await b.rollback('invoices', ALICE);
      w.rollOut('invoices');
      await b.tick();
      assert.equal(b.status('invoices')!.phase, 'rolled-back');
      assert.deepEqual(w.replicas('invoices'), { amd64: 4, arm64: 0 });
    });
  }

  test('someone scaling the Deployments during a replica canary pauses it, as an edit of the route would', async () => {
    w.clock.set(at(30));
    const file = join(w.dir, 'edited.json');
    reset(w, 'payments');
    const ctl = await w.controller({ storeFile: file });
    await ctl.start('payments', { gates: 'none' }, ALICE);
    w.rollOut('payments-arm64');
    await ctl.tick();
    assert.equal(ctl.status('payments')!.weight, 25);
    await w.cluster.scaleDeployment(NS, 'payments', 6); // an HPA or a person
    w.clock.advance(MIN);
    await ctl.tick();
    const rec = ctl.status('payments')!;
    assert.equal(rec.pause?.kind, 'conflict');
    assert.match(
      rec.pause!.reason,
      /replicas of shop\/payments and payments-arm64 were changed outside archshift: they are 6 and 1, archshift set 3 and 1/,
    );
    await ctl.rollback('payments', ALICE);
    w.rollOut('payments');
    await ctl.tick();
    assert.deepEqual(w.replicas('payments'), { amd64: 4, arm64: 0 });
  });

  test('the shipped consumer templates (docs/canary-consumer-metrics.yml) and the built-ins parse in the real Prometheus', async () => {
    const config = parseConfig(parse(await readFile(new URL('../../docs/canary-consumer-metrics.yml', import.meta.url), 'utf8')));
    const library = Object.entries(config.canary.metrics);
    assert.ok(library.length >= 5);
    const templates = [
      ...library.map(([name, m]) => ({ where: name, query: m.query })),
      ...consumerTemplates(config.canary.thresholds).map((t) => ({ where: t.name, query: t.query })),
    ];
    const { invalid, unreachable } = await validateTemplates(new Prometheus(w.prom.url, 2000), templates, '5m');
    assert.deepEqual(invalid, []);
    assert.equal(unreachable, undefined);
    // A service judged with them: the library's "consumer lag" replaces the built-in of that name.
    const names = templatesFor(config.canary, { 'group lag': {} }, 'replicas').map((t) => t.name);
    assert.deepEqual(names, ['consumer lag', 'messages consumed', 'CPU per message', 'group lag']);
  });

  test('a Flink job is refused with the reason, as data, and nothing is scaled', async () => {
    const before = scales(w).length;
    const c = await w.controller({ storeFile: join(w.dir, 'flink.json') });
    const err = await c.start('fraud', {}, ALICE).catch((e: unknown) => e);
    assert.ok(err instanceof CanaryError);
    assert.deepEqual(err.refusal, { code: 'stateful-job', kind: 'flink' });
    assert.match(canaryErrorText(err, 'terminal'), /savepoint/);
    await assert.rejects(c.preconditions('fraud'), CanaryError);
    assert.equal(scales(w).length, before);
    assert.equal(c.status('fraud'), undefined);
  });
});

describe('replica arithmetic', () => {
  test('each step is a share the replicas can hold, never 0 arm64 above 0% nor 0 amd64 below 100%', async () => {
    const { countsFor, replicaSteps } = await import('../../src/canary/replica-router.ts');
    const plan = [5, 10, 25, 50, 100];
    assert.deepEqual(replicaSteps(plan, 4), [25, 50, 100]);
    assert.deepEqual(replicaSteps(plan, 10), [10, 30, 50, 100]);
    assert.deepEqual(replicaSteps(plan, 3), [33, 67, 100]);
    assert.deepEqual(replicaSteps(plan, 1), [100], 'one replica cannot be split: the only step is the switch');
    assert.deepEqual(countsFor(4, 99), { amd64: 1, arm64: 3 }, 'rounding never promotes early');
    assert.deepEqual(countsFor(4, 1), { amd64: 3, arm64: 1 });
    for (let total = 1; total <= 100; total++) {
      for (const share of replicaSteps([1, 2, 5, 10, 20, 25, 33, 50, 67, 75, 90, 99, 100], total)) {
        const c = countsFor(total, share);
        assert.equal(Math.round((100 * c.arm64) / total), share, `${total} replicas at ${share}% read back as the same share`);
      }
    }
  });
});
