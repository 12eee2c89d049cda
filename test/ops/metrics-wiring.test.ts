// Each feature moves its own counter in the one Prometheus registry that /metrics serves: the registry
// adapter against the real registry (and a closed port), the GitHub adapter and the PR flow against the
// GitHub double, the canary controller's tick over the canary world, and the digest schedule and
// /arm64 digest over a generated fleet. Counters are process-wide, so every check compares before/after.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { slackActor } from '../../src/auth/actor.ts';
import { WebClient } from '@slack/web-api';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { SlackPoster } from '../../src/adapters/slack.ts';
import { Authorizer } from '../../src/auth/authorize.ts';
import { PHASES, type CanaryController } from '../../src/canary/controller.ts';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createDigestSchedule } from '../../commands/notify/digest-post.ts';
import { registry as metrics, registryMetrics } from '../../src/ops/metrics.ts';
import { openPrs } from '../../src/prs/open-prs.ts';
import { digest } from '../../commands/digest.ts';
import type { CommandContext, SlackReply } from '../../commands/types.ts';
import { parseArgs } from '../../src/args.ts';
import type { Deps } from '../../src/deps.ts';
import { FakeGitHub } from '../fakes/github-api.ts';
import { freePort } from '../fakes/net.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { startTestBot } from '../fakes/bot.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { startWorld, type World } from '../canary/world.ts';
import { startHarness, type Harness } from '../digest/setup.ts';
import { imagesWith, makeDeps, reportFor, seedService, seedShared } from '../prs/helpers.ts';

/** The metric's value summed over the series whose labels include `labels`. */
async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

/** Reads the given series now; `.delta()` reads them again and returns what each moved by. */
async function snapshot<K extends string>(series: Record<K, [string, Record<string, string>?]>) {
  const read = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.entries<[string, Record<string, string>?]>(series).map(async ([k, [name, labels]]) => [k, await value(name, labels)]),
      ),
    ) as Record<K, number>;
  const first = await read();
  return {
    async delta(): Promise<Record<K, number>> {
      const now = await read();
      return Object.fromEntries(Object.keys(now).map((k) => [k, now[k as K] - first[k as K]])) as Record<K, number>;
    },
  };
}

describe('registry adapter: archshift_registry_requests_total and _cache_hits_total', () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry();
    await reg.pushIndex('shop/api', '1.0', [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
  });
  after(() => reg?.stop());

  test('every request is counted by kind and status class, as stats() counts them; a cached answer is a hit', async () => {
    const client = createRegistryClient({ config: registryConfigSchema.parse({}), backoffMs: 1, metrics: registryMetrics });
    const m = await snapshot({
      all: ['archshift_registry_requests_total'],
      ping: ['archshift_registry_requests_total', { kind: 'ping', outcome: '2xx' }],
      manifestOk: ['archshift_registry_requests_total', { kind: 'manifest', outcome: '2xx' }],
      manifest4xx: ['archshift_registry_requests_total', { kind: 'manifest', outcome: '4xx' }],
      hits: ['archshift_registry_cache_hits_total'],
    });
    assert.equal((await client.inspect(`${reg.host}/shop/api:1.0`)).status, 'multi-arch-with-arm64');
    assert.equal((await client.inspect(`${reg.host}/shop/api:1.0`)).status, 'multi-arch-with-arm64');
    assert.equal((await client.inspect(`${reg.host}/shop/api:9.9`)).status, 'not-found');
    const d = await m.delta();
    const stats = client.stats();
    assert.deepEqual(d, { all: stats.requests, ping: 1, manifestOk: 1, manifest4xx: 1, hits: stats.cacheHits });
    assert.equal(stats.cacheHits, 1, 'the second look-up of 1.0 was answered from the cache');
  });

  test("the bot's registry adapter counts into them (the terminal's counts nothing and loads no prom-client)", async () => {
    const t = await startTestBot();
    try {
      const m = await snapshot({ manifestOk: ['archshift_registry_requests_total', { kind: 'manifest', outcome: '2xx' }] });
      assert.equal((await t.bot.deps.registry!.inspect(`${reg.host}/shop/api:1.0`)).status, 'multi-arch-with-arm64');
      assert.deepEqual(await m.delta(), { manifestOk: 1 });
    } finally {
      await t.stop();
    }
  });

  test('a registry that does not answer is counted as "error", once per attempt', async () => {
    const client = createRegistryClient({ config: registryConfigSchema.parse({ retries: 1 }), backoffMs: 1, metrics: registryMetrics });
    const m = await snapshot({ pingErrors: ['archshift_registry_requests_total', { kind: 'ping', outcome: 'error' }] });
    const result = await client.inspect(`127.0.0.1:${await freePort()}/shop/api:1.0`);
    assert.equal(result.status, 'error');
    assert.deepEqual(await m.delta(), { pingErrors: 2 });
  });
});

