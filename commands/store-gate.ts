// Every Slack listener (the /arm64 command, the buttons) runs behind this gate. It acknowledges first,
// so Slack's 3 s ack never waits on the database; then, before the listener's work: the store must
// answer (with PostgreSQL this is also where a replica picks up what the others wrote), and a retried
// delivery is dropped (its key is shared by every replica). When the database is down the person is
// told to try again and nothing runs, so nothing is half-done.
import type { App } from '@slack/bolt';
import { StoreUnavailableError, type Store } from '../src/adapters/store.ts';
import type { Logger } from '../src/logger.ts';
import { firstDelivery } from '../src/ops/dedupe.ts';
import { commandsTotal } from '../src/ops/metrics.ts';

type Listener = (args: Record<string, unknown>) => Promise<void>;

function gate(store: Store, logger: Logger, listener: Listener): Listener {
  return async (args) => {
    await (args.ack as () => Promise<void>)();
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
    // Already acknowledged above.
    await listener({ ...args, ack: async () => undefined });
  };
}

/** `app` whose command and action listeners are registered behind the gate. */
export function gatedApp(app: App, store: Store, logger: Logger): App {
  return new Proxy(app, {
    get(target, prop, receiver) {
      if (prop !== 'command' && prop !== 'action') return Reflect.get(target, prop, receiver) as unknown;
      return (id: unknown, ...fns: Listener[]) => {
        const listener = fns.pop()!;
        return (target[prop] as (...a: unknown[]) => unknown).call(target, id, ...fns, gate(store, logger, listener));
      };
    },
  });
}
