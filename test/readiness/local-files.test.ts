// Issue 11 item 9: `archshift check <path>` reads only regular files, with a size bound. A FIFO named
// pipeline.yml or values.yaml (nobody ever writes to it) must not hang the check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPath } from '../../src/readiness/check.ts';
import { LocalFileRefused, readRegularFile } from '../../src/readiness/local-file.ts';
import { localSource, SourceError } from '../../src/readiness/sources.ts';

describe('local files that are not plain files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archshift-fifo-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY app /app\n');
    execFileSync('mkfifo', [join(dir, 'pipeline.yml'), join(dir, 'values.yaml')]);
    await writeFile(join(dir, 'big.yaml'), Buffer.alloc(3 * 1024 * 1024, 0x61));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('readRegularFile refuses a FIFO at once and a file over the bound', async () => {
    await assert.rejects(
      readRegularFile(join(dir, 'pipeline.yml'), 1024),
      (e: unknown) => e instanceof LocalFileRefused && e.reason === 'not-regular',
    );
    await assert.rejects(
      readRegularFile(join(dir, 'big.yaml'), 1024),
      (e: unknown) => e instanceof LocalFileRefused && e.reason === 'too-large',
    );
    assert.equal((await readRegularFile(join(dir, 'Dockerfile'), 1024)).toString(), 'FROM scratch\nCOPY app /app\n');
  });

  test('the local source says a FIFO is not a regular file', async () => {
    await assert.rejects(
      localSource(dir).read('pipeline.yml'),
      (e: unknown) => e instanceof SourceError && /not a regular file/.test((e as Error).message),
    );
  });

  test(
    'archshift check <path> on a checkout with FIFO pipeline.yml and values.yaml finishes, and the pipeline is unknown',
    { timeout: 60_000 },
    async () => {
      const report = await checkPath(dir);
      const text = JSON.stringify(report);
      assert.match(text, /pipeline\.yml[^"]*not a regular file/);
      assert.notEqual(report.verdict, 'ready');
    },
  );
});
