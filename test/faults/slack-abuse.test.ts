// Slack's retries, replays, forgeries and garbage, through the real Bolt HTTP receiver.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBot, SIGNING_SECRET, type TestBot, catalogDefaults } from '../fakes/bot.ts';
import { postSigned, slashCommandBody } from '../fakes/slack-request.ts';
import { subcommands } from '../../commands/index.ts';
import { commandsTotal } from '../../src/ops/metrics.ts';

async function counter(outcome: string): Promise<number> {
  const m = await commandsTotal.get();
  return m.values.filter((v) => v.labels.outcome === outcome).reduce((s, v) => s + v.value, 0);
}

/** A seeded generator, so a failing text can be reproduced. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

function randomText(rand: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const pieces = [
    ...subcommands.map((s) => s.name),
    'payments',
    'search',
    'nope',
    '--json',
    '--steps',
    '5,10',
    '--steps=',
    '--',
    '-x',
    '"',
    "'",
    '""',
    '"a b',
    '<@U1|bob>',
    '<!channel>',
    '%s%n',
    '${x}',
    '$(reboot)',
    '`rm -rf /`',
    '\u0000',
    '\u202e',
    '😀',
    'Ω≈ç',
    '../../etc/passwd',
    'a'.repeat(300),
    '\n',
    '\t',
    '--dry-run',
    '--me',
    '100',
    '-1',
    'NaN',
  ];
  const n = Math.floor(rand() * 8);
  return Array.from({ length: n }, () => pick(pieces)).join(pick([' ', '  ', '', '\t']));
}

describe('abuse of the Slack endpoint', () => {
  let t: TestBot;
  before(async () => {
    t = await startTestBot({
      catalog: {
        defaults: catalogDefaults,
        services: { payments: { team: 'S0PAY' }, search: {} },
      },
    });
  });
  after(() => t.stop());

  const repliesTo = (prefix: string) => {
    const counts = new Map<string, number>();
    for (const c of t.slack.calls)
      if (c.method === 'response_url' && c.responseId?.startsWith(prefix)) counts.set(c.responseId, (counts.get(c.responseId) ?? 0) + 1);
    return counts;
  };

  test('a command redelivered with x-slack-retry-num, even concurrently, is acted on once', async () => {
    const url = t.slack.responseUrl('retried-1');
    const body = slashCommandBody({ text: 'services', response_url: url });
    const dupBefore = await counter('duplicate');
    const [first, r1, r2] = await Promise.all([
      postSigned(t.url, body, { secret: SIGNING_SECRET }),
      postSigned(t.url, body, { secret: SIGNING_SECRET, retryNum: 1 }),
      postSigned(t.url, body, { secret: SIGNING_SECRET, retryNum: 2 }),
    ]);
    assert.deepEqual([first.status, r1.status, r2.status], [200, 200, 200]);
    await t.slack.waitFor(() => repliesTo('retried-').size > 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([...repliesTo('retried-')], [['retried-1', 1]], 'one reply for three deliveries');
    assert.equal((await counter('duplicate')) - dupBefore, 2);
    // A later retry of the same delivery is still recognised.
    await postSigned(t.url, body, { secret: SIGNING_SECRET, retryNum: 3 });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual([...repliesTo('retried-')], [['retried-1', 1]]);
  });

  test('a replayed request older than 5 minutes and a forged signature get 401 and do nothing', async () => {
    const before = t.slack.calls.length;
    const body = slashCommandBody({ text: 'services', response_url: t.slack.responseUrl('replay') });
    const stale = await postSigned(t.url, body, { secret: SIGNING_SECRET, timestamp: Math.floor(Date.now() / 1000) - 5 * 60 - 5 });
    const forged = await postSigned(t.url, body, { secret: 'guess' });
    const mangled = await postSigned(t.url, body, { secret: SIGNING_SECRET, signature: 'v0=' + '0'.repeat(64) });
    const unsigned = await fetch(t.url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.deepEqual([stale.status, forged.status, mangled.status, unsigned.status], [401, 401, 401, 401]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(t.slack.calls.length, before);
  });

  test('1,000 random command texts: every one acknowledged and answered once, none a crash', { timeout: 120_000 }, async () => {
    const rand = rng(20261124);
    const texts = Array.from({ length: 1000 }, () => randomText(rand));
    const errorsBefore = await counter('error');
    const ids = texts.map((_t, i) => `fuzz-${i}`);
    const statuses: number[] = [];
    // 20 at a time, as a busy workspace would.
    for (let i = 0; i < texts.length; i += 20) {
      const batch = texts
        .slice(i, i + 20)
        .map((text, j) =>
          postSigned(t.url, slashCommandBody({ text, response_url: t.slack.responseUrl(ids[i + j]) }), { secret: SIGNING_SECRET }),
        );
      statuses.push(...(await Promise.all(batch)).map((r) => r.status));
    }
    assert.ok(
      statuses.every((s) => s === 200),
      `statuses: ${[...new Set(statuses)].join(',')}`,
    );
    await t.slack.waitFor(() => repliesTo('fuzz-').size >= 1000, 60_000);
    await new Promise((r) => setTimeout(r, 200));
    const replies = repliesTo('fuzz-');
    assert.deepEqual([...new Set(replies.values())], [1], 'each command answered exactly once');
    assert.ok(t.slack.calls.filter((c) => c.responseId?.startsWith('fuzz-')).every((c) => String(c.args.text ?? '').length > 0));
    const errors = (await counter('error')) - errorsBefore;
    assert.equal(errors, 0, 'no random text reached an internal error');
    // Still healthy afterwards.
    const n = t.slack.responses.length;
    await t.command('help');
    await t.slack.waitFor(() => t.slack.responses.length > n);
  });
});
