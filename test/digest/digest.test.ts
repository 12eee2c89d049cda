import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebClient } from '@slack/web-api';
import { SlackPoster } from '../../src/adapters/slack.ts';
import { runDigest, type DigestRun } from '../../src/digest/digest.ts';
import { createDigestSchedule, postDigest } from '../../commands/notify/digest-post.ts';
import { prsSection } from '../../src/prs/records.ts';
import { OPEN_PRS_ACTION, OPEN_READY_PRS_ACTION } from '../../src/render/pr-buttons.ts';
import { renderDigestBlocks } from '../../src/render/digest-blocks.ts';
import { pct, renderDigestText, renderStatusLine } from '../../src/render/digest-text.ts';
import type { KubeObject } from '../fakes/kube-api.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { startHarness, type ClusterUnderTest, type Harness } from './setup.ts';

type Block = { type: string; text?: { text: string }; accessory?: { action_id: string; value: string }; elements?: { text: string }[] };

/** Moves every pod of a generated workload onto a node of `arch` (as a rollout would). */
function movePods(c: ClusterUnderTest, podPrefix: string, namespace: string, arch: 'arm64' | 'amd64'): number {
  const node = c.fleet.nodes.find((n) => n.arch === arch)!.name;
  const pods = c.fleet.objects.filter(
    (o) => o.collection === `/api/v1/namespaces/${namespace}/pods` && o.obj.metadata.name.startsWith(`${podPrefix}-`),
  );
  for (const p of pods) {
    const obj = structuredClone(p.obj) as KubeObject & { spec: { nodeName: string } };
    obj.spec.nodeName = node;
    c.api.put(p.collection, obj);
  }
  return pods.length;
}

