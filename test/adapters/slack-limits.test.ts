// Issue 11 items 5 and 6: every message leaves within Block Kit's limits (from Slack's reference pages:
// section text 3,000, header 150, button text 75, button value 2,000, 50 blocks, 10 context elements,
// 10 fields of 2,000) and says where the full text is; the fake Slack refuses what Slack refuses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebClient } from '@slack/web-api';
import { clipText, fitToSlack } from '../../src/adapters/slack-limits.ts';
import { SlackPoster } from '../../src/adapters/slack.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { blockKitErrors } from '../fakes/block-kit.ts';

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const button = (text: string, value: string) => ({ type: 'button', text: { type: 'plain_text', text }, action_id: 'a', value });
const denial = 'admission webhook "validate.kyverno.svc" denied the request: ' + 'policy require-arm64-toleration failed; '.repeat(110);

/** What Slack documents, stated here apart from the code under test. */
const DOC = { section: 3000, header: 150, buttonText: 75, buttonValue: 2000, blocks: 50, context: 10, fields: 10, field: 2000 };

describe('fitToSlack', () => {
  test('a 4,106-character section (the paused-canary denial) is clipped to 3,000 and says where the rest is', () => {
    const text = denial.slice(0, 4106);
    const { content, clipped } = fitToSlack({ text: 'paused', blocks: [section(text)] }, 'the thread');
    const out = (content.blocks![0] as { text: { text: string } }).text.text;
    assert.ok(out.length <= DOC.section);
    assert.match(out, /clipped; full text: the thread\)$/);
    assert.deepEqual(clipped, ['section text 4106 > 3000']);
    assert.deepEqual(blockKitErrors(content.blocks), []);
  });

  test('header, buttons, fields, context elements and block count are all brought within the limits', () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'H'.repeat(400) } },
      { type: 'section', fields: Array.from({ length: 14 }, (_v, i) => ({ type: 'mrkdwn', text: `${i}`.repeat(2500) })) },
      { type: 'context', elements: Array.from({ length: 13 }, (_v, i) => ({ type: 'mrkdwn', text: `c${i}` })) },
      { type: 'actions', elements: [button('B'.repeat(120), 'checkout'), button('Too long', 'v'.repeat(2500))] },
      ...Array.from({ length: 60 }, (_v, i) => section(`line ${i}`)),
    ];
    assert.ok(blockKitErrors(blocks).length > 5, 'the double refuses the unclipped message');
    const { content, clipped } = fitToSlack({ text: 'x', blocks });
    assert.deepEqual(blockKitErrors(content.blocks), []);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- reading a JSON shape the test just built
    const out = content.blocks as Array<Record<string, any>>;
    assert.equal(out.length, DOC.blocks);
    assert.ok(out[0]!.text.text.length <= DOC.header);
    assert.equal(out[1]!.fields.length, DOC.fields);
    assert.ok(out[1]!.fields.every((f: { text: string }) => f.text.length <= DOC.field));
    assert.equal(out[2]!.elements.length, DOC.context);
    assert.match(out[2]!.elements[9].text, /^\+4 more/);
    assert.equal(out[3]!.elements.length, 1, 'the button whose value cannot be clipped is dropped');
    assert.ok(out[3]!.elements[0].text.text.length <= DOC.buttonText);
    assert.equal(out[3]!.elements[0].value, 'checkout');
    assert.match(out[49]!.elements[0].text, /more blocks not shown \(full text: the bot's log\)/);
    assert.ok(clipped.some((c: string) => c.startsWith('blocks 64 > 50')));
  });

  test('a message within the limits is unchanged; clipping never cuts a mention or a surrogate pair', () => {
    const message = { text: 'ok', blocks: [section('fine'), { type: 'divider' }] };
    assert.deepEqual(fitToSlack(message), { content: message, clipped: [] });
    assert.equal(clipText('see <https://example.com/a-long-link|the run>', 20, '…'), 'see …');
    assert.equal(clipText('ab😀cd', 4, '…'), 'ab…');
  });
});

describe('SlackPoster against the strict fake Slack', () => {
  let slack: FakeSlackApi;
  let poster: SlackPoster;
  before(async () => {
    slack = await new FakeSlackApi().start();
    poster = new SlackPoster(new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }), 0);
  });
  after(() => slack.stop());

  test('the double refuses an over-long section with invalid_blocks', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    await assert.rejects(
      client.chat.postMessage({ channel: 'C1', text: 'x', blocks: [section('x'.repeat(3001))] as never }),
      /invalid_blocks/,
    );
  });

  test('post and update of a long message both go through clipped; the post answers with the channel ID', async () => {
    const posted = await poster.post('#arm64-migration', { text: 'canary', blocks: [section(denial)] });
    assert.match(posted.channel, /^C0/, 'Slack answers with the ID, not the name');
    await poster.update(posted, { text: 'canary', blocks: [section(denial + denial)], fullTextAt: 'the thread' });
    const update = slack.callsTo('chat.update').at(-1)!;
    assert.equal(update.args.channel, posted.channel);
    assert.match((update.args.blocks as Array<{ text: { text: string } }>)[0]!.text.text, /full text: the thread\)$/);
  });

  test('files.completeUploadExternal refuses a channel name; an ID works', async () => {
    await assert.rejects(poster.uploadFile('#arm64-migration', { filename: 'a.txt', data: Buffer.from('a') }), /invalid_channel/);
    await poster.uploadFile('C1', { filename: 'a.txt', data: Buffer.from('a') });
    assert.equal(slack.uploads.length, 2);
  });
});
