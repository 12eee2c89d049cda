// HA against the Kubernetes API double: replicas are separate processes, so "kill" is a real SIGKILL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { until } from '../fakes/until.ts';

const LEASE_MS = 2000;
const RETRY_MS = 200;
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
      env: { ...process.env, IDENTITY: id, KUBE_URL: kube.url, SLACK_URL: slack.apiUrl, LEASE_MS: String(LEASE_MS), RENEW_MS: '1200', RETRY_MS: String(RETRY_MS), SLOT_MS: '300' },
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

  const holder = () => (kube.get('/apis/coordination.k8s.io/v1/namespaces/archshift/leases', 'archshift-leader')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
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
    // Let both campaign for a few lease periods: leadership must stay with one.
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      samples.push([a, b].filter((r) => r.leading).length);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...new Set(samples)], [1], 'always exactly one leader');
    const leader = a.leading ? a : b;
    const follower = leader === a ? b : a;
    assert.equal(holder(), leader.id);
    await until(() => posts().length >= 2, 5000, 'digests from the leader');

    const killedAt = Date.now();
    leader.proc.kill('SIGKILL');
    await leader.exited;
    await until(() => follower.leading, 5000, 'the follower to take over');
    const takeover = Date.now() - killedAt;
    // client-go semantics: expiry is measured on the follower's clock from the last renewal it saw.
    assert.ok(takeover < LEASE_MS + 4 * RETRY_MS + 300, `took over after ${takeover} ms`);
    assert.equal(holder(), follower.id);
    const before = posts().length;
    await until(() => posts().length >= before + 2, 5000, 'digests from the new leader');

    const texts = posts();
    const slots = texts.map((t) => t.split(' by ')[0]);
    assert.equal(new Set(slots).size, slots.length, `a slot was posted twice: ${texts.join(', ')}`);
    // Counted where Slack received them: a replica killed right after a post never prints it.
    const postedBy = (r: Replica) => texts.filter((t) => t.endsWith(` by ${r.id}`)).length;
    assert.ok(postedBy(leader) >= 2 && postedBy(follower) >= 2, `posts: ${texts.join(', ')}`);
  });

  test('SIGTERM releases the Lease: a waiting replica takes over well before the lease would expire', async () => {
    const leader = replicas.find((r) => r.leading)!;
    const c = startReplica('replica-c');
    await new Promise((r) => setTimeout(r, 1500)); // c starts, campaigns and sees a live leader
    assert.equal(holder(), leader.id);
    assert.equal(c.leading, false);
    const termAt = Date.now();
    leader.proc.kill('SIGTERM');
    await leader.exited;
    assert.ok(leader.events.some((e) => e.stopped), 'the leader stopped cleanly');
    await until(() => c.leading, 3000, 'replica c to lead');
    assert.ok(Date.now() - termAt < LEASE_MS, `took ${Date.now() - termAt} ms after release`);
    const slots = posts().map((t) => t.split(' by ')[0]);
    assert.equal(new Set(slots).size, slots.length, 'no slot posted twice');
  });
});
