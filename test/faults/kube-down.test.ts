// The Kubernetes API server down under the real bot: `/arm64 canary <svc> start` is refused with a
// message that names the cluster and says nothing changed, the store gets no canary, and
// `/arm64 status` names the cluster it could not count.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auditEntries } from '../../src/auth/audit.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { freePort } from '../fakes/net.ts';
import { worldCatalog } from '../canary/world.ts';

const OPERATOR = 'U0OPER';

describe('the Kubernetes API server is down', () => {
  let kube: FakeKubeApi;
  let t: TestBot;

  before(async () => {
    kube = await new FakeKubeApi().start();
    const nothing = `http://127.0.0.1:${await freePort()}`;
    t = await startTestBot(
      {
        kubernetes: { contexts: ['prod-eu'] },
        catalog: worldCatalog(nothing.replace('http://', '')),
        canary: { prometheusUrl: nothing },
        registry: { retries: 0 },
        auth: { operator: { users: [OPERATOR] } },
      },
      { kubeConfig: kube.kubeConfig('prod-eu') },
    );
    await kube.stop();
  });
  after(async () => {
    await t?.stop();
  });

  /** Sends `/arm64 <text>` and returns the first reply to it. */
  const ask = async (text: string, user = OPERATOR) => {
    const n = t.slack.responses.length;
    assert.equal((await t.command(text, { user })).status, 200);
    await t.slack.waitFor(() => t.slack.responses.length > n, 30_000);
    return String(t.slack.responses[n]!.text);
  };

  test('canary start is refused with a clear message, and nothing is written to the canaries', async () => {
    const reply = await ask('canary orders start');
    assert.doesNotMatch(reply, /failed on our side/);
    assert.match(reply, /cannot start the canary for orders: cluster prod-eu: /);
    assert.match(reply, /Nothing was changed/);
    const file = join(t.dir, 'store.json');
    const onDisk = existsSync(file)
      ? (JSON.parse(await readFile(file, 'utf8')) as { sections: Record<string, unknown> })
      : { sections: {} };
    assert.equal(onDisk.sections.canaries, undefined);
    const entry = auditEntries(t.bot.deps.store).at(-1)!;
    assert.deepEqual([entry.action, entry.service, entry.result], ['canary.start', 'orders', 'failed']);
  });

  test('canary status says the same instead of listing preconditions it could not read', async () => {
    assert.match(await ask('canary orders status'), /cluster prod-eu: /);
  });

  test('/arm64 status names the unreachable cluster', async () => {
    const reply = await ask('status');
    assert.match(reply, /prod-eu/);
    assert.match(reply, /unreachable/i);
  });
});
