// Before any Slack work runs: the store must answer. With PostgreSQL this is also where a replica picks
// up what the others wrote since its last request. When the database is down the person is told to try
// again and nothing runs, so nothing is half-done.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import { StoreUnavailableError, type Store } from '../src/adapters/store.ts';
import type { Logger } from '../src/logger.ts';
import { commandsTotal } from '../src/ops/metrics.ts';

export function storeGate(store: Store, logger: Logger): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    try {
      await store.refresh();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      const { ack, respond } = args as { ack?: () => Promise<void>; respond?: (r: unknown) => Promise<unknown> };
      if (ack) await ack();
      commandsTotal.inc({ subcommand: '-', outcome: 'store-unavailable' });
      logger.warn({ err: err.detail }, 'state store unavailable; the Slack request was refused');
      await respond?.({ response_type: 'ephemeral', replace_original: false, text: `⚠️ ${err.message}.` }).catch(() => undefined);
      return;
    }
    await args.next();
  };
}
