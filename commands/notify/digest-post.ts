// Delivery of the digest to Slack: the migration channel's message with the burn-down chart in its
// thread, and each team's digest in its channel. The scheduled run, `/arm64 digest` and nothing else
// post digests; they go through here.
import type { PostedMessage, SlackPoster } from '../../src/adapters/slack.ts';
import { renderBurndownPng } from '../../src/digest/chart.ts';
import { runDigest, type DigestDeps, type DigestRun } from '../../src/digest/digest.ts';
import type { DigestModel } from '../../src/digest/model.ts';
import { DigestSchedule } from '../../src/digest/schedule.ts';
import { renderDigestBlocks } from '../../src/render/digest-blocks.ts';
import { renderStatusLine } from '../../src/render/digest-text.ts';

export interface PostResult {
  main: PostedMessage;
  chartUploaded: boolean;
  teams: { team: string; channel: string; ok: boolean; error?: string }[];
}

export interface PostOptions {
  /** Default: `digest.channel`, else `slack.channel`. */
  channel?: string;
  /** Also post each team's digest to its channel (the scheduled run does; `/arm64 digest` does not). */
  teams?: boolean;
}

export const digestMessage = (m: DigestModel) => ({ text: renderStatusLine(m), blocks: renderDigestBlocks(m) });

/** Posts the digest (chart in its thread) and, when asked, each team's digest to its channel. */
export async function postDigest(deps: DigestDeps, slack: SlackPoster, run: DigestRun, o: PostOptions = {}): Promise<PostResult> {
  const target = o.channel ?? deps.config.digest.channel ?? deps.config.slack.channel;
  const main = await slack.post(target, digestMessage(run.model));
  let chartUploaded = false;
  if (run.model.series.length > 0) {
    try {
      const png = renderBurndownPng(run.model.series, {
        title: 'arm64 burn-down: workloads left on amd64',
        fontFiles: deps.config.digest.chartFonts,
      });
      await slack.uploadFile(main.channel, {
        filename: `arm64-burndown-${run.model.day}.png`,
        data: png,
        title: `arm64 burn-down ${run.model.day}`,
        threadTs: main.ts,
      });
      chartUploaded = true;
    } catch (err) {
      // The numbers are already posted; a failed chart must not fail the digest.
      deps.logger.warn({ err: (err as Error).message }, 'digest chart not uploaded');
    }
  }
  const teams: PostResult['teams'] = [];
  for (const t of o.teams ? run.teams : []) {
    try {
      await slack.post(t.channel, digestMessage(t.model));
      teams.push({ team: t.team, channel: t.channel, ok: true });
    } catch (err) {
      deps.logger.warn({ team: t.team, channel: t.channel, err: (err as Error).message }, 'team digest not posted');
      teams.push({ team: t.team, channel: t.channel, ok: false, error: (err as Error).message });
    }
  }
  return { main, chartUploaded, teams };
}

/** The daily schedule as the bot runs it: the full digest to the migration channel, team digests too. */
export function createDigestSchedule(deps: DigestDeps, slack: SlackPoster, shouldRun?: () => boolean | Promise<boolean>): DigestSchedule {
  const cfg = deps.config.digest;
  return new DigestSchedule({
    expression: cfg.schedule,
    timezone: cfg.timezone,
    catchUpHours: cfg.catchUpHours,
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    ...(shouldRun ? { shouldRun } : {}),
    run: async () => {
      await postDigest(deps, slack, await runDigest(deps), { teams: true });
    },
  });
}
