// Read-only commands through the real bot when reading is not open to everyone: a viewer role granted
// to a Slack user group counts (memberships read through usergroups.users.list), anyone else is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBot, type TestBot } from '../fakes/bot.ts';

describe('viewer role granted to a user group', () => {
  let t: TestBot;
  before(async () => {
    t = await startTestBot({
      catalog: { services: { payments: { repo: 'acme/payments', dockerfiles: ['Dockerfile'], image: 'registry.acme.io/payments' } } },
      auth: { everyoneIsViewer: false, viewer: { groups: ['S_READERS'] } },
    });
    t.slack.userGroups.set('S_READERS', ['U_READER']);
  });
  after(() => t.stop());

  const reply = async (text: string, user: string) => {
    const n = t.slack.responses.length;
    await t.command(text, { user });
    await t.slack.waitFor(() => t.slack.responses.length > n);
    return String(t.slack.responses.at(-1)!.text);
  };

  test('a member of the group may list the catalog and the canaries', async () => {
    assert.match(await reply('services', 'U_READER'), /payments/);
    assert.doesNotMatch(await reply('canaries', 'U_READER'), /needs the viewer role/);
  });

  test('someone outside it is refused, naming the role', async () => {
    assert.match(await reply('services', 'U_OTHER'), /the service catalog needs the viewer role/);
    assert.match(await reply('canaries', 'U_OTHER'), /viewing canaries needs the viewer role/);
  });
});
