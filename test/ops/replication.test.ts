// Store replication between replicas: Store.replaceAll (shape checks, the single-writer queue, atomic
// write), StoreReplicator pulling over real HTTP from a leader's ops server, and the start-up refusals
// when leader election lacks the peer secret or an address.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { STORE_SCHEMA_VERSION, Store, StoreError } from '../../src/adapters/store.ts';
import { createBot } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logger.ts';
import { Health } from '../../src/ops/health.ts';
import { PeerError } from '../../src/ops/peer.ts';
import { StoreReplicator } from '../../src/ops/replicate.ts';
import { startOpsServer, type OpsServer } from '../../src/ops/server.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';

const SECRET = 'replication-test-secret-0123456789';
const silent = createLogger('silent');
let dir: string;
let n = 0;
const openStore = () => Store.open(join(dir, `s${++n}`, 'store.json'));
const onDisk = async (s: Store) => JSON.parse(await readFile(s.file, 'utf8')) as unknown;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archshift-replication-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('Store.replaceAll', () => {
  test('replaces every section, on disk too; snapshot is a copy', async () => {
    const store = await openStore();
    await store.section('old', () => ({ v: 0 })).update((d) => void (d.v = 1));
    const data = { schemaVersion: STORE_SCHEMA_VERSION, sections: { audit: { entries: [{ actor: 'U1' }] } } };
    await store.replaceAll(data);
    assert.deepEqual(store.section('audit', () => ({ entries: [] })).get(), { entries: [{ actor: 'U1' }] });
    assert.deepEqual(store.section('old', () => 'absent').get(), 'absent');
    assert.deepEqual(await onDisk(store), data);
    data.sections.audit.entries.push({ actor: 'U2' });
    const snap = await store.snapshot();
    assert.deepEqual(snap.sections.audit, { entries: [{ actor: 'U1' }] }, 'the caller’s object is not aliased');
    (snap.sections.audit as { entries: unknown[] }).entries.length = 0;
    assert.equal((await store.snapshot()).sections.audit !== undefined, true);
    assert.deepEqual((await store.snapshot()).sections.audit, { entries: [{ actor: 'U1' }] });
  });

  test('refuses what is not a store, or a newer schema, and changes nothing', async () => {
    const store = await openStore();
    await store.section('keep', () => ({ v: 0 })).update((d) => void (d.v = 7));
    const before = await onDisk(store);
    for (const bad of [null, [], 'x', { sections: {} }, { schemaVersion: 1 }, { schemaVersion: 1, sections: [] }, { schemaVersion: '1', sections: {} }]) {
      await assert.rejects(store.replaceAll(bad), (err: Error) => err instanceof StoreError && /does not look like an archshift store/.test(err.message), JSON.stringify(bad));
    }
    await assert.rejects(store.replaceAll({ schemaVersion: 99, sections: {} }), /schema version 99, newer than this archshift/);
    assert.equal(store.section('keep', () => ({ v: 0 })).get().v, 7);
    assert.deepEqual(await onDisk(store), before);
  });

  test('goes through the same queue as section updates: a running update finishes first', async () => {
    const store = await openStore();
    const s = store.section('s', () => ({ v: 0 }));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = s.update(async (d) => {
      await gate;
      d.v = 1;
    });
    const replaced = store.replaceAll({ schemaVersion: 1, sections: { s: { v: 2 } } });
    release();
    await Promise.all([slow, replaced]);
    assert.equal(s.get().v, 2, 'the replacement came after the update it queued behind');
    assert.deepEqual(await onDisk(store), { schemaVersion: 1, sections: { s: { v: 2 } } });
  });

  test('a failed write leaves memory as it was', async () => {
    const store = await openStore();
    const s = store.section('s', () => ({ v: 0 }));
    await s.update((d) => void (d.v = 1));
    // The file's path becomes a directory: the atomic rename over it fails.
    await rm(store.file);
    await mkdir(store.file);
    await assert.rejects(store.replaceAll({ schemaVersion: 1, sections: { s: { v: 2 } } }), /cannot write store file/);
    assert.equal(s.get().v, 1);
  });
});