describe('daily digest from a generated fleet, posted to the fake Slack API', () => {
  let h: Harness;
  let slack: FakeSlackApi;
  let poster: SlackPoster;
  let readyKey: { namespace: string; name: string };
  const catalog = () => ({
    defaults: {
      repo: 'acme/{service}',
      dockerfiles: ['Dockerfile'],
      image: 'registry.acme.io/{service}',
      pipeline: { repo: 'acme/{service}', file: '.github/workflows/build.yml' },
      manifests: { repo: 'acme/deploy', files: ['{service}/deployment.yaml'] },
    },
    services: {
      checkout: {
        namespace: readyKey.namespace,
        deployment: readyKey.name,
        cluster: 'prod-eu',
        team: 'payments',
        channel: '#payments-arm64',
      },
    },
  });

  before(async () => {
    h = await startHarness([{ name: 'prod-eu' }, { name: 'prod-us', spec: { share: { arm64: 0.1 } } }]);
    slack = await new FakeSlackApi().start();
    poster = new SlackPoster(new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }));
    const e = [...h.clusters[0]!.fleet.expected.values()].find((x) => x.kind === 'Deployment' && x.status === 'ready')!;
    readyKey = { namespace: e.namespace, name: e.name };
  });
  after(async () => {
    await slack?.stop();
    await h?.stop();
  });

  let day1: DigestRun;

  test('day 1: the digest is posted with the headline, the ready button and the chart in its thread', async () => {
    h.clock.set('2026-11-24T09:00:00Z');
    const deps = await h.deps({ catalog: catalog(), slack: { channel: '#arm64-migration' } });
    day1 = await runDigest(deps);
    const result = await postDigest(deps, poster, day1, { teams: true });

    const expected = h.clusters.flatMap((c) => [...c.fleet.expected.values()]);
    const onArm = expected.filter((e) => e.status === 'arm64').length;
    assert.equal(day1.model.totals.workloads.total, expected.length);
    assert.equal(day1.model.totals.workloads.arm64, onArm);
    assert.equal(day1.model.totals.workloads.ready, expected.filter((e) => e.status === 'ready').length);

    const post = slack.callsTo('chat.postMessage').find((c) => c.args.channel === '#arm64-migration')!;
    const blocks = post.args.blocks as Block[];
    assert.ok(blocks.length <= 50);
    assert.equal(blocks[0]!.type, 'header');
    assert.equal(blocks[0]!.text!.text, 'arm64 migration digest, 2026-11-24');
    const all = blocks.map((b) => b.text?.text ?? b.elements?.map((e) => e.text).join(' ') ?? '').join('\n');
    assert.ok(all.includes(`*${pct(onArm / expected.length)}* of workloads (${onArm}/${expected.length})`), all.slice(0, 400));
    assert.match(all, /`[█░]{20} /, 'progress bar');
    assert.match(all, /Block arm64 node groups/);
    assert.match(all, /fluent-bit:1\.6\.10 is built for amd64 only: 2 workloads/);
    assert.match(all, /Cost \(estimates, list prices as of 2026-11-01\): amd64 capacity ≈ \$[\d,]+\/month/);
    for (const b of blocks) if (b.text) assert.ok(b.text.text.length <= 3000);

    const button = blocks.find((b) => b.accessory?.action_id === OPEN_PRS_ACTION);
    assert.equal(button?.accessory?.value, 'checkout', 'the catalog service gets the Open PRs button');
    assert.ok(day1.model.ready.some((r) => r.service === 'checkout'));
    assert.equal(day1.model.ready[0]!.service, 'checkout', 'catalog services are listed first');
    const batch = (blocks.find((b) => b.type === 'actions')?.elements ?? []) as unknown as { action_id: string; value: string }[];
    assert.deepEqual(
      batch.map((e) => [e.action_id, e.value]),
      [[OPEN_READY_PRS_ACTION, 'checkout']],
      'the batch button lists the ready services needing PRs',
    );

    assert.equal(post.args.text, renderStatusLine(day1.model), 'notification text is the one-line status');
    assert.ok(result.chartUploaded);
    assert.equal(slack.uploads.length, 1);
    assert.deepEqual([...slack.uploads[0]!.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG was uploaded');
    const complete = slack.callsTo('files.completeUploadExternal')[0]!;
    assert.equal(complete.args.channel_id, result.main.channel);
    assert.equal(complete.args.thread_ts, result.main.ts);
  });

  test('day 1: a team named in the catalog gets its own digest in its channel', async () => {
    const teamPost = slack.callsTo('chat.postMessage').find((c) => c.args.channel === '#payments-arm64');
    assert.ok(teamPost, 'team digest posted');
    const team = day1.teams.find((t) => t.team === 'payments')!;
    assert.equal(team.model.totals.workloads.total, 1);
    assert.equal((teamPost.args.blocks as Block[])[0]!.text!.text, 'arm64 migration digest for team payments, 2026-11-24');
  });

  test('day 2, after a restart: moved and regressed workloads, trend vs yesterday, open PRs', async () => {
    const eu = h.clusters[0]!;
    const regress = [...eu.fleet.expected.values()].find((e) => e.kind === 'Deployment' && e.status === 'arm64')!;
    assert.ok(movePods(eu, `${readyKey.name}-7d9f8`, readyKey.namespace, 'arm64') > 0);
    assert.ok(movePods(eu, `${regress.name}-7d9f8`, regress.namespace, 'amd64') > 0);
    h.clock.set('2026-11-25T09:00:00Z');
    const deps = await h.deps({ catalog: catalog() }, { reopen: true });
    await prsSection(deps.store).update((d) => {
      d.services.checkout = {
        base: {
          kind: 'base',
          repo: 'acme/checkout',
          branch: 'archshift/arm64-base',
          number: 12,
          url: 'https://github.example/acme/checkout/pull/12',
          state: 'open',
          draft: false,
          headSha: 'abc',
          updatedAt: '2026-11-24T10:00:00Z',
        },
        deps: {
          kind: 'deps',
          repo: 'acme/checkout',
          branch: 'archshift/arm64-deps',
          number: 11,
          url: 'https://github.example/acme/checkout/pull/11',
          state: 'merged',
          draft: false,
          headSha: 'def',
          updatedAt: '2026-11-24T10:00:00Z',
        },
      };
    });
    const day2 = await runDigest(deps);
    const m = day2.model;
    assert.deepEqual(m.changes.migrated, [`prod-eu: ${readyKey.namespace}/Deployment/${readyKey.name}`]);
    assert.deepEqual(m.changes.regressed, [`prod-eu: ${regress.namespace}/Deployment/${regress.name}`]);
    assert.equal(m.changes.since, '2026-11-24');
    assert.equal(m.trend.yesterday?.day, '2026-11-24');
    assert.equal(m.trend.yesterday?.workloads, day1.model.shares.workloads);
    assert.deepEqual(
      m.series.map((p) => p.day),
      ['2026-11-24', '2026-11-25'],
    );
    assert.deepEqual(
      m.prs.map((p) => p.number),
      [12],
      'only the open PR',
    );
    assert.ok(!renderDigestBlocks(m).some((b) => b.type === 'actions'), 'no ready service needs PRs: no batch button');
    const text = renderDigestText(m);
    assert.match(text, /Since 2026-11-24: 1 moved to arm64 \(prod-eu: .*\); 1 went back to amd64/);
    assert.match(text, /vs yesterday [+-]\d+\.\d pts/);
    assert.match(text, /PRs open \(1\): checkout #12 \(base\) \(https:\/\/github\.example/);
  });

  test('a second run the same day replaces the point and still compares with yesterday', async () => {
    const deps = await h.deps({ catalog: catalog() });
    const again = await runDigest(deps);
    assert.equal(again.model.series.length, 2);
    assert.equal(again.model.changes.since, '2026-11-24');
    assert.equal(again.model.changes.migrated.length, 1);
  });

  test('the scheduled run posts the digest and the team digests once per slot', async () => {
    const deps = await h.deps({ catalog: catalog(), digest: { channel: '#arm64-daily' } });
    const schedule = createDigestSchedule(deps, poster);
    try {
      assert.equal(await schedule.tick(), 'posted');
      assert.equal(await schedule.tick(), 'already-posted');
    } finally {
      await schedule.stop();
    }
    assert.equal(slack.callsTo('chat.postMessage').filter((c) => c.args.channel === '#arm64-daily').length, 1);
    assert.equal(slack.callsTo('chat.postMessage').filter((c) => c.args.channel === '#payments-arm64').length, 2, 'day 1 and this run');
  });

  test('day 3 with one cluster unreachable: it is named, not counted as zero, and its history has a gap', async () => {
    h.clock.set('2026-11-26T09:00:00Z');
    const us = h.clusters[1]!;
    await us.api.stop();
    const deps = await h.deps({ catalog: catalog() }, { reopen: true });
    const run = await runDigest(deps);
    const line = run.model.clusters.find((c) => c.name === 'prod-us')!;
    assert.equal(line.ok, false);
    assert.equal(run.model.totals.workloads.total, h.clusters[0]!.fleet.expected.size, 'only prod-eu is counted');
    assert.match(renderDigestText(run.model), /prod-us: UNREACHABLE, not counted \(cluster prod-us: list \w+ failed/);
    assert.match(renderStatusLine(run.model), /NOT COUNTED \(unreachable\): prod-us$/);
    // The trend compares prod-eu with prod-eu's own past, not with yesterday's two-cluster total.
    assert.deepEqual(
      run.model.series.map((p) => p.day),
      ['2026-11-24', '2026-11-25', '2026-11-26'],
    );
    assert.equal(run.model.series[0]!.workloads.total, h.clusters[0]!.fleet.expected.size);
    await postDigest(deps, poster, run);
    const last = slack.callsTo('chat.postMessage').at(-1)!;
    assert.match(JSON.stringify(last.args.blocks), /prod-us\*: UNREACHABLE/);
  });
});
