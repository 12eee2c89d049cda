// Every Slack listener (the /arm64 command, the buttons) runs behind this gate. It acknowledges first,
// so Slack's 3 s ack never waits on the database or on other commands' work: everything after the ack
// waits its turn in the after-ack queue (src/ops/after-ack.ts), and when that line is full the ack itself
// says so and nothing runs. Then, before the listener's work: the store must answer (with PostgreSQL
// this is also where a replica picks up what the others wrote), and a retried delivery is dropped (its
// key is shared by every replica). When the database is down the person is told to try again and
// nothing runs, so nothing is half-done.
import type { App } from '@slack/bolt';
import { StoreUnavailableError, type Store } from '../src/adapters/store.ts';
import type { Logger } from '../src/logger.ts';
import { QueueFull, type AfterAckQueue } from '../src/ops/after-ack.ts';
import { firstDelivery } from '../src/ops/dedupe.ts';
import { commandsTotal } from '../src/ops/metrics.ts';

type Listener = (args: Record<string, unknown>) => Promise<void>;

type Ack = (reply?: unknown) => Promise<void>;

/** Hands each request's whole work (ack and after it) to `track`, so a shutdown can wait for it (src/ops/inflight.ts). */
type Track = (work: Promise<void>) => Promise<void>;

export function gate(store: Store, logger: Logger, queue: AfterAckQueue, listener: Listener, track: Track = (work) => work): Listener {
  const afterAck = async (args: Record<string, unknown>) => {
    let first: boolean;
    try {
      [, first] = await Promise.all([store.refresh(), firstDelivery(store, args.body as Record<string, unknown>)]);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      commandsTotal.inc({ subcommand: '-', outcome: 'store-unavailable' });
      logger.warn({ err: err.detail }, 'state store unavailable; the Slack request was refused');
      const respond = args.respond as ((r: unknown) => Promise<unknown>) | undefined;
      await respond?.({ response_type: 'ephemeral', replace_original: false, text: `⚠️ ${err.message}.` }).catch(() => undefined);
      return;
    }
    if (!first) {
      commandsTotal.inc({ subcommand: '-', outcome: 'duplicate' });
      const context = args.context as { retryNum?: number; retryReason?: string };
      logger.info({ retryNum: context.retryNum, retryReason: context.retryReason }, 'repeated Slack delivery acknowledged, not run again');
      return;
    }
    // Already acknowledged by the gate.
    await listener({ ...args, ack: async () => undefined });
  };
  const handle = async (args: Record<string, unknown>) => {
    // Queued before the ack is sent (so the ack can say when the line is full); it starts in a later
    // turn, and only once the ack went out.
    const ack = { sent: Promise.resolve() };
    let work: Promise<void>;
    try {
      work = queue.run(async () => {
        await ack.sent;
        await afterAck(args);
      });
    } catch (err) {
      if (!(err instanceof QueueFull)) throw err;
      await refuseBusy(args, err, logger);
      return;
    }
    ack.sent = (args.ack as Ack)();
    await Promise.all([ack.sent, work]);
  };
  return (args) => track(handle(args));
}

/** The answer when the after-ack line is full: a slash command's ack carries it; a click is acked, then told. */
async function refuseBusy(args: Record<string, unknown>, full: QueueFull, logger: Logger): Promise<void> {
  commandsTotal.inc({ subcommand: '-', outcome: 'busy' });
  logger.warn({ waiting: full.waiting }, 'too many Slack requests waiting; this one was refused');
  const reply = {
    response_type: 'ephemeral',
    text: `⚠️ archshift is busy: ${full.waiting} requests are waiting ahead of this one, so it was not run. Try again in a minute.`,
  };
  if (args.command) return (args.ack as Ack)(reply);
  await (args.ack as Ack)();
  const respond = args.respond as ((r: unknown) => Promise<unknown>) | undefined;
  await respond?.({ ...reply, replace_original: false }).catch(() => undefined);
}

/**
 * `app` whose command and action listeners are registered behind the gate. Bolt runs every listener's
 * middleware chain on every request (each step copies the request's arguments), so the buttons share one
 * Bolt listener that picks theirs by action_id: a request runs two chains (the command's, the buttons'),
 * not one per button. An action_id nothing registered is left unanswered, as Bolt leaves it.
 */
export function gatedApp(app: App, store: Store, logger: Logger, queue: AfterAckQueue, track?: Track): App {
  const buttons = new Map<string, Listener>();
  const registerButton = (id: string, listener: Listener) => {
    if (buttons.has(id)) throw new Error(`two listeners for the action ${id}`);
    if (!buttons.size)
      app.action({ action_id: ANY_ACTION_ID }, async (args) => {
        await buttons.get((args.action as { action_id: string }).action_id)?.(args as unknown as Record<string, unknown>);
      });
    buttons.set(id, gate(store, logger, queue, listener, track));
  };
  return new Proxy(app, {
    get(target, prop, receiver) {
      if (prop !== 'command' && prop !== 'action') return Reflect.get(target, prop, receiver) as unknown;
      return (id: unknown, ...fns: Listener[]) => {
        const listener = fns.pop()!;
        if (prop === 'action' && typeof id === 'string' && !fns.length) return registerButton(id, listener);
        return (target[prop] as (...a: unknown[]) => unknown).call(target, id, ...fns, gate(store, logger, queue, listener, track));
      };
    },
  });
}

const ANY_ACTION_ID = /^/;
