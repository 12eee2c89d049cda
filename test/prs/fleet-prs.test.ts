// `archshift pr --all`: every catalog service's PRs through the real Octokit stack to the GitHub double,
// resumable without duplicates; and the content-creating budget (80 a minute, 500 an hour) that paces it.
import { describe, test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../src/args.ts';
import { runPrCommand } from '../../src/cli/pr.ts';
import { cliCommand } from '../../src/cli/index.ts';
import { ContentBudget, CONTENT_CREATING_LIMITS, isContentCreating } from '../../src/adapters/github/budget.ts';
import type { Deps } from '../../src/deps.ts';
import { imagesWith, makeDeps, seededGitHub, seedService } from './helpers.ts';

describe('pr --all', () => {
  const fake = seededGitHub(['api', 'web']);
  let deps: Deps;
  beforeEach(async () => {
    seedService(fake, 'web');
    deps = await makeDeps(fake, { registry: imagesWith(false) });
  });
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const progress: Array<string | undefined> = [];
    const code = await runPrCommand(
      parseArgs(argv, cliCommand('pr')!.booleanOptions),
      { out: (t) => out.push(t), err: (t) => out.push(t), progress: (t) => progress.push(t) },
      async () => deps,
    );
    return { code, out: out.join('\n'), progress };
  };

  test("opens each service's PRs, ends with a table, shows progress; a re-run resumes without duplicates", async () => {
    const first = await run('--all', '--change', 'pipeline');
    assert.equal(fake.pulls('acme/pipelines').length, 2, first.out);
    assert.match(first.out, /^SERVICE +CHANGE +OUTCOME +PR OR WHY/);
    assert.match(first.out, /^api +pipeline +opened +#\d+ /m);
    assert.match(first.out, /^web +pipeline +opened +#\d+ /m);
    assert.match(first.out, /^chart +pipeline +not opened +acme\/pipelines: services\/chart.yml does not exist/m);
    assert.match(first.out, /3 services: 2 opened, 1 not opened/);
    assert.equal(first.code, 1, 'a refusal makes the exit code 1');
    assert.match(first.progress.find((p) => p?.includes('3/3')) ?? '', /writes this hour/);
    const again = await run('--all', '--change', 'pipeline', '--json');
    assert.equal(fake.pulls('acme/pipelines').length, 2, 'no duplicate PRs');
    const json = JSON.parse(again.out) as { schemaVersion: number; services: { service: string; outcomes: { status: string }[] }[] };
    assert.equal(json.schemaVersion, 1);
    assert.deepEqual(
      json.services.filter((s) => s.service !== 'chart').map((s) => s.outcomes.map((o) => o.status)),
      [['unchanged'], ['unchanged']],
    );
  });

  test('--dry-run writes nothing; --team narrows; no match is exit 66', async () => {
    const before = fake.writes();
    const dry = await run('--all', '--dry-run', '--team', 'S-web-team');
    assert.equal(fake.writes(), before);
    assert.match(dry.out, /^web +\w+ +would change/m);
    assert.doesNotMatch(dry.out, /^api /m);
    await assert.rejects(run('--all', '--team', 'S-nobody'), /no catalog service matches/);
    await assert.rejects(run('--all', 'api'), /give no service/);
  });
});

describe('the content-creating budget', () => {
  test('which requests GitHub counts', () => {
    assert.ok(isContentCreating('POST', 'https://api.github.com/repos/a/b/pulls'));
    assert.ok(isContentCreating('PATCH', 'https://api.github.com/repos/a/b/git/refs/heads/x'));
    assert.ok(!isContentCreating('GET', 'https://api.github.com/repos/a/b'));
    assert.ok(!isContentCreating('POST', 'https://api.github.com/graphql', JSON.stringify({ query: 'query { repository { id } }' })));
    assert.ok(
      isContentCreating('POST', 'https://ghe.example/api/graphql', JSON.stringify({ query: 'mutation { markPullRequestReadyForReview }' })),
    );
    assert.ok(!isContentCreating('POST', 'https://api.github.com/app/installations/42/access_tokens'));
  });

  test('no window ever holds more than its limit: 80 a minute, 500 an hour (time scaled down)', async () => {
    // One "hour" is 720 ms here, one "minute" 12 ms.
    const scale = 0.0002;
    // The clock's last reading in acquire() is the time the request was counted at.
    let last = 0;
    const budget = new ContentBudget(CONTENT_CREATING_LIMITS, scale, () => (last = Date.now()));
    const times: number[] = [];
    for (let i = 0; i < 620; i++) {
      await budget.acquire();
      times.push(last);
    }
    for (const { limit, ms } of CONTENT_CREATING_LIMITS) {
      const w = ms * scale;
      for (let i = 0; i < times.length; i++) {
        const inWindow = times.filter((t) => t > times[i]! - w && t <= times[i]!).length;
        assert.ok(inWindow <= limit, `${inWindow} requests within ${w} ms (limit ${limit})`);
      }
    }
    assert.ok(times.at(-1)! - times[0]! >= 720 - 5, 'the 501st request waited for the hour window');
    assert.ok(budget.waited > 0);
  });
});
