import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBot, type Bot } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logger.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';

let slack: FakeSlackApi;
let bot: Bot;
let dir: string;

before(async () => {
  slack = await new FakeSlackApi().start();
  dir = await mkdtemp(join(tmpdir(), 'archshift-socket-'));
  const config = parseConfig({ slack: { mode: 'socket', apiUrl: slack.apiUrl, retries: 0 }, store: { file: join(dir, 's.json') } });
  bot = await createBot(config, { logger: createLogger('silent'), secrets: { slackBotToken: 'xoxb-test', slackAppToken: 'xapp-test' } });
  await bot.start();
});

after(async () => {
  await bot.stop();
  await slack.stop();
  await rm(dir, { recursive: true, force: true });
});

test('Socket Mode delivers /arm64 help end to end over a local WebSocket', async () => {
  const open = slack.callsTo('apps.connections.open');
  assert.equal(open.length, 1);
  assert.equal(open[0].token, 'xapp-test');
  await slack.sendSocketCommand({
    command: '/arm64',
    text: 'help',
    user_id: 'U1',
    channel_id: 'C1',
    team_id: 'T1',
    response_url: slack.responseUrl('sock'),
  });
  await slack.waitFor(() => slack.responses.length > 0);
  assert.match(String(slack.responses[0].text), /\/arm64 services/);
});
