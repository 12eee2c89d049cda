import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBot, SlackStartError } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logger.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';

test('a bot token Slack refuses stops start() with a message, not an unhandled rejection', async () => {
  const slack = await new FakeSlackApi().start();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-start-'));
  try {
    slack.fail('auth.test', { error: 'invalid_auth' });
    const config = parseConfig({
      slack: { mode: 'http', port: 0, apiUrl: slack.apiUrl, retries: 0 },
      store: { file: join(dir, 's.json') },
    });
    const bot = await createBot(config, {
      logger: createLogger('silent'),
      secrets: { slackBotToken: 'xoxb-revoked', slackSigningSecret: 's' },
    });
    await assert.rejects(
      bot.start(),
      (e: unknown) => e instanceof SlackStartError && /invalid_auth/.test(e.message) && /SLACK_BOT_TOKEN/.test(e.message),
    );
    assert.equal(slack.callsTo('auth.test').length, 1);
  } finally {
    await slack.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
