// The PostgreSQL driver against a real server (test/fakes/postgres.ts): tables with real keys, updates
// from two "replicas" (two stores with their own pools and memory) that never lose each other's writes,
// versioned migrations, the shared delivery key, and a database that goes away and comes back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, StoreError, StoreUnavailableError, type Store } from '../../src/adapters/store.ts';
import { storeConfigSchema } from '../../src/config/store-config.ts';
import { SCHEMA_VERSION } from '../../src/adapters/store/migrations.ts';
import { PostgresServer } from '../fakes/postgres.ts';

let pgs: PostgresServer;
const opened: Store[] = [];
const open = async (url: string, extra: Record<string, unknown> = {}) => {
  const s = await openStore(storeConfigSchema.parse({ driver: 'postgres', postgres: { url, connectTimeoutMs: 2000, ...extra } }));
  opened.push(s);
  return s;
};

before(async () => {
  pgs = await PostgresServer.start();
});
after(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
  await pgs.stop();
});

describe('PostgreSQL store', () => {
  test('migrations run once, are idempotent, and a newer schema is refused naming both versions', async () => {
    const url = await pgs.database();
    await Promise.all([open(url), open(url), open(url)]);
    const versions = await pgs.sql<{ version: number }>(url, 'SELECT version FROM archshift_schema ORDER BY version');
    assert.deepEqual(
      versions.map((v) => v.version),
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    await pgs.sql(url, 'INSERT INTO archshift_schema (version) VALUES ($1)', [SCHEMA_VERSION + 7]);
    await assert.rejects(
      open(url),
      (e: unknown) =>
        e instanceof StoreError &&
        e.message.includes(`schema version ${SCHEMA_VERSION + 7}`) &&
        e.message.includes(`schema version ${SCHEMA_VERSION};`) &&
        /left untouched/.test(e.message),
    );
  });

  test('what features keep becomes rows with real keys; a write touches only the rows that changed', async () => {
    const url = await pgs.database();
    const s = await open(url);
    const canaries = s.section<Record<string, { phase: string }>>('canaries', () => ({}));
    await canaries.update((d) => {
      d.payments = { phase: 'progressing' };
      d.search = { phase: 'paused' };
    });
    const prs = s.section<{ services: Record<string, Record<string, { number: number }>> }>('prs', () => ({ services: {} }));
    await prs.update((d) => {
      d.services.payments = { base: { number: 1 }, selectors: { number: 2 } };
    });
    assert.deepEqual(await pgs.sql(url, 'SELECT service, kind, record FROM pr_records ORDER BY kind'), [
      { service: 'payments', kind: 'base', record: { number: 1 } },
      { service: 'payments', kind: 'selectors', record: { number: 2 } },
    ]);
    const [before] = await pgs.sql<{ updated_at: Date }>(url, "SELECT updated_at FROM canaries WHERE service = 'search'");
    await canaries.update((d) => {
      d.payments.phase = 'promoted';
    });
    const rows = await pgs.sql<{ service: string; record: unknown; updated_at: Date }>(
      url,
      'SELECT service, record, updated_at FROM canaries ORDER BY service',
    );
    assert.deepEqual(
      rows.map((r) => [r.service, r.record]),
      [
        ['payments', { phase: 'promoted' }],
        ['search', { phase: 'paused' }],
      ],
    );
    assert.equal(rows[1].updated_at.getTime(), before.updated_at.getTime(), 'the unchanged row was not rewritten');
    await canaries.update((d) => void delete d.search);
    assert.deepEqual(
      (await pgs.sql(url, 'SELECT service FROM canaries')).map((r) => r.service),
      ['payments'],
    );
    // A reopened store reads the same value back.
    const again = await open(url);
    assert.deepEqual(again.section('canaries', () => ({})).get(), { payments: { phase: 'promoted' } });
    assert.deepEqual(again.section('prs', () => ({})).get(), { services: { payments: { base: { number: 1 }, selectors: { number: 2 } } } });
  });

  test('watches after a move are rows of move_watches (migration 2), one per watch, read back by another replica', async () => {
    const url = await pgs.database();
    const [a, b] = [await open(url), await open(url)];
    const watches = (s: Store) => s.section<Record<string, { state: string; toldAt?: string }>>('moveWatches', () => ({}));
    await Promise.all([
      watches(a).update((d) => void (d['api|canary|t1'] = { state: 'watching' })),
      watches(b).update((d) => void (d['web|selectors|acme/k8s#4'] = { state: 'watching' })),
    ]);
    await watches(a).update((d) => void (d['api|canary|t1'] = { state: 'problem', toldAt: 't2' }));
    assert.deepEqual(await pgs.sql(url, 'SELECT id, record FROM move_watches ORDER BY id'), [
      { id: 'api|canary|t1', record: { state: 'problem', toldAt: 't2' } },
      { id: 'web|selectors|acme/k8s#4', record: { state: 'watching' } },
    ]);
    await b.refresh();
    assert.equal(watches(b).get()['api|canary|t1']?.toldAt, 't2');
  });

  test("two replicas updating the same section at once never lose each other's writes", async () => {
    const url = await pgs.database();
    const [a, b] = [await open(url), await open(url)];
    const counter = (s: Store) => s.section<{ n: number; by: string[] }>('counter', () => ({ n: 0, by: [] }));
    const bump = (s: Store, who: string) =>
      counter(s).update(async (c) => {
        const seen = c.n;
        await new Promise((r) => setImmediate(r)); // a read-modify-write that interleaving would break
        c.n = seen + 1;
        c.by.push(who);
      });
    await Promise.all(Array.from({ length: 40 }, (_, i) => bump(i % 2 ? a : b, i % 2 ? 'a' : 'b')));
    await a.refresh();
    assert.equal(counter(a).get().n, 40);
    assert.equal(
      counter(a)
        .get()
        .by.filter((w) => w === 'b').length,
      20,
    );
    // Different canaries from the two replicas, at once: both kept.
    await Promise.all([
      a.section<Record<string, number>>('canaries', () => ({})).update((d) => void (d.payments = 1)),
      b.section<Record<string, number>>('canaries', () => ({})).update((d) => void (d.search = 2)),
    ]);
    await b.refresh();
    assert.deepEqual(b.section('canaries', () => ({})).get(), { payments: 1, search: 2 });
  });

  test('a throwing update changes nothing, in memory or in the database', async () => {
    const url = await pgs.database();
    const s = await open(url);
    const sec = s.section<{ v: number }>('doc', () => ({ v: 1 }));
    await sec.update((d) => void (d.v = 2));
    await assert.rejects(
      sec.update((d) => {
        d.v = 3;
        throw new Error('refused by the feature');
      }),
      /refused by the feature/,
    );
    assert.equal(sec.get().v, 2);
    assert.deepEqual(await pgs.sql(url, "SELECT doc FROM sections WHERE name = 'doc'"), [{ doc: { v: 2 } }]);
  });

  test('a retried delivery is first once across replicas; the audit log is append-only rows', async () => {
    const url = await pgs.database();
    const [a, b] = [await open(url), await open(url)];
    const answers = await Promise.all([a, b, a, b].map((s) => s.firstDelivery('/arm64:trigger-1', 60_000)));
    assert.deepEqual(answers.filter(Boolean).length, 1);
    assert.equal(await b.firstDelivery('/arm64:trigger-2', 60_000), true);
    await a.audit.append({ at: '2026-12-01T10:00:00.000Z', actor: 'U1', action: 'canary.start', service: 'payments', result: 'ok' });
    await b.audit.append({ at: '2026-12-01T10:00:01.000Z', actor: 'U2', action: 'pr.open', result: 'denied', detail: 'needs operator' });
    const rows = await pgs.sql(url, 'SELECT actor, action, service, result, detail FROM audit_log ORDER BY id');
    assert.deepEqual(rows, [
      { actor: 'U1', action: 'canary.start', service: 'payments', result: 'ok', detail: null },
      { actor: 'U2', action: 'pr.open', service: null, result: 'denied', detail: 'needs operator' },
    ]);
    const indexes = (await pgs.sql<{ indexname: string }>(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'audit_log'"))
      .map((r) => r.indexname)
      .sort();
    assert.deepEqual(indexes, ['audit_log_actor_at', 'audit_log_at', 'audit_log_pkey', 'audit_log_service_at']);
    const reopened = await open(url);
    assert.deepEqual(
      reopened.audit.recent().map((e) => e.actor),
      ['U1', 'U2'],
    );
  });

  test('keyed tables: a batch is one upsert, read back after a reopen', async () => {
    const url = await pgs.database();
    const s = await open(url);
    const t = s.table<{ platforms: string[] }>('registry-cache');
    await t.put(
      Array.from({ length: 500 }, (_, i) => [`r.io/app@sha256:${i}`, { platforms: ['linux/amd64'] }] as [string, { platforms: string[] }]),
    );
    await t.put([['r.io/app@sha256:7', { platforms: ['linux/arm64'] }]]);
    const again = await open(url);
    assert.equal(again.table('registry-cache').size, 500);
    assert.deepEqual(again.table('registry-cache').get('r.io/app@sha256:7'), { platforms: ['linux/arm64'] });
  });

  test('keyed tables: the puts of one tick are one statement of the changed rows; prune deletes only rows still as this replica saw them', async () => {
    const url = await pgs.database();
    const a = await open(url);
    const t = a.table<{ digest: string; fetchedAt: number }>('registry-cache');
    const pool = (a as unknown as { pool: { query: (...args: unknown[]) => Promise<unknown> } }).pool;
    const query = pool.query.bind(pool);
    const statements: string[] = [];
    pool.query = (...args: unknown[]) => (statements.push(String(args[0])), query(...args));
    await Promise.all(Array.from({ length: 200 }, (_, i) => t.put([[`r.io/app:${i}`, { digest: `sha256:${i}`, fetchedAt: 1 }]])));
    assert.equal(statements.length, 1);
    await t.put([['r.io/app:5', { digest: 'sha256:5', fetchedAt: 1 }]]);
    assert.equal(statements.length, 1, 'an unchanged entry is not written');
    const b = await open(url);
    await b.table('registry-cache').put([['r.io/app:6', { digest: 'sha256:6', fetchedAt: 2 }]]);
    // Replica a prunes what it holds as expired; b has just refreshed r.io/app:6, which stays.
    assert.equal(await t.prune((k, v) => v.fetchedAt < 2 && (v.digest < 'sha256:2' || k === 'r.io/app:6')), 113);
    assert.equal(statements.length, 2);
    const left = await pgs.sql<{ ref: string }>(
      url,
      "SELECT ref FROM registry_cache WHERE ref IN ('r.io/app:1', 'r.io/app:6', 'r.io/app:150')",
    );
    assert.deepEqual(left.map((r) => r.ref).sort(), ['r.io/app:6']);
  });

  test('the database going away: calls fail as "unavailable" with nothing written, and work again once it is back', async () => {
    const url = await pgs.database();
    const s = await open(url);
    const sec = s.section<{ v: number }>('doc', () => ({ v: 0 }));
    await sec.update((d) => void (d.v = 1));
    await pgs.kill();
    try {
      await assert.rejects(s.ping(), StoreUnavailableError);
      await assert.rejects(
        sec.update((d) => void (d.v = 2)),
        (e: unknown) => e instanceof StoreUnavailableError && /try again/.test((e as Error).message),
      );
      await assert.rejects(s.refresh(), StoreUnavailableError);
      assert.equal(sec.get().v, 1, 'memory keeps the committed value');
    } finally {
      await pgs.restart();
    }
    await s.ping();
    await sec.update((d) => void (d.v += 10));
    assert.deepEqual(await pgs.sql(url, "SELECT doc FROM sections WHERE name = 'doc'"), [{ doc: { v: 11 } }]);
  });
});
