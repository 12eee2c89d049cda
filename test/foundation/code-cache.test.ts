// The installed CLI runs its bundle through runWithCodeCache: the bundle must behave as a CommonJS module
// (require and import() from its own folder), and a missing, foreign or damaged cache only costs time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const dir = mkdtempSync(join(tmpdir(), 'archshift-code-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bundle = join(dir, 'bundle.cjs');
const cache = `${bundle}.v8cache`;
writeFileSync(join(dir, 'helper.cjs'), 'module.exports = (n) => n * 2;\n');
writeFileSync(
  bundle,
  [
    "const double = require('./helper.cjs');",
    'exports.file = __filename;',
    'exports.work = (n) => double(n) + 1;',
    "exports.later = () => __archshiftImport('node:path').then((p) => p.basename(__filename));",
  ].join('\n'),
);

const codeCache = fileURLToPath(new URL('../../src/cli/code-cache.ts', import.meta.url));

/** Each start in its own process: V8 also keeps compiled scripts in memory, which would hide the cache file. */
function start(save = false): { cache: string; file: string; work: number; later: string } {
  const script = `
    import { runWithCodeCache } from ${JSON.stringify(codeCache)};
    const run = runWithCodeCache(${JSON.stringify(bundle)}, ${JSON.stringify(cache)}, (id) => import(id));
    const b = run.exports;
    const later = await b.later();
    ${save ? 'run.save();' : ''}
    console.log(JSON.stringify({ cache: run.cache, file: b.file, work: b.work(20), later }));`;
  return JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }),
  ) as ReturnType<typeof start>;
}

test('no cache yet: the bundle runs as a CommonJS module (require from its folder, import() through the entry); save() writes one', () => {
  assert.deepEqual(start(true), { cache: 'none', file: bundle, work: 41, later: 'bundle.cjs' });
});

test('the saved cache is taken on the next start, and the bundle behaves the same', () => {
  assert.deepEqual(start(), { cache: 'used', file: bundle, work: 41, later: 'bundle.cjs' });
});

test('a damaged cache is refused by V8 and the bundle compiles from source', () => {
  writeFileSync(cache, Buffer.from('not a code cache'));
  assert.deepEqual(start(), { cache: 'rejected', file: bundle, work: 41, later: 'bundle.cjs' });
});
