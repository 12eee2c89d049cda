// Two whole bot replicas (separate processes, leader election on the Kubernetes API double): Slack work
// that reaches the follower runs on the leader, the follower copies the leader's store, peer requests
// must be signed, a dead leader gets a "between leaders" reply and nothing runs, and the follower
// takes over with the replicated store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditEntry } from '../../src/auth/audit.ts';
import { BETWEEN_LEADERS_TEXT } from '../../src/ops/forward.ts';
import { INTERNAL_EVENTS_PATH, INTERNAL_STORE_PATH, signPeerRequest, type PeerRequest } from '../../src/ops/peer.ts';

const events = (body: string): PeerRequest => ({ method: 'POST', path: INTERNAL_EVENTS_PATH, body });
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { blockActionBody, postSigned, slashCommandBody } from '../fakes/slack-request.ts';

const SIGNING_SECRET = 'ha-signing-secret';
const PEER_SECRET = 'ha-peer-secret-0123456789abcdef';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/archshift/leases';
const child = fileURLToPath(new URL('./ha-bot-child.ts', import.meta.url));
const catalog = {
  defaults: { repo: 'acme/{service}', dockerfiles: ['Dockerfile'], image: 'r.io/{service}', pipeline: { repo: 'acme/cd', file: 's/{service}.yml' }, manifests: { repo: 'acme/k8s', files: ['a/{service}.yaml'] } },
  services: { payments: { team: 'S0PAY' } },
};

interface Replica {
  id: string;
  proc: ChildProcess;
  storeFile: string;
  slackUrl: string;
  opsUrl: string;
  logs: Array<Record<string, unknown>>;
  exited: Promise<void>;
}

