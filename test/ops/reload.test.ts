// Config reload through the real bot: `/arm64 reload` over the signed HTTP receiver re-reads the file the
// bot started from, and SIGHUP does the same in a real `src/main.ts` process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { auditEntries } from '../../src/auth/audit.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { startTestBot, type TestBot, catalogDefaults } from '../fakes/bot.ts';
import { until } from '../fakes/until.ts';

type Raw = Record<string, Record<string, unknown>>;

const catalog = {
  defaults: catalogDefaults,
  services: { payments: { team: 'S0PAY' } },
};
const auth = { admin: { users: ['U_ADMIN'] }, operator: { users: ['U_OP', 'U_LEAD'] } };

describe('/arm64 reload', () => {
  let t: TestBot;
  before(async () => {
    t = await startTestBot({ catalog, auth }, { fromFile: true });
  });
  after(() => t.stop());

  /** Sends a command and resolves with its one reply. */
  async function ask(text: string, user: string): Promise<string> {
    const seen = t.slack.responses.length;
    const res = await t.command(text, { user });
    assert.equal(res.status, 200);
    await t.slack.waitFor(() => t.slack.responses.length > seen);
    return String(t.slack.responses[seen].text);
  }

  async function editFile(edit: (raw: Raw) => void): Promise<void> {
    const raw = parse(await readFile(t.configFile!, 'utf8')) as Raw;
    edit(raw);
    await writeFile(t.configFile!, stringify(raw));
  }

  const lastAudit = () =>
    auditEntries(t.bot.deps.store)
      .filter((e) => e.action === 'config.reload')
      .at(-1)!;

  test('with nothing edited, an admin reload applies nothing', async () => {
    const reply = await ask('reload', 'U_ADMIN');
    assert.match(reply, /reloaded .*archshift\.yml: nothing to apply\./);
    assert.doesNotMatch(reply, /restart/);
  });

  test('a viewer and an operator are refused, naming the admin role, and each refusal is audited', async () => {
    const services = () => t.bot.deps.catalog.names().join(',');
    const before = services();
    assert.match(await ask('reload', 'U_SOMEONE'), /reloading the config needs the admin role \(you have viewer\)/);
    assert.deepEqual(
      { actor: lastAudit().actor, result: lastAudit().result, detail: lastAudit().detail },
      { actor: 'U_SOMEONE', result: 'denied', detail: 'needs admin' },
    );
    await editFile((raw) => (raw.catalog.services = { ...(raw.catalog.services as object), sneaky: {} }));
    assert.match(await ask('reload', 'U_OP'), /needs the admin role \(you have operator\)/);
    assert.deepEqual({ actor: lastAudit().actor, result: lastAudit().result }, { actor: 'U_OP', result: 'denied' });
    assert.equal(services(), before, 'a refused reload read nothing');
    await editFile((raw) => delete (raw.catalog.services as Record<string, unknown>).sneaky);
  });

  test('an admin reload after editing the file adds a service to /arm64 services and changes a role', async () => {
    assert.doesNotMatch(await ask('services', 'U_OP'), /search/);
    assert.match(await ask('reload', 'U_LEAD'), /needs the admin role \(you have operator\)/);
    await editFile((raw) => {
      raw.catalog.services = { ...(raw.catalog.services as object), search: { team: 'S0SEARCH' } };
      raw.auth.admin = { users: ['U_ADMIN', 'U_LEAD'] };
    });
    const reply = await ask('reload', 'U_ADMIN');
    assert.match(reply, /^<@U_ADMIN> reloaded .*archshift\.yml: applied: auth, catalog\.$/);
    assert.deepEqual(
      { actor: lastAudit().actor, result: lastAudit().result, detail: lastAudit().detail },
      { actor: 'U_ADMIN', result: 'ok', detail: 'applied: auth, catalog' },
    );
    const services = await ask('services', 'U_OP');
    assert.match(services, /search/);
    assert.match(services, /payments/);
    // U_LEAD is an admin now: the same command that was refused runs.
    assert.match(await ask('reload', 'U_LEAD'), /reloaded .*: nothing to apply/);
    assert.equal(lastAudit().actor, 'U_LEAD');
    assert.equal(lastAudit().result, 'ok');
  });

  test('an invalid file changes nothing and the reply names the key, the value and what was expected', async () => {
    const config = t.bot.deps.config;
    const catalogBefore = t.bot.deps.catalog;
    await editFile((raw) => {
      raw.catalog.services = { ...(raw.catalog.services as object), orders: {} };
      raw.auth.admin = { users: ['U_OP'] };
      raw.digest = { ...raw.digest, topN: 99 };
    });
    const reply = await ask('reload', 'U_ADMIN');
    assert.match(
      reply,
      /Nothing was reloaded: config file .*archshift\.yml is invalid:\n {2}- digest\.topN: got 99, expected number to be <=20/,
    );
    assert.equal(t.bot.deps.config, config);
    assert.equal(t.bot.deps.catalog, catalogBefore);
    assert.doesNotMatch(await ask('services', 'U_OP'), /orders/);
    assert.match(await ask('reload', 'U_OP'), /needs the admin role/, 'roles are as they were');
    assert.equal(lastAudit().result, 'denied');
    const failed = auditEntries(t.bot.deps.store)
      .filter((e) => e.action === 'config.reload' && e.result === 'failed')
      .at(-1)!;
    assert.equal(failed.actor, 'U_ADMIN');
    assert.match(failed.detail!, /digest\.topN: got 99/);

    // A knowledge file that cannot be read is part of the config's validity too.
    await editFile((raw) => {
      delete (raw.digest as Record<string, unknown>).topN;
      raw.knowledge = { files: [join(t.dir, 'missing-knowledge.yml')] };
    });
    assert.match(await ask('reload', 'U_ADMIN'), /Nothing was reloaded: knowledge file .*missing-knowledge\.yml: cannot read it: ENOENT/);
    assert.equal(t.bot.deps.config, config);
    await editFile((raw) => {
      delete raw.knowledge;
      raw.auth.admin = { users: ['U_ADMIN', 'U_LEAD'] };
      delete (raw.catalog.services as Record<string, unknown>).orders;
    });
  });

  test('changes to sections built at start-up are reported as needing a restart and keep their running values', async () => {
    await editFile((raw) => {
      raw.registry = { tagTtlSeconds: 60 };
      raw.server = { ...raw.server, probeTimeoutMs: 900 };
      raw.digest = { ...raw.digest, topN: 7, schedule: '0 8 * * 1-5' };
    });
    const reply = await ask('reload', 'U_ADMIN');
    assert.match(reply, /: applied: digest; changed but needs a restart: digest\.schedule, registry, server\.$/);
    const { config } = t.bot.deps;
    assert.equal(config.registry.tagTtlSeconds, 3600);
    assert.equal(config.server.probeTimeoutMs, 3000);
    assert.equal(config.digest.topN, 7, 'digest content is read per run, so it applies');
    assert.equal(config.digest.schedule, '0 3 1 1 *', "the armed schedule (the test bot's) keeps running as it was");
    // Still different from what runs, so the next reload says so again.
    assert.match(await ask('reload', 'U_ADMIN'), /: nothing to apply; changed but needs a restart: digest\.schedule, registry, server\.$/);
  });
});

