// The ops server of a started bot: liveness, readiness against the fakes, and the Prometheus exposition.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBot, type TestBot, catalogDefaults } from '../fakes/bot.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';

const catalog = {
  defaults: catalogDefaults,
  services: { payments: { team: 'S0PAY' } },
};

async function readyz(
  t: TestBot,
): Promise<{ status: number; body: { ready: boolean; checks: Record<string, { ok: boolean; error?: string }> } }> {
  const res = await fetch(`${t.opsUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

describe('ops server', () => {
  let kube: FakeKubeApi;
  let t: TestBot;
  before(async () => {
    kube = await new FakeKubeApi().start();
    t = await startTestBot({ catalog, server: { probeCacheSeconds: 0, probeTimeoutMs: 500 } }, { kubeConfig: kube.kubeConfig() });
  });
  after(async () => {
    await t.stop();
    await kube.stop();
  });

  test('healthz answers; readyz is ready when Slack, the store and the cluster answer', async () => {
    const live = await fetch(`${t.opsUrl}/healthz`);
    assert.equal(live.status, 200);
    const r = await readyz(t);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body.checks).sort(), ['cluster:fake', 'slack', 'store']);
    assert.ok(Object.values(r.body.checks).every((c) => c.ok));
    assert.ok(t.slack.callsTo('auth.test').length > 0, 'the Slack probe called auth.test');
  });

  test('readyz goes 503 naming Slack when auth.test fails, and recovers', async () => {
    t.slack.fail('auth.test', { error: 'invalid_auth' });
    const r = await readyz(t);
    assert.equal(r.status, 503);
    assert.equal(r.body.checks.slack.ok, false);
    assert.match(r.body.checks.slack.error!, /invalid_auth/);
    assert.equal(r.body.checks.store.ok, true);
    assert.equal((await readyz(t)).status, 200);
  });

  test('API server down: readyz 503 for the cluster only, liveness stays up, commands still answer', async () => {
    kube.fail({ path: /./, status: 503, times: 1000 });
    try {
      const r = await readyz(t);
      assert.equal(r.status, 503);
      assert.equal(r.body.checks['cluster:fake'].ok, false);
      assert.equal(r.body.checks.slack.ok, true);
      assert.equal((await fetch(`${t.opsUrl}/healthz`)).status, 200);
      const n = t.slack.responses.length;
      await t.command('services');
      await t.slack.waitFor(() => t.slack.responses.length > n);
      assert.match(String(t.slack.responses.at(-1)!.text), /payments/);
    } finally {
      kube.clearFaults();
    }
    assert.equal((await readyz(t)).status, 200);
  });

  test('/metrics exposes the named metrics, and a command moves its counter and histogram', async () => {
    const scrape = async () => await (await fetch(`${t.opsUrl}/metrics`)).text();
    const line = (text: string, prefix: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(prefix))
          ?.split(' ')
          .at(-1) ?? 0,
      );
    const before = await scrape();
    for (const name of [
      'archshift_commands_total',
      'archshift_command_duration_seconds',
      'archshift_registry_requests_total',
      'archshift_registry_cache_hits_total',
      'archshift_github_requests_total',
      'archshift_prs_opened_total',
      'archshift_canaries',
      'archshift_digest_runs_total',
      'archshift_audit_events_total',
      'archshift_leader',
      'archshift_dependency_up',
      'archshift_process_resident_memory_bytes',
    ]) {
      assert.match(before, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    const n = t.slack.responses.length;
    await t.command('services');
    await t.slack.waitFor(() => t.slack.responses.length > n);
    await new Promise((r) => setTimeout(r, 50));
    const afterText = await scrape();
    const ok = 'archshift_commands_total{subcommand="services",outcome="ok"}';
    assert.equal(line(afterText, ok), line(before, ok) + 1);
    const count = 'archshift_command_duration_seconds_count{subcommand="services"}';
    assert.equal(line(afterText, count), line(before, count) + 1);
    assert.match(afterText, /archshift_dependency_up\{dependency="slack"\} 1/);
    // A single replica without leader election is the leader.
    assert.equal((await fetch(`${t.opsUrl}/nope`)).status, 404);
    assert.equal((await fetch(`${t.opsUrl}/metrics`, { method: 'POST' })).status, 405);
  });

  test('no secret reaches the exposition', async () => {
    const text = await (await fetch(`${t.opsUrl}/metrics`)).text();
    assert.doesNotMatch(text, /xoxb-|test-signing-secret|test-token/);
  });
});

describe('shutdown', () => {
  test('stop() turns readiness red first, then closes the ops server', async () => {
    const t = await startTestBot({ catalog, server: { probeCacheSeconds: 0 } });
    assert.equal((await readyz(t)).status, 200);
    t.bot.ops.beginShutdown();
    const r = await readyz(t);
    assert.equal(r.status, 503);
    assert.equal(r.body.checks.shutdown.ok, false);
    await t.stop();
    await assert.rejects(fetch(`${t.opsUrl}/healthz`));
  });
});
