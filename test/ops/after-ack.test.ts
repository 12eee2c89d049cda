// Issue 15 item 3: the work after a Slack ack waits its turn (src/ops/after-ack.ts) so acks go first;
// the line is bounded and a request beyond it gets a clear answer in its ack (commands/store-gate.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { AfterAckQueue, QueueFull } from '../../src/ops/after-ack.ts';
import { gate, gatedApp } from '../../commands/store-gate.ts';
import { commandsTotal } from '../../src/ops/metrics.ts';
import { createLogger } from '../../src/logger.ts';
import type { Store } from '../../src/adapters/store.ts';
import type { App } from '@slack/bolt';

describe('after-ack queue', () => {
  test('jobs start in the order queued, one per event-loop turn, and each outcome reaches its caller', async () => {
    const q = new AfterAckQueue({ maxWaiting: 10, quietMs: 0 });
    const started: string[] = [];
    const job = (name: string) => () => {
      started.push(name);
      return Promise.resolve(name);
    };
    const results = [q.run(job('a')), q.run(job('b')), q.run(job('c'))];
    assert.deepEqual(started, [], 'nothing starts in the turn that queued it');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['a'], 'one job per turn');
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c']);
    assert.deepEqual(started, ['a', 'b', 'c']);
    assert.equal(q.size, 0);
  });

  test('input arriving while jobs wait is read before the next job starts', async () => {
    const events: string[] = [];
    const server = createServer((s) => s.on('data', () => events.push('request read')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client: Socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    try {
      const q = new AfterAckQueue({ maxWaiting: 10, quietMs: 0 });
      const first = q.run(async () => {
        events.push('job 1');
        // Loopback: the bytes are in the server's socket before this returns, ready for the next turn's poll.
        client.write('POST /slack/events');
      });
      const second = q.run(async () => void events.push('job 2'));
      await Promise.all([first, second]);
      assert.deepEqual(events, ['job 1', 'request read', 'job 2']);
    } finally {
      client.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  test('work waits for a quiet moment after the last request queued, and a steady stream cannot hold it back', async () => {
    const quiet = new AfterAckQueue({ maxWaiting: 10, quietMs: 40, maxDelayMs: 60_000 });
    let lastQueued = 0;
    const startedAt: number[] = [];
    const runs = [1, 2, 3].map(() => {
      lastQueued = performance.now();
      return quiet.run(async () => void startedAt.push(performance.now()));
    });
    await Promise.all(runs);
    // Timers may fire up to a millisecond early.
    for (const at of startedAt) assert.ok(at - lastQueued >= 39, `started ${at - lastQueued} ms after the last request`);
    // Requests keep arriving (quietMs is never reached): a job starts once it waited maxDelayMs.
    const busy = new AfterAckQueue({ maxWaiting: 10, quietMs: 60_000, maxDelayMs: 30 });
    const queued = performance.now();
    let started = 0;
    await busy.run(async () => void (started = performance.now()));
    assert.ok(started - queued >= 29, `started after ${started - queued} ms`);
  });

  test('all the jobs overdue start in the same turn, acks or not', async () => {
    const q = new AfterAckQueue({ maxWaiting: 10, quietMs: 60_000, maxDelayMs: 30 });
    const order: string[] = [];
    const done = [
      q.run(async () => {
        order.push('first');
        setImmediate(() => order.push('next turn'));
      }),
      q.run(async () => void order.push('second')),
    ];
    // The thread is busy (a burst being acked) until both are overdue.
    const from = performance.now();
    while (performance.now() - from < 40);
    await Promise.all(done);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['first', 'second', 'next turn']);
  });

  test('the waiting line is bounded: one more is refused, queuing nothing, and there is room again once jobs start', async () => {
    const q = new AfterAckQueue({ maxWaiting: 2, quietMs: 0 });
    let ran = 0;
    const job = async () => void ran++;
    const waiting = [q.run(job), q.run(job)];
    assert.throws(
      () => q.run(job),
      (err: unknown) => err instanceof QueueFull && err.waiting === 2,
    );
    assert.equal(q.size, 2);
    await Promise.all(waiting);
    assert.equal(ran, 2);
    await q.run(job);
    assert.equal(ran, 3);
    assert.throws(() => new AfterAckQueue({ maxWaiting: 0 }), RangeError);
  });

  test('a failing job rejects its own caller only; the jobs after it still run, in the context that queued them', async () => {
    const q = new AfterAckQueue({ maxWaiting: 10, quietMs: 0 });
    const als = new AsyncLocalStorage<string>();
    const failing = q.run(() => Promise.reject(new Error('boom')));
    const throwing = q.run(() => {
      throw new Error('sync boom');
    });
    const after = als.run('request 7', () => q.run(async () => als.getStore()));
    await assert.rejects(failing, /boom/);
    await assert.rejects(throwing, /sync boom/);
    assert.equal(await after, 'request 7');
  });
});

describe('the Slack gate in front of the queue', () => {
  const busyCount = async () => (await commandsTotal.get()).values.find((v) => v.labels.outcome === 'busy')?.value ?? 0;
  // Only the first request gets through to the store; the refused ones must not touch it.
  const store = { refresh: async () => undefined, firstDelivery: async () => true } as unknown as Store;
  const logger = createLogger('silent');

  function request(kind: 'command' | 'click') {
    const acks: unknown[] = [];
    const replies: unknown[] = [];
    return {
      acks,
      replies,
      args: {
        ...(kind === 'command' ? { command: { command: '/arm64', text: 'help' } } : { action: { action_id: 'x' } }),
        body: { response_url: `https://hooks.slack.test/${kind}/${Math.random()}` },
        context: {},
        ack: async (reply?: unknown) => void acks.push(reply ?? 'empty'),
        respond: async (reply: unknown) => void replies.push(reply),
      },
    };
  }

  test('acks first, then runs the listener; when the line is full the ack says "busy" and nothing runs', async () => {
    const q = new AfterAckQueue({ maxWaiting: 1, quietMs: 0 });
    const ran: string[] = [];
    const listener = gate(store, logger, q, async (args) => {
      ran.push(String((args.body as { response_url: string }).response_url));
      // The gate acked already: a listener's own ack is a no-op.
      await (args.ack as () => Promise<void>)();
    });
    const busyBefore = await busyCount();
    const first = request('command');
    const command = request('command');
    const click = request('click');
    // All three arrive in one turn: the first waits in the line, which holds one.
    const done = [listener(first.args), listener(command.args), listener(click.args)];
    await Promise.all(done);
    assert.deepEqual(first.acks, ['empty']);
    assert.deepEqual(ran, [first.args.body.response_url]);
    // A slash command's ack carries the answer; a click's ack has no text, so the answer follows as a reply.
    assert.equal(command.acks.length, 1);
    assert.match(String((command.acks[0] as { text: string }).text), /busy: 1 requests are waiting.*not run.*Try again/);
    assert.equal((command.acks[0] as { response_type: string }).response_type, 'ephemeral');
    assert.deepEqual(click.acks, ['empty']);
    assert.equal(click.replies.length, 1);
    assert.match(String((click.replies[0] as { text: string }).text), /busy/);
    assert.equal((click.replies[0] as { replace_original: boolean }).replace_original, false);
    assert.equal((await busyCount()) - busyBefore, 2);
  });

  test('the buttons share one Bolt listener that picks theirs by action_id; an unknown action_id is left unanswered', async () => {
    // Bolt runs every listener's middleware chain on every request: one for all buttons, not one per button.
    const registered: { kind: string; id: unknown; listener: (args: Record<string, unknown>) => Promise<void> }[] = [];
    const bolt = {
      action: (id: unknown, listener: (args: Record<string, unknown>) => Promise<void>) =>
        void registered.push({ kind: 'action', id, listener }),
      command: (id: unknown, listener: (args: Record<string, unknown>) => Promise<void>) =>
        void registered.push({ kind: 'command', id, listener }),
    } as unknown as App;
    const app = gatedApp(bolt, store, logger, new AfterAckQueue({ maxWaiting: 10, quietMs: 0 }));
    const ran: string[] = [];
    app.command('/arm64', async () => void ran.push('command'));
    for (const id of ['canary_pause', 'open_prs', 'open_ready_prs']) app.action(id, async () => void ran.push(id));
    assert.throws(() => app.action('open_prs', async () => undefined), /two listeners for the action open_prs/);
    assert.deepEqual(
      registered.map((r) => r.kind),
      ['command', 'action'],
    );
    const buttons = registered[1]!;
    assert.ok(buttons.id && typeof buttons.id === 'object' && (buttons.id as { action_id: RegExp }).action_id.test('anything'));
    const click = (actionId: string) => {
      const r = request('click');
      return { ...r, args: { ...r.args, action: { action_id: actionId } } };
    };
    const known = click('open_prs');
    await buttons.listener(known.args);
    assert.deepEqual(known.acks, ['empty']);
    const unknown = click('not_ours');
    await buttons.listener(unknown.args);
    assert.deepEqual(unknown.acks, [], 'Bolt leaves an action no listener matches unacknowledged, and so does the router');
    assert.deepEqual(ran, ['open_prs']);
  });

  test("each request's whole work is handed to track (shutdown waits for it), also when the line is full", async () => {
    const q = new AfterAckQueue({ maxWaiting: 1, quietMs: 0 });
    const tracked: Promise<void>[] = [];
    let finished = false;
    const listener = gate(
      store,
      logger,
      q,
      async () => {
        await new Promise((r) => setImmediate(r));
        finished = true;
      },
      (work) => (tracked.push(work), work),
    );
    const first = request('command');
    const busy = request('command');
    const done = [listener(first.args), listener(busy.args)];
    assert.equal(tracked.length, 2, 'tracked as soon as Bolt hands the request over');
    assert.equal(finished, false);
    await tracked[0];
    assert.equal(finished, true, 'the tracked work ends when the listener has');
    await Promise.all(done);
    assert.match(String((busy.acks[0] as { text: string }).text), /busy/);
  });

  test('a listener that fails rejects the gate (Bolt logs it) after the ack went out', async () => {
    const q = new AfterAckQueue({ maxWaiting: 5, quietMs: 0 });
    const listener = gate(store, logger, q, () => Promise.reject(new Error('listener broke')));
    const r = request('command');
    await assert.rejects(listener(r.args), /listener broke/);
    assert.deepEqual(r.acks, ['empty']);
  });
});