describe('GitHub adapter and PR flow: archshift_github_requests_total and archshift_prs_opened_total', () => {
  let fake: FakeGitHub;
  let deps: Deps;
  before(async () => {
    fake = await new FakeGitHub().start();
    seedService(fake, 'api');
    seedShared(fake, ['api']);
    deps = await makeDeps(fake, { registry: imagesWith(false) });
  });
  after(() => fake?.stop());

  const run = () => openPrs(deps, { service: deps.catalog.resolve('api'), report: reportFor('api'), kinds: ['pipeline'] });

  test('each attempt is counted with its method and status; an opened PR counts once, an unchanged one not', async () => {
    // One 502 on the first read of the pipelines repo: the retry plugin tries again, both are counted.
    fake.inject({ method: 'GET', path: /^\/repos\/acme\/pipelines$/, status: 502 });
    const github = deps.github!;
    const sent = github.requestCount;
    const writesBefore = fake.writes();
    const m = await snapshot({
      all: ['archshift_github_requests_total'],
      bad: ['archshift_github_requests_total', { method: 'GET', status: '502' }],
      created: ['archshift_github_requests_total', { method: 'POST', status: '201' }],
      opened: ['archshift_prs_opened_total', { kind: 'pipeline' }],
    });
    assert.equal((await run()).outcomes[0]!.status, 'opened');
    const d = await m.delta();
    assert.equal(d.all, github.requestCount - sent, 'every request sent is counted once');
    assert.equal(d.bad, 1);
    assert.equal(d.created, fake.writes() - writesBefore, 'tree, commit, ref and pull: all POSTs answered 201');
    assert.equal(d.opened, 1);

    const again = await snapshot({ opened: ['archshift_prs_opened_total'] });
    assert.equal((await run()).outcomes[0]!.status, 'unchanged');
    assert.deepEqual(await again.delta(), { opened: 0 });
  });
});

describe('canary controller: archshift_canaries{phase} after each tick', () => {
  let w: World;
  let controller: CanaryController;
  before(async () => {
    w = await startWorld();
    controller = await w.controller();
  });
  after(() => w?.stop());

  const gauge = async () =>
    Object.fromEntries(await Promise.all(PHASES.map(async (p) => [p, await value('archshift_canaries', { phase: p })])));

  test('the leader sets one series per phase from the store; a follower reports none', async () => {
    const started = await controller.start('orders', { gates: 'none' }, slackActor('U0OPER'));
    await controller.tick();
    const phase = controller.status('orders')!.phase;
    assert.equal(started.target.service, 'orders');
    assert.deepEqual(await gauge(), Object.fromEntries(PHASES.map((p) => [p, p === phase ? 1 : 0])));

    await controller.rollback('orders', slackActor('U0OPER'));
    await controller.tick();
    assert.deepEqual(await gauge(), Object.fromEntries(PHASES.map((p) => [p, p === 'rolled-back' ? 1 : 0])));

    const follower = await w.controller({ isLeader: () => false, ownerId: 'bot-2' });
    await follower.tick();
    assert.deepEqual((await metrics.getSingleMetric('archshift_canaries')!.get()).values, [], 'only the leader reports');
  });
});

describe('digest: archshift_digest_runs_total{outcome}', () => {
  let h: Harness;
  let slack: FakeSlackApi;
  let poster: SlackPoster;
  before(async () => {
    h = await startHarness([{ name: 'prod-eu' }]);
    slack = await new FakeSlackApi().start();
    poster = new SlackPoster(new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }));
  });
  after(async () => {
    await slack?.stop();
    await h?.stop();
  });

  const outcomes = () =>
    snapshot({
      posted: ['archshift_digest_runs_total', { outcome: 'posted' }],
      skipped: ['archshift_digest_runs_total', { outcome: 'skipped' }],
      failed: ['archshift_digest_runs_total', { outcome: 'failed' }],
    });

  test('scheduled runs: skipped on a follower and for a slot already posted, posted once, failed when Slack fails', async () => {
    h.clock.set('2026-11-25T09:00:00Z');
    const deps = await h.deps();
    const m = await outcomes();
    const follower = createDigestSchedule(deps, poster, () => false);
    const leader = createDigestSchedule(deps, poster);
    try {
      assert.equal(await follower.tick(), 'not-leader');
      assert.equal(await leader.tick(), 'posted');
      assert.equal(await leader.tick(), 'already-posted');
      h.clock.set('2026-11-26T09:00:00Z');
      slack.fail('chat.postMessage', { error: 'channel_not_found' });
      assert.equal(await leader.tick(), 'failed');
    } finally {
      await follower.stop();
      await leader.stop();
    }
    assert.deepEqual(await m.delta(), { posted: 1, skipped: 2, failed: 1 });
  });

  test('/arm64 digest counts its run: posted, or failed without a cluster', async () => {
    const d = await h.deps();
    const deps: Deps = { ...d, auth: new Authorizer(d.config.auth) };
    const replies: SlackReply[] = [];
    const ctx = (deps: Deps, text: string[]): CommandContext => ({
      args: parseArgs(text, ['me']),
      user: { id: 'U1' },
      channelId: 'C0DIGEST',
      respond: async (r) => void replies.push(r),
      client: new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }),
      deps,
    });
    const m = await outcomes();
    await digest.run(ctx(deps, ['--me']));
    assert.equal(replies.at(-1)!.response_type, 'ephemeral');
    await assert.rejects(digest.run(ctx({ ...deps, kube: undefined }, [])), /No Kubernetes cluster is configured/);
    assert.deepEqual(await m.delta(), { posted: 1, skipped: 0, failed: 1 });
  });
});