describe('StoreReplicator over HTTP', () => {
  let leaderStore: Store;
  let server: OpsServer;
  let leading = true;
  const replicator = (store: Store, o: { secret?: string; isLeader?: boolean } = {}) =>
    new StoreReplicator({ store, isLeader: () => o.isLeader ?? false, leaderUrl: () => `http://127.0.0.1:${server.port}`, secret: o.secret ?? SECRET, intervalMs: 50, timeoutMs: 2000, logger: silent });

  before(async () => {
    leaderStore = await openStore();
    server = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      health: new Health([], { cacheMs: 0, timeoutMs: 100 }),
      registry: new Registry(),
      logger: silent,
      peers: { secret: SECRET, isLeader: () => leading, acceptsWork: () => leading, onEvent: () => undefined, storeData: () => leaderStore.snapshot() },
    });
  });
  after(() => server.close());

  test('copies the leader store, then finds nothing to do until it changes', async () => {
    await leaderStore.section('prs', () => ({ n: 0 })).update((d) => void (d.n = 1));
    const follower = await openStore();
    const r = replicator(follower);
    assert.equal(await r.pull(), 'copied');
    assert.deepEqual(await follower.snapshot(), await leaderStore.snapshot());
    assert.equal(await r.pull(), 'unchanged');
    await leaderStore.section('prs', () => ({ n: 0 })).update((d) => void (d.n = 2));
    assert.equal(await r.pull(), 'copied');
    assert.equal(follower.section('prs', () => ({ n: 0 })).get().n, 2);
    assert.deepEqual(await onDisk(follower), await leaderStore.snapshot());
  });

  test('the timer keeps the follower in step, and stop() leaves no timer behind', async () => {
    const follower = await openStore();
    const r = replicator(follower);
    r.start();
    await leaderStore.section('prs', () => ({ n: 0 })).update((d) => void (d.n = 3));
    const start = Date.now();
    while (follower.section('prs', () => ({ n: 0 })).get().n !== 3) {
      assert.ok(Date.now() - start < 3000, 'replicated within 3 s');
      await new Promise((res) => setTimeout(res, 20));
    }
    await r.stop();
  });

  test('the leader never copies; a wrong secret gets 401; a replica that no longer leads answers 409', async () => {
    const follower = await openStore();
    assert.equal(await replicator(follower, { isLeader: true }).pull(), 'skipped');
    await assert.rejects(replicator(follower, { secret: 'not-the-shared-secret' }).pull(), (err: Error) => err instanceof PeerError && /HTTP 401/.test(err.message));
    leading = false;
    try {
      await assert.rejects(replicator(follower).pull(), /HTTP 409/);
    } finally {
      leading = true;
    }
    assert.deepEqual((await follower.snapshot()).sections, {}, 'nothing copied');
  });

  test('an empty leader store does not wipe a replica that has data', async () => {
    const emptyLeader = leaderStore;
    leaderStore = await openStore();
    try {
      const follower = await openStore();
      await follower.section('audit', () => ({ entries: [] as string[] })).update((d) => void d.entries.push('kept'));
      assert.equal(await replicator(follower).pull(), 'skipped');
      assert.deepEqual(follower.section('audit', () => ({ entries: [] as string[] })).get().entries, ['kept']);
    } finally {
      leaderStore = emptyLeader;
    }
  });
});

describe('start-up with leader election', () => {
  let kube: FakeKubeApi;
  let slack: FakeSlackApi;
  before(async () => {
    kube = await new FakeKubeApi().start();
    slack = await new FakeSlackApi().start();
  });
  after(async () => {
    await slack.stop();
    await kube.stop();
  });
  const start = (server: Record<string, unknown>, peerSecret?: string) =>
    createBot(
      parseConfig({
        slack: { mode: 'http', apiUrl: slack.apiUrl, retries: 0 },
        store: { file: join(dir, `boot${++n}`, 'store.json') },
        server: { port: 0, leaderElection: { enabled: true }, ...server },
      }),
      { logger: silent, kubeConfig: kube.kubeConfig(), secrets: { slackBotToken: 'xoxb-test', slackSigningSecret: 's', peerSecret } },
    );

  test('refuses to start without ARCHSHIFT_PEER_SECRET, or with a short one, saying how to set it', async () => {
    await assert.rejects(start({ advertiseHost: '127.0.0.1' }), /needs ARCHSHIFT_PEER_SECRET .*openssl rand -hex 32/s);
    await assert.rejects(start({ advertiseHost: '127.0.0.1' }, 'short'), /at least 16 characters/);
  });

  test('refuses to start without an address to publish', async (t) => {
    const podIp = process.env.POD_IP;
    delete process.env.POD_IP;
    t.after(() => {
      if (podIp !== undefined) process.env.POD_IP = podIp;
    });
    await assert.rejects(start({}, SECRET), /set server\.advertiseHost, or POD_IP/);
  });
});
