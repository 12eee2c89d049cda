import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { until } from '../fakes/until.ts';
import { Store, StoreError } from '../../src/adapters/store.ts';
import { runCli } from '../../src/cli.ts';

let dir: string;
let file: string;
let holder: ChildProcess;

/** Another process (a running bot) that opens the store exclusively and keeps it. */
async function startHolder(): Promise<ChildProcess> {
  const script = join(dir, 'holder.mts');
  await writeFile(
    script,
    `import { Store } from ${JSON.stringify(resolve('src/adapters/store.ts'))};
const s = await Store.open(${JSON.stringify(file)});
await s.section('canaries', () => ({})).update((d) => { d.payments = { phase: 'running' }; });
console.log('ready');
setInterval(() => {}, 1000);`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.match(String(chunk), /ready/);
  return child;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archshift-lock-'));
  file = join(dir, 'store.json');
  holder = await startHolder();
});
after(async () => {
  holder.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

test('a second bot on the same store file is refused with who holds it', async () => {
  await assert.rejects(
    Store.open(file),
    (e: unknown) => e instanceof StoreError && e.message.includes(`pid ${holder.pid}`) && /store\.file/.test(e.message),
  );
});

test('the CLI opens a held store read-only: it reads, keeps its changes in memory, writes nothing', async () => {
  const onDisk = await readFile(file, 'utf8');
  const s = await Store.open(file, 'if-free');
  assert.equal(s.readOnly, true);
  const canaries = s.section<Record<string, unknown>>('canaries', () => ({}));
  assert.deepEqual(canaries.get(), { payments: { phase: 'running' } });
  await canaries.update((d) => void (d.search = { phase: 'running' }));
  assert.ok('search' in canaries.get());
  await s.close();
  assert.equal(await readFile(file, 'utf8'), onDisk);
});

test('state-changing terminal commands are refused while the bot holds the store', async () => {
  const config = join(dir, 'archshift.yml');
  await writeFile(config, `store: { file: ${JSON.stringify(file)} }\n`);
  const err: string[] = [];
  const code = await runCli(['canary', 'payments', 'pause', '--config', config], { out: () => undefined, err: (t) => err.push(t) });
  assert.equal(code, 77, 'EX_NOPERM: not allowed from this terminal');
  assert.match(err.join('\n'), /canary pause is not possible from this terminal: the bot \(pid \d+ on .*\) owns/);
});

test('once the holder is gone (kill -9), its lock is stale and the store opens normally', async () => {
  holder.kill('SIGKILL');
  await once(holder, 'exit');
  const s = await Store.open(file);
  assert.equal(s.readOnly, false);
  await s.section('x', () => 0).update(() => undefined);
  await s.close();
  await assert.rejects(readFile(`${file}.lock`), /ENOENT/, 'close() releases the lock');
});

test('8 processes opening the same store at the same instant: exactly one wins, with or without a stale lock', async () => {
  const child = fileURLToPath(new URL('./store-lock-child.ts', import.meta.url));
  const racers = Array.from({ length: 8 }, () =>
    spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const answers: string[] = [];
  for (const r of racers) createInterface({ input: r.stdout! }).on('line', (l) => answers.push(l));
  const dead = spawn(process.execPath, ['-e', '']);
  await once(dead, 'exit');
  try {
    for (let round = 0; round < 10; round++) {
      const f = join(dir, `race-${round}.json`);
      // Odd rounds start from a lock left by a process that is gone (kill -9 of a bot).
      if (round % 2) await writeFile(`${f}.lock`, JSON.stringify({ pid: dead.pid, host: hostname(), since: new Date().toISOString() }));
      for (const r of racers) r.stdin!.write(`open ${round} ${f}\n`);
      await until(() => answers.filter((a) => a.startsWith(`${round} `)).length === racers.length, 60_000, `round ${round} answers`);
      const got = answers.filter((a) => a.startsWith(`${round} `)).map((a) => a.split(' ').slice(1).join(' '));
      assert.deepEqual(
        got.filter((a) => a !== 'won' && a !== 'lost'),
        [],
        'no errors',
      );
      assert.equal(got.filter((a) => a === 'won').length, 1, `round ${round}: ${got.join(', ')}`);
      const lock = JSON.parse(await readFile(`${f}.lock`, 'utf8')) as { pid: number };
      assert.ok(
        racers.some((r) => r.pid === lock.pid),
        'the lock names the winner',
      );
      for (const r of racers) r.stdin!.write(`close ${round}\n`);
      await until(() => answers.filter((a) => a === `${round} closed`).length === racers.length, 60_000, `round ${round} closed`);
    }
  } finally {
    for (const r of racers) r.kill('SIGKILL');
  }
});
