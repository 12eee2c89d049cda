// kill -9 in the middle of store writes: on the next start the file opens and holds one whole state,
// the last one reported written or the one being written when the process died.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../../src/adapters/store.ts';

const child = fileURLToPath(new URL('./store-writer-child.ts', import.meta.url));
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archshift-kill-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Starts the writer, SIGKILLs it after `afterWrites` completed writes plus a random delay; returns the last completed generation. */
function runAndKill(file: string, afterWrites: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      env: { ...process.env, STORE_FILE: file },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let last = 0;
    let seen = 0;
    let buf = '';
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        last = Number(l);
        // Kill at a random moment inside a later write, not on a write boundary.
        if (++seen === afterWrites) setTimeout(() => proc.kill('SIGKILL'), Math.random() * 15);
      }
    });
    proc.once('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve(last) : reject(new Error(`writer exited without being killed (${signal})`)),
    );
  });
}

test('SIGKILL during store writes never leaves a torn file: it holds the old or the new state', { timeout: 120_000 }, async () => {
  const file = join(dir, 'store.json');
  let previous = 0;
  for (let round = 0; round < 8; round++) {
    const lastReported = await runAndKill(file, 2 + round);
    const store = await Store.open(file);
    const data = store
      .section<{ generation: number; rows: Array<{ generation: number }> }>('load', () => ({ generation: 0, rows: [] }))
      .get();
    // The write reported done is on disk; at most one more (in flight when killed) may have landed.
    assert.ok(
      data.generation === lastReported || data.generation === lastReported + 1,
      `round ${round}: generation ${data.generation}, last reported ${lastReported}`,
    );
    assert.ok(data.generation > previous, 'each round starts from the state the last one left');
    assert.equal(data.rows.length, 5000);
    assert.ok(
      data.rows.every((r) => r.generation === data.generation),
      'no row from another generation',
    );
    previous = data.generation;
    await store.close(); // releases the store's lock for the next writer
  }
});
