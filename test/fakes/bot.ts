// Starts the real bot (Bolt app from src/app.ts, HTTP receiver) against the fake Slack API, with a
// temp store and an optional Kubernetes API double, for end-to-end tests of /arm64 subcommands.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { createBot, type Bot, type BuildOptions } from '../../src/app.ts';
import { loadConfig, parseConfig } from '../../src/config/load.ts';
import type { Clock } from '../../src/clock.ts';
import { createLogger } from '../../src/logger.ts';
import { FakeSlackApi } from './slack-api.ts';
import { blockActionBody, postSigned, slashCommandBody } from './slack-request.ts';

export const SIGNING_SECRET = 'test-signing-secret';

/** The catalog defaults the bot tests share: every service in repo acme/<service>, its manifests and pipeline in acme/k8s and acme/cd. */
export const catalogDefaults = {
  repo: 'acme/{service}',
  dockerfiles: ['Dockerfile'],
  image: 'r.io/{service}',
  pipeline: { repo: 'acme/cd', file: 's/{service}.yml' },
  manifests: { repo: 'acme/k8s', files: ['a/{service}.yaml'] },
};

export interface TestBot {
  bot: Bot;
  slack: FakeSlackApi;
  url: string;
  /** The ops server (/healthz, /readyz, /metrics). */
  opsUrl: string;
  dir: string;
  /** With `fromFile`: the YAML file the bot was started from (`/arm64 reload` re-reads it). */
  configFile?: string;
  /** Sends a signed `/arm64 <text>` and resolves with the HTTP response. */
  command(text: string, opts?: { user?: string; channel?: string; retryNum?: number }): Promise<Response>;
  click(actionId: string, value: string, opts?: { user?: string; channel?: string; messageTs?: string }): Promise<Response>;
  stop(): Promise<void>;
}

let responseIds = 0;

export interface TestBotOptions {
  kubeConfig?: KubeConfig;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Write the config to `<dir>/archshift.yml` and start from that file, as `--config` does. */
  fromFile?: boolean;
  /** GITHUB_WEBHOOK_SECRET: serves POST /github/events on the ops server. */
  githubWebhookSecret?: string;
  /** The GitHub adapter to use instead of the one built from config. */
  github?: BuildOptions['github'];
}

export async function startTestBot(rawConfig: Record<string, unknown> = {}, opts: TestBotOptions = {}): Promise<TestBot> {
  const slack = await new FakeSlackApi().start();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-bot-'));
  const raw = {
    ...rawConfig,
    slack: { mode: 'http', port: 0, apiUrl: slack.apiUrl, retries: 0, ...(rawConfig.slack as object) },
    store: { file: join(dir, 'store.json') },
    server: { port: 0, host: '127.0.0.1', ...(rawConfig.server as object) },
    // The scheduled digest would post (and list the cluster) whenever a test runs near a weekday
    // 09:00; tests of the schedule drive it on their own clock, so the test bot's never fires.
    digest: { schedule: '0 3 1 1 *', catchUpHours: 0, ...(rawConfig.digest as object) },
  };
  const configFile = opts.fromFile ? join(dir, 'archshift.yml') : undefined;
  if (configFile) await writeFile(configFile, stringify(raw));
  const config = configFile ? await loadConfig(configFile) : parseConfig(raw);
  const bot = await createBot(config, {
    logger: createLogger('silent'),
    secrets: { slackBotToken: 'xoxb-test', slackSigningSecret: SIGNING_SECRET, githubWebhookSecret: opts.githubWebhookSecret },
    kubeConfig: opts.kubeConfig,
    clock: opts.clock,
    // GitHub and registry credentials (e.g. GITHUB_TOKEN for the GitHub double); default process.env.
    env: opts.env,
    configFile,
    github: opts.github,
  });
  const server = await bot.start();
  const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/slack/events`;
  return {
    bot,
    slack,
    url,
    opsUrl: `http://127.0.0.1:${bot.ops.port()}`,
    dir,
    configFile,
    command: (text, o = {}) =>
      postSigned(
        url,
        slashCommandBody({ text, user_id: o.user, channel_id: o.channel, response_url: slack.responseUrl(`c${++responseIds}`) }),
        {
          secret: SIGNING_SECRET,
          retryNum: o.retryNum,
        },
      ),
    click: (actionId, value, o = {}) =>
      postSigned(
        url,
        blockActionBody({
          actionId,
          value,
          user_id: o.user,
          channel_id: o.channel,
          message_ts: o.messageTs,
          response_url: slack.responseUrl(`a${++responseIds}`),
        }),
        {
          secret: SIGNING_SECRET,
        },
      ),
    async stop() {
      await bot.stop();
      await slack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