describe('SIGHUP', () => {
  let slack: FakeSlackApi;
  let dir: string;
  before(async () => {
    slack = await new FakeSlackApi().start();
    dir = await mkdtemp(join(tmpdir(), 'archshift-sighup-'));
  });
  after(async () => {
    await slack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test(
    're-reads the file the process was started with, audited as signal:SIGHUP; a bad file is logged and changes nothing',
    { timeout: 60_000 },
    async () => {
      const file = join(dir, 'archshift.yml');
      const raw: Raw = {
        slack: { mode: 'http', port: 0, apiUrl: slack.apiUrl, retries: 0 },
        server: { port: 0, host: '127.0.0.1' },
        store: { file: join(dir, 'store.json') },
        catalog,
      };
      await writeFile(file, stringify(raw));
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_SIGNING_SECRET: 'sighup-secret',
        LOG_LEVEL: 'info',
      };
      for (const k of ['KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'ARCHSHIFT_CONFIG', 'GITHUB_TOKEN', 'GITHUB_APP_ID']) delete env[k];
      const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
      const proc = spawn(process.execPath, ['--import', 'tsx', main, '--config', file], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      const logs: Array<Record<string, unknown>> = [];
      let buf = '';
      proc.stdout.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.startsWith('{')) logs.push(JSON.parse(line) as Record<string, unknown>);
        }
      });
      const logged = (msg: string) => logs.filter((l) => l.msg === msg);
      try {
        await until(() => logged('archshift is running').length > 0, 120_000, 'the bot to start');

        (raw.catalog.services as Record<string, unknown>).search = {};
        raw.registry = { timeoutMs: 2000 };
        await writeFile(file, stringify(raw));
        proc.kill('SIGHUP');
        await until(() => logged('config reloaded').length > 0, 10_000, 'the reload log line');
        assert.deepEqual(
          { applied: logged('config reloaded')[0].applied, needsRestart: logged('config reloaded')[0].needsRestart },
          { applied: ['catalog'], needsRestart: ['registry'] },
        );
        await until(() => logged('audit config.reload ok').length > 0, 5_000, 'the audit line');
        const entry = logged('audit config.reload ok')[0].audit as Record<string, unknown>;
        assert.deepEqual(
          { actor: entry.actor, detail: entry.detail },
          { actor: 'signal:SIGHUP', detail: 'applied: catalog; changed but needs a restart: registry' },
        );

        await writeFile(file, stringify({ ...raw, slack: { ...raw.slack, mode: 'carrier-pigeon' } }));
        proc.kill('SIGHUP');
        await until(() => logged('SIGHUP: config not reloaded').length > 0, 10_000, 'the refusal log line');
        assert.match(
          String(logged('SIGHUP: config not reloaded')[0].err),
          /Nothing was reloaded: config file .*archshift\.yml is invalid:\n {2}- slack\.mode: got "carrier-pigeon", expected one of "socket"\|"http"/,
        );
        assert.equal(logged('audit config.reload failed').length, 1);
        assert.equal(logged('config reloaded').length, 1, 'the bad file applied nothing');
      } finally {
        proc.kill('SIGTERM');
      }
      assert.equal(await exited, 0, 'SIGHUP did not disturb a clean shutdown');
    },
  );
});
