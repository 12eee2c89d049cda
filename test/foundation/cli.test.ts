import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runCli } from '../../src/cli.ts';
import { cliCommands } from '../../src/cli/index.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

test('archshift help lists every terminal subcommand', async () => {
  const c = capture();
  assert.equal(await runCli(['help'], c.io), 0);
  for (const cmd of cliCommands) assert.ok(c.out.join('\n').includes(cmd.usage), cmd.name);
});

test('unknown subcommands and options are usage errors (exit 64)', async () => {
  const c = capture();
  assert.equal(await runCli(['nope'], c.io), 64);
  assert.match(c.err.join(''), /unknown subcommand "nope"/);
  const d = capture();
  assert.equal(await runCli(['services', '--colour'], d.io), 64);
  assert.match(d.err.join(''), /unknown option --colour/);
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
  assert.match(r.stdout, /Usage: archshift <subcommand>/);
});
