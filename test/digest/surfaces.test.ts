import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { runDigestCommand } from '../../src/cli/digest.ts';
import { runStatusCommand } from '../../src/cli/status.ts';
import { UsageError } from '../../src/args.ts';
import type { Deps } from '../../src/deps.ts';
import { Authorizer } from '../../src/auth/authorize.ts';
import { startHarness, type Harness } from './setup.ts';

describe('/arm64 digest and /arm64 status through the real Bolt app', () => {
  let h: Harness;
  let t: TestBot;

  before(async () => {
    h = await startHarness([{ name: 'prod-eu' }]);
    t = await startTestBot(
      { kubernetes: { contexts: ['prod-eu'] } },
      { kubeConfig: h.clusters[0]!.api.kubeConfig('prod-eu'), clock: h.clock },
    );
  });
  after(async () => {
    await t?.stop();
    await h?.stop();
  });

  test('/arm64 digest posts the digest in the channel it was typed in, chart in the thread', async () => {
    const res = await t.command('digest', { channel: 'C0MIGRATE' });
    assert.equal(res.status, 200);
    await t.slack.waitFor(() => t.slack.callsTo('files.completeUploadExternal').length > 0, 20_000);
    const post = t.slack.callsTo('chat.postMessage').find((c) => c.args.channel === 'C0MIGRATE')!;
    const blocks = post.args.blocks as { type: string; text?: { text: string } }[];
    assert.equal(blocks[0]!.text!.text, 'arm64 migration digest, 2026-11-25');
    const expected = [...h.clusters[0]!.fleet.expected.values()];
    const onArm = expected.filter((e) => e.status === 'arm64').length;
    assert.match(String(post.args.text), new RegExp(`^arm64: [\\d.]+% of workloads \\(${onArm}/${expected.length}\\)`));
    const complete = t.slack.callsTo('files.completeUploadExternal')[0]!;
    assert.equal(complete.args.channel_id, 'C0MIGRATE');
    assert.match(String(complete.args.thread_ts), /^\d+\.\d+$/, 'in the digest thread');
    assert.equal(t.slack.uploads.length, 1);
  });

  test('/arm64 digest --me answers only the person who asked, and posts nothing', async () => {
    const posts = t.slack.callsTo('chat.postMessage').length;
    const n = t.slack.responses.length;
    await t.command('digest --me');
    await t.slack.waitFor(() => t.slack.responses.length > n, 20_000);
    const reply = t.slack.responses.at(-1)!;
    assert.equal(reply.response_type, 'ephemeral');
    assert.equal((reply.blocks as { type: string }[])[0]!.type, 'header');
    assert.equal(t.slack.callsTo('chat.postMessage').length, posts);
  });

  test('/arm64 status answers with the headline numbers in one line', async () => {
    const n = t.slack.responses.length;
    await t.command('status');
    await t.slack.waitFor(() => t.slack.responses.length > n, 20_000);
    const text = String(t.slack.responses.at(-1)!.text);
    assert.match(text, /^arm64: [\d.]+% of workloads \(\d+\/\d+\), [\d.]+% of pods, [\d.]+% of CPU; ready \d+, blocked \d+, unknown \d+$/);
    assert.ok(!text.includes('\n'));
  });

  test('/arm64 digest with an unknown option is refused with its usage', async () => {
    const n = t.slack.responses.length;
    await t.command('digest --everyone');
    await t.slack.waitFor(() => t.slack.responses.length > n);
    assert.match(String(t.slack.responses.at(-1)!.text), /unknown option --everyone[\s\S]*Usage: `\/arm64 digest \[--me\]`/);
  });
});

describe('archshift digest --print and archshift status', () => {
  let h: Harness;
  let deps: Deps;
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) } };
  };

  before(async () => {
    h = await startHarness([{ name: 'prod-eu' }, { name: 'prod-us' }]);
    const d = await h.deps();
    deps = { ...d, auth: new Authorizer(d.config.auth) };
  });
  after(async () => h?.stop());

  test('--print prints the digest for a terminal; --json the full model with every workload', async () => {
    const text = io();
    assert.equal(await runDigestCommand({ positionals: [], flags: { print: true } }, text.io, async () => deps), 0);
    assert.match(text.out[0]!, /^arm64 migration digest, 2026-11-25\n\nOn arm64: [\d.]+% of workloads/);
    assert.ok(!text.out[0]!.includes('*'), 'no Slack markup in a terminal');
    const json = io();
    assert.equal(await runDigestCommand({ positionals: [], flags: { print: true, json: true } }, json.io, async () => deps), 0);
    const parsed = JSON.parse(json.out[0]!) as {
      digest: { totals: { workloads: { total: number } } };
      inventory: { clusters: { workloads: unknown[] }[] };
    };
    const total = h.clusters.reduce((n, c) => n + c.fleet.expected.size, 0);
    assert.equal(parsed.digest.totals.workloads.total, total);
    assert.equal(
      parsed.inventory.clusters.reduce((n, c) => n + c.workloads.length, 0),
      total,
    );
  });

  test('without --print it is a usage error (posting is the Slack command)', async () => {
    await assert.rejects(
      runDigestCommand({ positionals: [], flags: {} }, io().io, async () => deps),
      UsageError,
    );
  });

  test('a cluster that cannot be read makes the exit code 69 (unavailable) and is named in the output', async () => {
    await h.clusters[1]!.api.stop();
    const s = io();
    assert.equal(await runStatusCommand({ positionals: [], flags: {} }, s.io, async () => deps), 69);
    assert.match(s.out[0]!, /NOT COUNTED \(unreachable\): prod-us/);
    const d = io();
    assert.equal(await runDigestCommand({ positionals: [], flags: { print: true } }, d.io, async () => deps), 69);
    assert.match(d.out[0]!, /prod-us: UNREACHABLE, not counted/);
  });
});
