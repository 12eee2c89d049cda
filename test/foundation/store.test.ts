import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { Store, StoreError } from '../../src/adapters/store.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archshift-store-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('100 concurrent updates are all kept, on disk and after reopening', async () => {
  const file = join(dir, 'concurrent.json');
  const store = await Store.open(file);
  const counter = store.section<{ n: number; ids: number[] }>('counter', () => ({ n: 0, ids: [] }));
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      counter.update(async (c) => {
        const seen = c.n;
        await new Promise((r) => setImmediate(r)); // a read-modify-write that would lose updates if interleaved
        c.n = seen + 1;
        c.ids.push(i);
      }),
    ),
  );
  assert.equal(counter.get().n, 100);
  const reopened = await Store.open(file);
  const onDisk = reopened.section<{ n: number; ids: number[] }>('counter', () => ({ n: 0, ids: [] })).get();
  assert.equal(onDisk.n, 100);
  assert.deepEqual(
    [...onDisk.ids].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test('a throwing update changes nothing', async () => {
  const store = await Store.open(join(dir, 'throw.json'));
  const s = store.section('s', () => ({ v: 1 }));
  await s.update((d) => void (d.v = 2));
  await assert.rejects(
    s.update((d) => {
      d.v = 3;
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(s.get().v, 2);
});

test('a corrupt store file is refused with a clear message and left untouched', async () => {
  const file = join(dir, 'corrupt.json');
  const garbage = '{"schemaVersion":1,"sections":{"a": [1,2';
  await writeFile(file, garbage);
  await assert.rejects(
    Store.open(file),
    (e: unknown) => e instanceof StoreError && e.message.includes(file) && /not valid JSON/.test(e.message),
  );
  assert.equal(await readFile(file, 'utf8'), garbage);
  await writeFile(file, '');
  await assert.rejects(Store.open(file), StoreError);
  assert.equal(await readFile(file, 'utf8'), '');
});

test('a store from a newer schema is refused untouched', async () => {
  const file = join(dir, 'newer.json');
  const text = JSON.stringify({ schemaVersion: 99, sections: {} });
  await writeFile(file, text);
  await assert.rejects(Store.open(file), /schema version 99/);
  assert.equal(await readFile(file, 'utf8'), text);
});

test('updates made in the same tick share one write of the JSON file', async () => {
  const store = await Store.open(join(dir, 'coalesce.json'));
  const s = store.section<{ n: number }>('s', () => ({ n: 0 }));
  const write = Low.prototype.write;
  let writes = 0;
  Low.prototype.write = function (this: Low<unknown>) {
    writes++;
    return write.call(this);
  };
  try {
    await Promise.all(Array.from({ length: 50 }, () => s.update((d) => void d.n++)));
  } finally {
    Low.prototype.write = write;
  }
  assert.equal(s.get().n, 50);
  assert.ok(writes <= 2, `${writes} writes for 50 updates`);
  await store.close();
});

test('a registry-cache write appends to its own file and leaves the JSON file alone', async () => {
  const file = join(dir, 'hot.json');
  const store = await Store.open(file);
  await store.section('canaries', () => ({})).update(() => undefined);
  const { ino, mtimeMs } = await stat(file);
  const table = store.table<{ platforms: string[] }>('registry-cache');
  await table.put(
    Array.from({ length: 10 }, (_, i) => [`r.io/a@sha256:${i}`, { platforms: ['linux/arm64'] }] as [string, { platforms: string[] }]),
  );
  await table.put([['r.io/a@sha256:3', { platforms: ['linux/amd64'] }]]);
  const after = await stat(file);
  assert.deepEqual([after.ino, after.mtimeMs], [ino, mtimeMs], 'the JSON file was not rewritten');
  assert.equal((await readFile(join(dir, 'hot.registry-cache.jsonl'), 'utf8')).trim().split('\n').length, 11);
  await store.close();
  const reopened = await Store.open(file);
  assert.equal(reopened.table('registry-cache').size, 10);
  assert.deepEqual(reopened.table('registry-cache').get('r.io/a@sha256:3'), { platforms: ['linux/amd64'] });
  await reopened.close();
});

test('keyed-table writes of one tick are one append of the changed entries; an unchanged put writes nothing; close writes what is pending', async () => {
  const file = join(dir, 'batch.json');
  const side = join(dir, 'batch.registry-cache.jsonl');
  const lines = async () => (await readFile(side, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  const store = await Store.open(file);
  const table = store.table<{ platforms: string[] }>('registry-cache');
  const appends: number[] = [];
  const journal = (store as unknown as { tables: Map<string, { journal: { append(l: unknown[]): Promise<void> } }> }).tables.get(
    'registry-cache',
  )!.journal;
  const append = journal.append.bind(journal);
  journal.append = (l) => (appends.push(l.length), append(l));
  await Promise.all(Array.from({ length: 50 }, (_, i) => table.put([[`r.io/a@sha256:${i}`, { platforms: ['linux/arm64'] }]])));
  assert.deepEqual(appends, [50], 'one write for the whole tick');
  await table.put([['r.io/a@sha256:7', { platforms: ['linux/arm64'] }]]);
  assert.deepEqual(appends, [50], 'an equal value is not written again');
  assert.equal(table.get('r.io/a@sha256:7')?.platforms[0], 'linux/arm64');
  void table.put([['r.io/a@sha256:99', { platforms: ['linux/amd64'] }]]);
  assert.equal(table.get('r.io/a@sha256:99')?.platforms[0], 'linux/amd64', 'reads see a put at once');
  await store.close();
  assert.equal(await lines(), 51, 'the pending put was written by close');
  const reopened = await Store.open(file);
  assert.equal(await reopened.table('registry-cache').prune((k) => k.endsWith(':9') || k.endsWith(':99')), 2);
  await reopened.close();
  const again = await Store.open(file);
  assert.equal(again.table('registry-cache').size, 49);
  await again.close();
});

test('a schema 1 file (registry cache and audit inside) is upgraded: both move to their own files, nothing lost', async () => {
  const file = join(dir, 'v1.json');
  const audit = [{ at: '2026-11-01T00:00:00.000Z', actor: 'U1', action: 'pr.open', result: 'ok' }];
  await writeFile(
    file,
    JSON.stringify({
      schemaVersion: 1,
      sections: {
        registryCache: {
          digests: { 'r.io/a@sha256:1': { platforms: [{ os: 'linux', architecture: 'arm64' }] } },
          tags: { 'r.io/a:1': { digest: 'sha256:1', fetchedAt: 5 } },
        },
        audit: { entries: audit },
        canaries: { payments: { phase: 'paused' } },
      },
    }),
  );
  const store = await Store.open(file);
  assert.deepEqual(store.table('registry-cache').get('r.io/a:1'), { digest: 'sha256:1', fetchedAt: 5 });
  assert.deepEqual(store.audit.recent(), audit);
  await store.close();
  const onDisk = JSON.parse(await readFile(file, 'utf8')) as { schemaVersion: number; sections: Record<string, unknown> };
  assert.equal(onDisk.schemaVersion, 2);
  assert.deepEqual(Object.keys(onDisk.sections), ['canaries']);
  const reopened = await Store.open(file);
  assert.equal(reopened.table('registry-cache').size, 2, 'the digest and the tag');
  assert.deepEqual(reopened.audit.recent(), audit, 'moved once, not again on the next open');
  await reopened.close();
});

test('a side file cut short by a crash loses only its last line; damage in the middle is refused untouched', async () => {
  const file = join(dir, 'torn.json');
  const side = join(dir, 'torn.registry-cache.jsonl');
  await writeFile(side, `${JSON.stringify(['r.io/a:1', { digest: 'sha256:1', fetchedAt: 1 }])}\n["r.io/a:2", {"dig`);
  const store = await Store.open(file);
  assert.equal(store.table('registry-cache').size, 1);
  await store.table('registry-cache').put([['r.io/a:3', { digest: 'sha256:3', fetchedAt: 3 }]]);
  await store.close();
  const reopened = await Store.open(file);
  assert.equal(reopened.table('registry-cache').size, 2, 'the next append did not glue onto the torn line');
  await reopened.close();
  const damaged = `["a", 1]\nnot json\n["b", 2]\n`;
  await writeFile(side, damaged);
  await assert.rejects(Store.open(file), (e: unknown) => e instanceof StoreError && /line 2 is not valid JSON/.test((e as Error).message));
  assert.equal(await readFile(side, 'utf8'), damaged);
});
