import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli.ts';
import { cliCommands } from '../../src/cli/index.ts';
import { HELP_WIDTH } from '../../src/cli/help.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

let dir: string;
let config: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archshift-cli-'));
  config = join(dir, 'archshift.yml');
  await writeFile(
    config,
    `catalog:\n  defaults: { repo: "acme/{service}", image: "registry.acme.io/{service}" }\n  services:\n    payments: {}\nstore: { file: ${JSON.stringify(join(dir, 'db.json'))} }\n`,
  );
});
after(() => rm(dir, { recursive: true, force: true }));

test('archshift help lists every terminal subcommand and fits 100 columns', async () => {
  const c = capture();
  assert.equal(await runCli(['help'], c.io), 0);
  const help = c.out.join('\n');
  for (const cmd of cliCommands) assert.ok(help.replace(/\n\s+/g, ' ').includes(cmd.usage), cmd.name);
  for (const line of help.split('\n')) assert.ok(line.length <= HELP_WIDTH, `${line.length} columns: ${line}`);
  for (const code of [0, 1, 2, 64, 66, 69, 78]) assert.match(help, new RegExp(`^ *${code}  `, 'm'), `exit code ${code} is documented`);
});

test('--version prints the package version', async () => {
  const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const c = capture();
  assert.equal(await runCli(['--version'], c.io), 0);
  assert.deepEqual(c.out, [version]);
});

test('--config works before and after the subcommand', async () => {
  for (const argv of [
    ['--config', config, 'services', '--json'],
    ['services', '--json', '--config', config],
    [`--config=${config}`, 'services', '--json'],
  ]) {
    const c = capture();
    assert.equal(await runCli(argv, c.io), 0, argv.join(' '));
    assert.deepEqual(
      (JSON.parse(c.out[0]!) as { services: { name: string }[] }).services.map((s) => s.name),
      ['payments'],
      argv.join(' '),
    );
  }
  const c = capture();
  assert.equal(await runCli(['--config'], c.io), 64);
});

test('unknown subcommands and options are usage errors (exit 64)', async () => {
  const c = capture();
  assert.equal(await runCli(['nope'], c.io), 64);
  assert.match(c.err.join(''), /unknown subcommand "nope"/);
  const d = capture();
  assert.equal(await runCli(['services', '--colour'], d.io), 64);
  assert.match(d.err.join(''), /unknown option --colour/);
});

test('exit codes: 66 no such service or path, 78 bad or missing config', async () => {
  const unknown = capture();
  assert.equal(await runCli(['check', 'nope', '--config', config], unknown.io), 66);
  assert.match(unknown.err.join(''), /unknown service "nope"/);
  const path = capture();
  assert.equal(await runCli(['check', join(dir, 'no-such-dir')], path.io), 66);
  const bad = join(dir, 'bad.yml');
  await writeFile(bad, 'bogus: 1\n');
  const invalid = capture();
  assert.equal(await runCli(['services', '--config', bad], invalid.io), 78);
  assert.match(invalid.err.join(''), /unknown key "bogus"/);
  const missing = capture();
  assert.equal(await runCli(['services', '--config', join(dir, 'absent.yml')], missing.io), 78);
  const noCluster = capture();
  assert.equal(await runCli(['status', '--config', config], noCluster.io), 78, 'a digest with no cluster configured is a config problem');
});

test('every --json answer is one object with schemaVersion 1', async () => {
  const c = capture();
  assert.equal(await runCli(['services', '--json', '--config', config], c.io), 0);
  assert.equal((JSON.parse(c.out[0]!) as { schemaVersion: number }).schemaVersion, 1);
  const check = capture();
  await runCli(['check', 'test/fixtures/services/legacy-billing', '--json'], check.io);
  assert.equal((JSON.parse(check.out[0]!) as { schemaVersion: number }).schemaVersion, 1);
});

test('npm start without Slack tokens explains what to set and exits 1 without a stack trace', () => {
  const env = { ...process.env };
  for (const k of ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'ARCHSHIFT_CONFIG']) delete env[k];
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /SLACK_BOT_TOKEN/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('the bin runs the CLI', () => {
  const r = spawnSync(process.execPath, ['bin/archshift.js', 'help'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: archshift \[--config FILE\] <subcommand>/);
});
