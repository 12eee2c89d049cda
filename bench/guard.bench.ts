// The PR guard on the test harness (test/guard/harness.ts: the bot, a GitHub App on the GitHub double,
// the real docker-registry, the Kubernetes API double): PRs delivered one at a time as signed webhooks;
// per check, the time from the delivery to the completed Check Run and the GitHub requests it made.
// Half the PRs break arm64 for the moved service (a base image without arm64), half introduce nothing
// (moved lines, docs, a comment); the goal is a failing check within 30 s and no failure on the others.
import { startGuardHarness } from '../test/guard/harness.ts';

const PAIRS = 5;

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

export async function run(): Promise<Record<string, unknown>> {
  const h = await startGuardHarness();
  try {
    const host = h.registry.host;
    const changes: Array<{ breaks: boolean; files: Record<string, string> }> = Array.from({ length: PAIRS }, (_, i) => [
      { breaks: true, files: { Dockerfile: `FROM ${host}/library/alpine:3.8\nCOPY app /app\n# ${i}\n` } },
      {
        breaks: false,
        files:
          i % 2
            ? ({ 'README.md': `docs ${i}\n` } as Record<string, string>)
            : { Dockerfile: `# build ${i}\nFROM ${host}/library/alpine:3.19\nCOPY app /app\n` },
      },
    ]).flat();
    const rows: Array<{ breaks: boolean; conclusion: string; ms: number; requests: number }> = [];
    for (const [i, change] of changes.entries()) {
      const pr = h.github.openPullAsHuman('acme/api', { branch: `bench-${i}`, files: change.files });
      await h.bot.bot.ops.inFlight.drain(60_000);
      const before = h.github.requests.length;
      const started = performance.now();
      const res = await h.deliver('pull_request', h.pullEvent('acme/api', pr));
      if (res.status !== 202) throw new Error(`delivery answered ${res.status}`);
      const done = await h.completedRun('acme/api', pr.headSha);
      const ms = performance.now() - started;
      await h.bot.bot.ops.inFlight.drain(60_000);
      rows.push({
        breaks: change.breaks,
        conclusion: done.conclusion ?? '?',
        ms: Math.round(ms),
        requests: h.github.requests.length - before,
      });
    }
    const breaking = rows.filter((r) => r.breaks);
    const clean = rows.filter((r) => !r.breaks);
    const ms = rows.map((r) => r.ms);
    return {
      checks: rows.length,
      goal: 'failing check within 30000 ms of the delivery; 0 failures on PRs that introduce nothing',
      breakingFailed: `${breaking.filter((r) => r.conclusion === 'failure').length}/${breaking.length}`,
      falseFailures: clean.filter((r) => r.conclusion === 'failure').length,
      deliveryToCompletedMs: { p50: quantile(ms, 0.5), max: Math.max(...ms), breakingMax: Math.max(...breaking.map((r) => r.ms)) },
      githubRequestsPerCheck: {
        breaking: [...new Set(breaking.map((r) => r.requests))],
        clean: [...new Set(clean.map((r) => r.requests))],
      },
      note: 'requests include the installation-token exchange only on the first check; slack notes: one per breaking PR head',
      rows,
    };
  } finally {
    await h.stop();
  }
}
