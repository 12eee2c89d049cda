import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts';
import { Catalog, IncompleteServiceError, UnknownServiceError } from '../../src/config/catalog.ts';
import { requireSlackSecrets } from '../../src/config/secrets.ts';

test('an invalid config names the key, the value and what was expected', () => {
  assert.throws(
    () => parseConfig({ slack: { mode: 'carrier-pigeon' }, registry: { concurrency: 0 }, bogus: 1 }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /slack\.mode: got "carrier-pigeon", expected one of "socket"\|"http"/.test(e.message) &&
      /registry\.concurrency: got 0, expected/.test(e.message) &&
      /unknown key "bogus"/.test(e.message),
  );
});

test('the example config documents valid keys', async () => {
  const config = await loadConfig('archshift.example.yml');
  assert.ok(config.catalog.defaults.repo);
});

test('unreadable and non-YAML files are clear errors; no file at the default path means defaults', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'archshift-config-'));
  await assert.rejects(loadConfig(join(dir, 'missing.yml')), /cannot read config file .*no such file/);
  await writeFile(join(dir, 'bad.yml'), 'slack: [unclosed');
  await assert.rejects(loadConfig(join(dir, 'bad.yml')), /not valid YAML at line 1/);
  await writeFile(join(dir, 'list.yml'), '- a\n- b\n');
  await assert.rejects(loadConfig(join(dir, 'list.yml')), /must be a YAML mapping/);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    assert.equal((await loadConfig()).slack.mode, 'socket');
  } finally {
    process.chdir(cwd);
  }
});

test('catalog: templates, overrides, discovery and clear errors', () => {
  const config = parseConfig({
    catalog: {
      defaults: {
        repo: 'acme/{service}',
        dockerfiles: ['Dockerfile'],
        image: 'reg.acme.io/{service}',
        pipeline: { repo: 'acme/cd', file: '{service}.yml' },
        manifests: { repo: 'acme/k8s', files: ['{service}/deploy.yaml'] },
      },
      services: { payments: { dockerfiles: ['build/Dockerfile'], namespace: 'pay' } },
      discovery: { enabled: true },
    },
  });
  const catalog = new Catalog(config.catalog);
  catalog.setDiscovered([
    {
      name: 'search-api',
      namespace: 'search',
      labels: { 'archshift.io/service': 'search' },
      annotations: { 'archshift.io/team': 'S0SEARCH' },
      images: ['reg.acme.io/search:1.4.2'],
    },
    { name: 'unlabelled', namespace: 'x', labels: {}, annotations: {}, images: [] },
  ]);
  assert.deepEqual(catalog.names(), ['payments', 'search']);
  const p = catalog.resolve('payments');
  assert.equal(p.repo, 'acme/payments');
  assert.deepEqual(p.dockerfiles, ['build/Dockerfile']);
  assert.equal(p.namespace, 'pay');
  assert.equal(p.deployment, 'payments');
  const s = catalog.resolve('search');
  assert.equal(s.origin, 'discovered');
  assert.equal(s.deployment, 'search-api');
  assert.equal(s.image, 'reg.acme.io/search');
  assert.equal(s.tag, '1.4.2');
  assert.equal(s.team, 'S0SEARCH');
  assert.throws(
    () => catalog.resolve('paymnts'),
    (e: unknown) => e instanceof UnknownServiceError && /did you mean "payments"/.test(e.message),
  );
  const bare = new Catalog(parseConfig({ catalog: { services: { lonely: { repo: 'acme/lonely' } } } }).catalog);
  assert.throws(
    () => bare.resolve('lonely'),
    (e: unknown) => e instanceof IncompleteServiceError && /dockerfiles/.test(e.message) && /image/.test(e.message),
  );
});

test('missing Slack secrets say exactly what to set', () => {
  const config = parseConfig({});
  assert.throws(() => requireSlackSecrets(config, {}), /SLACK_BOT_TOKEN.*\n.*SLACK_APP_TOKEN/);
  const http = parseConfig({ slack: { mode: 'http' } });
  assert.throws(() => requireSlackSecrets(http, { slackBotToken: 'xoxb-1' }), /SLACK_SIGNING_SECRET/);
  assert.throws(() => requireSlackSecrets(http, { slackBotToken: 'xoxp-user', slackSigningSecret: 's' }), /must be a bot token/);
});
