// The guard end to end: signed GitHub deliveries into the running bot's ops server (POST /github/events),
// a GitHub App against the GitHub double (checks API and PR files validated against GitHub's OpenAPI
// description), images on the real docker-registry, the Deployment from the Kubernetes API double, and
// the Slack note to the fake Slack Web API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { until } from '../fakes/until.ts';
import { INSTALLATION, sign, startGuardHarness, type GuardHarness } from './harness.ts';

describe('the PR guard through GitHub webhooks', () => {
  let h: GuardHarness;
  before(async () => {
    h = await startGuardHarness();
  });
  after(() => h?.stop());

  const posted = (channel: string) => h.bot.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === channel);

  test('a PR that moves a moved service to a base image without arm64 fails within 30 s, annotated at file:line; the team hears once', async () => {
    const pr = h.github.openPullAsHuman('acme/api', {
      branch: 'bump-alpine',
      files: { Dockerfile: `FROM ${h.registry.host}/library/alpine:3.8\nCOPY app /app\n` },
    });
    const started = Date.now();
    const res = await h.deliver('pull_request', h.pullEvent('acme/api', pr));
    assert.equal(res.status, 202);
    const run = await h.completedRun('acme/api', pr.headSha);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 30_000, `failing check after ${elapsed} ms`);
    assert.equal(run.name, 'archshift/arm64');
    assert.equal(run.conclusion, 'failure');
    assert.match(run.output.title!, /Breaks arm64 for api/);
    assert.match(run.output.summary!, /1 pods? run on arm64 nodes/);
    assert.match(run.output.summary!, /https:\/\/archshift\.example\/services\/api/);
    assert.deepEqual(
      run.annotations.map((a) => [a.path, a.start_line, a.annotation_level]),
      [['Dockerfile', 1, 'failure']],
    );
    assert.match(run.annotations[0]!.message, /Fix: /);
    await until(() => posted('#team-api').length > 0, 10_000, 'the Slack note');
    const note = posted('#team-api')[0]!;
    assert.match(String(note.args.text), /acme\/api#1/);
    assert.match(String(note.args.text), /would break arm64 for \*api\*/);

    // A re-requested check runs again (a new run on the same head), but the team is not told twice.
    const rerequest = {
      action: 'rerequested',
      check_run: {
        name: 'archshift/arm64',
        head_sha: pr.headSha,
        pull_requests: [{ number: pr.number, head: { sha: pr.headSha }, base: { sha: pr.baseSha } }],
      },
      repository: h.pullEvent('acme/api', pr).repository,
      installation: { id: Number(INSTALLATION) },
    };
    assert.equal((await h.deliver('check_run', rerequest)).status, 202);
    await h.completedRun('acme/api', pr.headSha, 2);
    await h.bot.bot.ops.inFlight.drain(30_000);
    assert.equal(posted('#team-api').length, 1);
  });

  test('a PR that introduces nothing succeeds, even though it moves lines; a service not on arm64 is neutral', async () => {
    const clean = h.github.openPullAsHuman('acme/api', {
      branch: 'comment',
      files: { Dockerfile: `# runtime\nFROM ${h.registry.host}/library/alpine:3.19\nCOPY app /app\n` },
    });
    await h.deliver('pull_request', h.pullEvent('acme/api', clean));
    assert.equal((await h.completedRun('acme/api', clean.headSha)).conclusion, 'success');
    const web = h.github.openPullAsHuman('acme/web', {
      branch: 'bump',
      files: { Dockerfile: `FROM ${h.registry.host}/library/alpine:3.8\n` },
    });
    await h.deliver('pull_request', h.pullEvent('acme/web', web));
    const run = await h.completedRun('acme/web', web.headSha);
    assert.equal(run.conclusion, 'neutral');
    assert.match(run.output.summary!, /not on arm64 yet/);
    assert.equal(run.annotations[0]?.annotation_level, 'warning');
  });

  test('only what the PR brings is blamed: the base branch moving on after the PR branched is not', async () => {
    const pr = h.github.openPullAsHuman('acme/api', { branch: 'docs', files: { 'README.md': 'docs\n' } });
    // main later breaks its own Dockerfile; the PR (branched before) does not carry that and is not blamed for it either way.
    const newBase = h.github.pushAsHuman('acme/api', 'main', { Dockerfile: `FROM ${h.registry.host}/library/alpine:3.8\n` });
    await h.deliver('pull_request', h.pullEvent('acme/api', { ...pr, baseSha: newBase }));
    const run = await h.completedRun('acme/api', pr.headSha);
    assert.equal(run.conclusion, 'success', run.output.summary ?? '');
    h.github.pushAsHuman('acme/api', 'main', { Dockerfile: `FROM ${h.registry.host}/library/alpine:3.19\nCOPY app /app\n` });
  });

  test('a PR in a repository that holds no catalog service gets no check and costs no GitHub request', async () => {
    const before = h.github.requests.length;
    const res = await h.deliver(
      'pull_request',
      h.pullEvent('acme/unrelated', { number: 7, headSha: 'a'.repeat(40), baseSha: 'b'.repeat(40) }),
    );
    assert.equal(res.status, 202);
    await h.bot.bot.ops.inFlight.drain(30_000);
    assert.equal(h.github.requests.length, before);
  });

  test('forged, unsigned, oversized, replayed and duplicate deliveries: refused or run once', async () => {
    const pr = h.github.openPullAsHuman('acme/api', {
      branch: 'dup',
      files: { Dockerfile: `FROM ${h.registry.host}/library/alpine:3.8\n` },
    });
    const payload = h.pullEvent('acme/api', pr);
    const runsBefore = () => h.github.checkRuns('acme/api').filter((r) => r.head_sha === pr.headSha).length;
    assert.equal(
      (await h.deliver('pull_request', payload, { signature: sign(JSON.stringify(payload), 'wrong-secret') })).status,
      401,
      'forged',
    );
    assert.equal((await h.deliver('pull_request', payload, { signature: 'sha1=abc' })).status, 401, 'no sha256 signature');
    // Oversized: refused from its Content-Length before anything is read.
    const big = JSON.stringify({ ...payload, padding: 'x'.repeat(300 * 1024) });
    assert.equal((await h.deliver('pull_request', undefined, { body: big })).status, 413);
    // Oversized without a Content-Length (chunked): refused once the cap is passed.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        h.hooks,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'pull_request',
            'x-github-delivery': randomUUID(),
            'x-hub-signature-256': sign(big),
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < big.length; i += 16 * 1024) req.write(big.slice(i, i + 16 * 1024));
      req.end();
    });
    assert.equal(chunked, 413);
    assert.equal(runsBefore(), 0, 'nothing refused ran');
    const id = randomUUID();
    assert.equal((await h.deliver('pull_request', payload, { delivery: id })).status, 202);
    assert.equal(
      (await h.deliver('pull_request', payload, { delivery: id })).status,
      200,
      'the same delivery again (a redelivery) is acknowledged',
    );
    await h.completedRun('acme/api', pr.headSha);
    await h.bot.bot.ops.inFlight.drain(30_000);
    assert.equal(runsBefore(), 1, 'run once');
    // Another installation's delivery is not ours to act on.
    const other = { ...h.pullEvent('acme/api', pr, 'synchronize'), installation: { id: 1 } };
    assert.equal((await h.deliver('pull_request', other)).status, 202);
    await h.bot.bot.ops.inFlight.drain(30_000);
    assert.equal(runsBefore(), 1);
  });
});
