// HA against the Kubernetes API double: replicas are separate processes, so "kill" is a real SIGKILL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { until } from '../fakes/until.ts';

const LEASE_MS = 6000;
const RETRY_MS = 400;
const child = fileURLToPath(new URL('./replica-child.ts', import.meta.url));

interface Replica {
  id: string;
  proc: ChildProcess;
  leading: boolean;
  events: Array<Record<string, unknown>>;
  exited: Promise<void>;
}

describe('two replicas with a Lease on the API double', () => {
  let kube: FakeKubeApi;
  let slack: FakeSlackApi;
  const replicas: Replica[] = [];

  function startReplica(id: string): Replica {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      env: {
        ...process.env,
        IDENTITY: id,
        KUBE_URL: kube.url,
        SLACK_URL: slack.apiUrl,
        LEASE_MS: String(LEASE_MS),
        RENEW_MS: '4000',
        RETRY_MS: String(RETRY_MS),
        SLOT_MS: '300',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r: Replica = { id, proc, leading: false, events: [], exited: new Promise((res) => proc.once('exit', () => res())) };
    // A killed replica cannot say it stopped leading.
    void r.exited.then(() => (r.leading = false));
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        r.events.push(e);
        if (typeof e.leading === 'boolean') r.leading = e.leading;
      }
    });
    replicas.push(r);
    return r;
  }

  const holder = () =>
    (
      kube.get('/apis/coordination.k8s.io/v1/namespaces/archshift/leases', 'archshift-leader')?.spec as
        { holderIdentity?: string } | undefined
    )?.holderIdentity;
  const posts = () => slack.callsTo('chat.postMessage').map((c) => String(c.args.text));

  before(async () => {
    kube = await new FakeKubeApi().start();
    slack = await new FakeSlackApi().start();
  });
  after(async () => {
    for (const r of replicas) r.proc.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await slack.stop();
    await kube.stop();
  });

  test('exactly one leader; SIGKILL it and the other takes over within a lease period; no slot posted twice', async () => {
    const a = startReplica('replica-a');
    const b = startReplica('replica-b');
    await until(() => a.leading || b.leading, 60_000, 'a leader');
    // Let both campaign for a few lease periods: never two leaders (a loaded machine may leave a gap).
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      samples.push([a, b].filter((r) => r.leading).length);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(
      samples.every((n) => n <= 1),
      `never two leaders: ${samples.join(',')}`,
    );
    await until(() => a.leading || b.leading, 60_000, 'a leader');
    const leader = a.leading ? a : b;
    const follower = leader === a ? b : a;
    assert.equal(holder(), leader.id);
    await until(() => posts().length >= 2, 60_000, 'digests from the leader');

    const killedAt = Date.now();
    leader.proc.kill('SIGKILL');
    await leader.exited;
    await until(() => follower.leading, 60_000, 'the follower to take over');
    // client-go semantics: expiry is measured on the follower's clock from the last renewal it saw, so it
    // cannot take over before a whole lease period has passed (the upper bound is the machine's load).
    assert.ok(Date.now() - killedAt >= LEASE_MS - 3 * RETRY_MS, 'not before the lease expired');
    assert.equal(holder(), follower.id);
    const before = posts().length;
    await until(() => posts().length >= before + 2, 60_000, 'digests from the new leader');

    const texts = posts();
    const slots = texts.map((t) => t.split(' by ')[0]);
    assert.equal(new Set(slots).size, slots.length, `a slot was posted twice: ${texts.join(', ')}`);
    // Counted where Slack received them: a replica killed right after a post never prints it.
    const postedBy = (r: Replica) => texts.filter((t) => t.endsWith(` by ${r.id}`)).length;
    assert.ok(postedBy(leader) >= 2 && postedBy(follower) >= 2, `posts: ${texts.join(', ')}`);
  });

  test('SIGTERM releases the Lease (empty holder, one-second lease) and a waiting replica takes it', async () => {
    const leader = replicas.find((r) => r.leading)!;
    const c = startReplica('replica-c');
    const leasePuts = () => kube.requests.filter((q) => q.method === 'PUT' && q.path.endsWith('/leases/archshift-leader'));
    await until(() => c.events.some((e) => e.campaigning), 60_000, 'replica c to campaign');
    assert.equal(holder(), leader.id);
    assert.equal(c.leading, false);
    const putsBefore = leasePuts().length;
    leader.proc.kill('SIGTERM');
    await leader.exited;
    assert.ok(
      leader.events.some((e) => e.stopped),
      'the leader stopped cleanly',
    );
    const released = leasePuts()
      .slice(putsBefore)
      .map((q) => q.body as { spec: { holderIdentity?: string; leaseDurationSeconds?: number } })
      .find((l) => l.spec.holderIdentity === '');
    assert.equal(released?.spec.leaseDurationSeconds, 1, 'handed back with a one-second lease, so nobody waits for the full period');
    await until(() => c.leading, 60_000, 'replica c to lead');
    const slots = posts().map((t) => t.split(' by ')[0]);
    assert.equal(new Set(slots).size, slots.length, 'no slot posted twice');
  });
});