async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!(await pred())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HA: followers forward Slack work to the leader and copy its store', () => {
  let kube: FakeKubeApi;
  let slack: FakeSlackApi;
  let dir: string;
  const replicas: Replica[] = [];
  let leader: Replica;
  let follower: Replica;
  let ids = 0;

  async function startReplica(id: string): Promise<Replica> {
    const storeFile = join(dir, id, 'store.json');
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      env: { ...process.env, POD_NAME: id, KUBE_URL: kube.url, SLACK_API_URL: slack.apiUrl, STORE_FILE: storeFile, CATALOG: JSON.stringify(catalog), SIGNING_SECRET, ARCHSHIFT_PEER_SECRET: PEER_SECRET, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r = { id, proc, storeFile, slackUrl: '', opsUrl: '', logs: [] as Array<Record<string, unknown>>, exited: new Promise<void>((res) => proc.once('exit', () => res())) };
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        r.logs.push(line);
        if (line.started) Object.assign(r, { slackUrl: line.slackUrl, opsUrl: line.opsUrl });
      }
    });
    replicas.push(r);
    await until(() => r.slackUrl !== '', 120_000, `${id} to start`);
    return r;
  }

  const lease = () => kube.get(LEASES, 'archshift-leader') as { spec?: { holderIdentity?: string }; metadata?: { annotations?: Record<string, string> } } | undefined;
  const auditIn = async (r: Replica): Promise<AuditEntry[]> => {
    const text = await readFile(r.storeFile, 'utf8').catch(() => '{"sections":{}}');
    return ((JSON.parse(text) as { sections: { audit?: { entries: AuditEntry[] } } }).sections.audit?.entries ?? []);
  };
  const ran = (r: Replica, msg: string) => r.logs.filter((l) => l.msg === msg);
  const command = (r: Replica, text: string, user: string) => {
    const id = `ha${++ids}`;
    return { id, res: postSigned(r.slackUrl, slashCommandBody({ text, user_id: user, response_url: slack.responseUrl(id) }), { secret: SIGNING_SECRET }) };
  };
  const repliesTo = (id: string) => slack.calls.filter((c) => c.method === 'response_url' && c.responseId === id);

  before(async () => {
    kube = await new FakeKubeApi().start();
    slack = await new FakeSlackApi().start();
    dir = await mkdtemp(join(tmpdir(), 'archshift-ha-'));
    const [a, b] = await Promise.all([startReplica('archshift-0'), startReplica('archshift-1')]);
    await until(() => Boolean(lease()?.spec?.holderIdentity && lease()?.metadata?.annotations?.['archshift.io/leader-url']), 60_000, 'a leader publishing its address');
    leader = lease()!.spec!.holderIdentity === a.id ? a : b;
    follower = leader === a ? b : a;
    assert.equal(lease()!.metadata!.annotations!['archshift.io/leader-url'], leader.opsUrl, 'the leader publishes its ops address');
    await sleep(600); // the follower reads the Lease every 200 ms
  });
  after(async () => {
    for (const r of replicas) r.proc.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await slack.stop();
    await kube.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a command sent to the follower is acked there, run once on the leader, and its audit entry reaches the follower by replication', async () => {
    const { id, res } = command(follower, 'pr payments', 'U_FWD');
    assert.equal((await res).status, 200, 'the follower acknowledges at once');
    await slack.waitFor(() => repliesTo(id).length > 0, 60_000);
    assert.match(String(repliesTo(id)[0].args.text), /needs the operator role/);
    await until(async () => (await auditIn(leader)).some((e) => e.actor === 'U_FWD'), 5000, 'the audit entry in the leader store');
    const entry = (await auditIn(leader)).find((e) => e.actor === 'U_FWD')!;
    assert.deepEqual([entry.action, entry.service, entry.result], ['pr.open', 'payments', 'denied']);
    assert.equal(ran(leader, 'command').length, 1, 'the leader ran the command');
    assert.equal(ran(follower, 'command').length, 0, 'the follower ran nothing');
    assert.equal(ran(follower, 'audit pr.open denied').length, 0);
    await until(async () => (await auditIn(follower)).some((e) => e.actor === 'U_FWD'), 5000, 'the entry replicated to the follower');
    assert.deepEqual(await auditIn(follower), await auditIn(leader));
    await sleep(300);
    assert.equal(repliesTo(id).length, 1, 'answered exactly once');
  });

  test('a button click (block_actions) on the follower also runs on the leader', async () => {
    const id = `ha${++ids}`;
    const res = await postSigned(follower.slackUrl, blockActionBody({ actionId: 'open_prs', value: 'payments', user_id: 'U_CLICK', response_url: slack.responseUrl(id) }), { secret: SIGNING_SECRET });
    assert.equal(res.status, 200);
    await slack.waitFor(() => repliesTo(id).length > 0, 60_000);
    assert.match(String(repliesTo(id)[0].args.text), /needs the operator role/);
    await until(async () => (await auditIn(leader)).some((e) => e.actor === 'U_CLICK'), 5000, 'the click audited on the leader');
    assert.equal(ran(follower, 'audit pr.open denied').length, 0);
  });

  test('peer endpoints refuse unsigned, forged, stale and wrongly signed requests (401), and a follower refuses work (409)', async () => {
    const before = (await auditIn(leader)).length;
    const body = JSON.stringify(Object.fromEntries(new URLSearchParams(slashCommandBody({ text: 'pr payments', user_id: 'U_FORGED', response_url: slack.responseUrl('forged') }))));
    const post = (base: string, headers: Record<string, string>) => fetch(`${base}${INTERNAL_EVENTS_PATH}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    assert.equal((await post(leader.opsUrl, {})).status, 401, 'unsigned');
    assert.equal((await post(leader.opsUrl, signPeerRequest('some-other-secret-value', events(body)))).status, 401, 'another secret');
    const signed = signPeerRequest(PEER_SECRET, events(body));
    assert.equal((await post(leader.opsUrl, { ...signed, 'x-archshift-signature': signed['x-archshift-signature'].replace(/^./, (c) => (c === '0' ? '1' : '0')) })).status, 401, 'forged signature');
    assert.equal((await post(leader.opsUrl, signPeerRequest(PEER_SECRET, events(body), Date.now() - 61_000))).status, 401, 'older than 60 s');
    const store = await fetch(`${leader.opsUrl}${INTERNAL_STORE_PATH}`);
    assert.equal(store.status, 401, 'the store is not served without a signature');
    const replayed = await fetch(`${leader.opsUrl}${INTERNAL_STORE_PATH}`, { headers: signPeerRequest(PEER_SECRET, events(body)) });
    assert.equal(replayed.status, 401, 'a signature for /internal/events does not open /internal/store');
    assert.equal((await post(follower.opsUrl, signPeerRequest(PEER_SECRET, events(body)))).status, 409, 'only the leader accepts work');
    await sleep(500);
    assert.equal((await auditIn(leader)).length, before, 'nothing ran');
    assert.equal(repliesTo('forged').length, 0);
  });

  test('leader killed: the follower replies "between leaders" and runs nothing; after taking over it runs the next command itself, from the replicated store', async () => {
    await until(async () => (await auditIn(follower)).some((e) => e.actor === 'U_CLICK'), 5000, 'the click replicated');
    const replicated = await auditIn(follower);
    assert.deepEqual(replicated, await auditIn(leader));
    leader.proc.kill('SIGKILL');
    await leader.exited;

    // The follower still sees the dead leader's Lease (2 s) and cannot reach it.
    assert.equal(lease()!.spec!.holderIdentity, leader.id);
    const down = command(follower, 'pr payments', 'U_DOWN');
    assert.equal((await down.res).status, 200);
    await slack.waitFor(() => repliesTo(down.id).length > 0, 60_000);
    assert.equal(repliesTo(down.id)[0].args.text, BETWEEN_LEADERS_TEXT);
    assert.equal(repliesTo(down.id)[0].args.response_type, 'ephemeral');
    assert.equal(ran(follower, 'command').length, 0, 'nothing ran locally');

    await until(() => lease()?.spec?.holderIdentity === follower.id, 60_000, 'the follower to take the Lease');
    assert.equal(lease()!.metadata!.annotations!['archshift.io/leader-url'], follower.opsUrl);
    const next = command(follower, 'pr payments', 'U_NEXT');
    assert.equal((await next.res).status, 200);
    await slack.waitFor(() => repliesTo(next.id).length > 0, 60_000);
    assert.match(String(repliesTo(next.id)[0].args.text), /needs the operator role/);
    assert.equal(ran(follower, 'command').length, 1, 'the new leader ran it itself');
    await until(async () => (await auditIn(follower)).some((e) => e.actor === 'U_NEXT'), 5000, 'the new entry');
    const actors = (await auditIn(follower)).map((e) => e.actor);
    assert.deepEqual(actors, [...replicated.map((e) => e.actor), 'U_NEXT'], 'the new leader kept the replicated history and appended to it');
    assert.ok(!actors.includes('U_DOWN'));
  });

  test('SIGTERM on the leader: a follower copies its last writes before the Lease is handed over', async () => {
    const leaderNow = follower;
    const next = await startReplica('archshift-2');
    await sleep(600); // reads the Lease and the leader's address
    const { id, res } = command(next, 'pr payments', 'U_LAST');
    assert.equal((await res).status, 200);
    await slack.waitFor(() => repliesTo(id).length > 0, 60_000);
    // The audit entry was written before the reply; terminate before the next regular copy.
    leaderNow.proc.kill('SIGTERM');
    await leaderNow.exited;
    assert.equal(ran(leaderNow, 'shutdown: no follower copied the final store; the next leader starts from its last copy').length, 0);
    await until(() => lease()?.spec?.holderIdentity === next.id, 5000, 'the new replica to lead');
    const actors = (await auditIn(next)).map((e) => e.actor);
    assert.equal(actors.at(-1), 'U_LAST', `the successor has the last write: ${actors.join(', ')}`);
    assert.deepEqual(await auditIn(next), await auditIn(leaderNow));
  });
});
