// Secrets come only from the environment, never from the config file, so the
// config can live in git and a ConfigMap.
import type { Config } from './schema.ts';
import { UserError } from '../errors.ts';

export interface Secrets {
  slackBotToken?: string;
  slackAppToken?: string;
  slackSigningSecret?: string;
  /** The GitHub App's webhook secret; without it POST /github/events is not served. */
  githubWebhookSecret?: string;
}

export class MissingSecretError extends UserError {}

/** Slack and webhook secrets; GitHub's API credentials are read by githubAuthFromEnv (src/adapters/github/credentials.ts). */
export function readSecrets(env: NodeJS.ProcessEnv = process.env): Secrets {
  return {
    slackBotToken: env.SLACK_BOT_TOKEN || undefined,
    slackAppToken: env.SLACK_APP_TOKEN || undefined,
    slackSigningSecret: env.SLACK_SIGNING_SECRET || undefined,
    githubWebhookSecret: env.GITHUB_WEBHOOK_SECRET || undefined,
  };
}

/** What the Slack bot needs to start in the configured mode; throws with the fix spelled out. */
export function requireSlackSecrets(config: Config, s: Secrets): { botToken: string; appToken?: string; signingSecret?: string } {
  const missing: string[] = [];
  if (!s.slackBotToken) missing.push('SLACK_BOT_TOKEN (the xoxb- Bot User OAuth Token, from "OAuth & Permissions")');
  else if (!s.slackBotToken.startsWith('xoxb-')) missing.push('SLACK_BOT_TOKEN must be a bot token starting with xoxb-');
  if (config.slack.mode === 'socket') {
    if (!s.slackAppToken) missing.push('SLACK_APP_TOKEN (an xapp- app-level token with connections:write, from "Basic Information")');
    else if (!s.slackAppToken.startsWith('xapp-')) missing.push('SLACK_APP_TOKEN must be an app-level token starting with xapp-');
  } else if (!s.slackSigningSecret) {
    missing.push('SLACK_SIGNING_SECRET (from "Basic Information" > "App Credentials")');
  }
  if (missing.length) {
    throw new MissingSecretError(
      `archshift cannot start the Slack bot (slack.mode: ${config.slack.mode}). Set:\n` +
        missing.map((m) => `  - ${m}`).join('\n') +
        '\nCreate the app from manifest.yml (see README, "Slack app setup"). ' +
        'To run without Slack, use the CLI: `npx archshift help`.',
    );
  }
  return { botToken: s.slackBotToken!, appToken: s.slackAppToken, signingSecret: s.slackSigningSecret };
}
