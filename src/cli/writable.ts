import type { Store } from '../adapters/store.ts';
import { CliError, EXIT } from './exit-codes.ts';

/**
 * State-changing terminal commands need the store: while a bot holds it, this process may only read
 * (its writes would be lost, or would undo the bot's), so the change is refused with where to make it.
 */
export function requireWritableStore(deps: { readonly store: Store }, what: string): void {
  if (!deps.store.readOnly) return;
  throw new CliError(
    `${what} is not possible from this terminal: the bot (${deps.store.heldBy}) owns ${deps.store.location}. ` +
      'Use /arm64 in Slack, or run the CLI with a config whose store.file the bot does not use.',
    EXIT.noPermission,
  );
}
