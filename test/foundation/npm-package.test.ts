// `npm pack`, then `npm install -g ./archshift-*.tgz` into a temp prefix: the installed `archshift`
// runs the compiled JavaScript (no src/, no tsx or esbuild installed, so no TypeScript loader can run).
// The pack runs in a copy of the worktree (its prepack build writes dist/ there, not here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('npm pack + npm install -g gives a working archshift running compiled JavaScript', { timeout: 600_000 }, async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'archshift-pack-'));
  try {
    const copy = join(tmp, 'src');
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter(Boolean);
    for (const f of files) {
      if (!existsSync(join(root, f))) continue; // deleted in the worktree, not yet committed
      await mkdir(dirname(join(copy, f)), { recursive: true });
      await cp(join(root, f), join(copy, f));
    }
    await symlink(join(root, 'node_modules'), join(copy, 'node_modules'));
    const npm = (args: string[], cwd: string) =>
      execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
        cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    npm(['pack', '--pack-destination', tmp], copy);
    const tarball = (await readdir(tmp)).find((f) => /^archshift-.*\.tgz$/.test(f));
    assert.ok(tarball, 'npm pack wrote archshift-<version>.tgz');
    const prefix = join(tmp, 'prefix');
    npm(['install', '-g', '--prefix', prefix, '--prefer-offline', join(tmp, tarball)], tmp);

    const installed = join(prefix, 'lib', 'node_modules', 'archshift');
    assert.ok(!existsSync(join(installed, 'src')), 'no TypeScript sources are installed');
    for (const loader of ['tsx', 'esbuild', 'typescript'])
      assert.ok(!existsSync(join(installed, 'node_modules', loader)), `${loader} is not installed`);
    assert.ok(existsSync(join(installed, 'dist', 'src', 'readiness', 'knowledge', 'jvm.yml')), 'the knowledge base ships with the build');

    const bin = join(prefix, 'bin', 'archshift');
    const env = { ...process.env, NODE_OPTIONS: '' };
    const run = (...args: string[]) => spawnSync(bin, args, { cwd: tmp, env, encoding: 'utf8', timeout: 120_000 });
    const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    assert.equal(run('--version').stdout.trim(), version);
    const check = run('check', join(root, 'test', 'fixtures', 'services', 'legacy-billing'), '--json');
    assert.equal(check.status, 1, check.stderr);
    const report = JSON.parse(check.stdout) as { schemaVersion: number; verdict: string };
    assert.equal(report.schemaVersion, 1);
    assert.equal(report.verdict, 'blocked');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
