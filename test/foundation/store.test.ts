import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  assert.deepEqual([...onDisk.ids].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
});

test('a throwing update changes nothing', async () => {
  const store = await Store.open(join(dir, 'throw.json'));
  const s = store.section('s', () => ({ v: 1 }));
  await s.update((d) => void (d.v = 2));
  await assert.rejects(s.update((d) => { d.v = 3; throw new Error('boom'); }), /boom/);
  assert.equal(s.get().v, 2);
});

test('a corrupt store file is refused with a clear message and left untouched', async () => {
  const file = join(dir, 'corrupt.json');
  const garbage = '{"schemaVersion":1,"sections":{"a": [1,2';
  await writeFile(file, garbage);
  await assert.rejects(Store.open(file), (e: unknown) => e instanceof StoreError && e.message.includes(file) && /not valid JSON/.test(e.message));
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
