// `archshift store copy` from a lowdb installation to a real PostgreSQL: everything arrives (sections,
// registry cache, every audit entry, not only the newest kept at hand), a bot opening the database
// sees the same state, and a database that already holds data, or a file a bot still holds, is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, Store } from '../../src/adapters/store.ts';
import { runCli } from '../../src/cli.ts';
import { storeConfigSchema } from '../../src/config/store-config.ts';
import { PostgresServer } from '../fakes/postgres.ts';

let pgs: PostgresServer;
let dir: string;
before(async () => {
  pgs = await PostgresServer.start();
  dir = await mkdtemp(join(tmpdir(), 'archshift-copy-'));
});
after(async () => {
  await pgs.stop();
  await rm(dir, { recursive: true, force: true });
});

const cli = async (...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
};

test('copies an installation with its history, PR records, canaries, cache and whole audit log', async () => {
  const file = join(dir, 'archshift.json');
  const src = await Store.open(file, 'exclusive', { auditLimit: 100 });
  await src
    .section<Record<string, unknown>>('canaries', () => ({}))
    .update((d) => {
      d.payments = { phase: 'progressing', weight: 25, pending: { weight: 50, stepIndex: 2 } };
    });
  await src
    .section<{ services: Record<string, unknown> }>('prs', () => ({ services: {} }))
    .update((d) => {
      d.services.payments = { base: { number: 7, state: 'open' }, selectors: { number: 8, state: 'merged' } };
    });
  await src
    .section<{ version: 1; clusters: Record<string, unknown> }>('history', () => ({ version: 1, clusters: {} }))
    .update((d) => {
      d.clusters.prod = { points: [{ day: '2026-11-30', pods: { total: 10, arm64: 4 } }] };
    });
  await src.section<{ lastSlot?: string }>('digest', () => ({})).update((d) => void (d.lastSlot = '2026-12-01T09:00:00.000Z'));
  await src
    .table('registry-cache')
    .put(Array.from({ length: 300 }, (_, i) => [`r.io/a@sha256:${i}`, { platforms: [{ os: 'linux', architecture: 'arm64' }] }]));
  for (let i = 0; i < 150; i++)
    await src.audit.append({
      at: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(),
      actor: `U${i % 3}`,
      action: 'pr.open',
      service: 'payments',
      result: 'ok',
    });
  await src.close();

  const url = await pgs.database();
  const r = await cli('store', 'copy', '--from', file, '--to', url);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /sections canaries, digest, history, prs; 300 registry-cache, 150 audit entries\. Checked by reading it back/);

  const moved = await openStore(storeConfigSchema.parse({ driver: 'postgres', postgres: { url } }), { auditLimit: 1000 });
  try {
    assert.deepEqual(moved.section('canaries', () => ({})).get(), {
      payments: { phase: 'progressing', weight: 25, pending: { weight: 50, stepIndex: 2 } },
    });
    assert.equal(
      moved.section<{ services: Record<string, Record<string, { number: number }>> }>('prs', () => ({ services: {} })).get().services
        .payments.selectors.number,
      8,
    );
    assert.deepEqual(moved.section<{ lastSlot?: string }>('digest', () => ({})).get().lastSlot, '2026-12-01T09:00:00.000Z');
    assert.equal(moved.table('registry-cache').size, 300);
    assert.equal(moved.audit.recent().length, 150, 'every entry, not only the 100 kept at hand');
    assert.deepEqual(await pgs.sql(url, "SELECT count(*)::int AS n FROM audit_log WHERE actor = 'U1'"), [{ n: 50 }]);
  } finally {
    await moved.close();
  }

  const again = await cli('store', 'copy', '--from', file, '--to', url);
  assert.equal(again.code, 74);
  assert.match(again.err, /already holds archshift data.*nothing was written/);
});

test('a file a running bot holds is refused, and so are bad arguments', async () => {
  const file = join(dir, 'held.json');
  // The holder must be another process for the lock to count.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import('./src/adapters/store.ts').then(async (m) => { await m.Store.open(${JSON.stringify(file)}); console.log('held'); setInterval(() => {}, 1000); })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await once(child.stdout!, 'data');
    const r = await cli('store', 'copy', '--from', file, '--to', await pgs.database());
    assert.equal(r.code, 74);
    assert.match(r.err, /in use by another archshift/);
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal((await cli('store', 'copy', '--to', 'postgres://x@127.0.0.1:1/db')).code, 64);
  const missing = await cli('store', 'copy', '--from', join(dir, 'no-such.json'), '--to', await pgs.database());
  assert.equal(missing.code, 74);
  assert.match(missing.err, /no-such\.json does not exist/);
  assert.equal((await cli('store', 'move', '--from', file)).code, 64);
});
