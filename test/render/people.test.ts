import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { actorFromId, actorId, cliActor, signalActor, slackActor } from '../../src/auth/actor.ts';
import { personName } from '../../src/render/people.ts';

describe('render/people: an actor in words, per surface', () => {
  test('a Slack user is a mention in Slack, their handle (or id) elsewhere, never an @handle on GitHub', () => {
    assert.equal(personName(slackActor('U0ALICE', 'alice'), 'slack'), '<@U0ALICE>');
    assert.equal(personName(slackActor('U0ALICE', 'alice'), 'terminal'), 'alice (on Slack)');
    assert.equal(personName(slackActor('U0ALICE', 'alice'), 'github'), 'alice (on Slack)');
    assert.equal(personName(slackActor('U0ALICE'), 'github'), 'Slack user U0ALICE');
  });

  test('a terminal login and a signal read the same everywhere, with no Slack markup', () => {
    for (const surface of ['slack', 'terminal', 'github'] as const) {
      assert.equal(personName(cliActor('bob'), surface), 'bob (from the terminal)');
      assert.equal(personName(signalActor('SIGHUP'), surface), 'archshift (on SIGHUP)');
      assert.equal(personName(signalActor('archshift'), surface), 'archshift');
    }
  });

  test('records written before actors were values (id strings) read as the same actors', () => {
    for (const a of [slackActor('U0X'), cliActor('carol'), signalActor('SIGHUP')]) assert.deepEqual(actorFromId(actorId(a)), a);
    assert.equal(personName('cli:carol', 'slack'), 'carol (from the terminal)');
    assert.equal(personName('U0X', 'slack'), '<@U0X>');
  });
});
