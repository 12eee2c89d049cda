// The state store: one interface, two drivers. `lowdb` (the default) keeps a JSON file for one replica;
// `postgres` keeps real tables for several replicas on one database. Features reach their data through
// named sections (small documents such as the canaries or the digest slot), keyed tables (the registry
// cache, many small entries written a few at a time) and the append-only audit log; the drivers decide
// how each is laid out, so features never know which one runs.
import type { StoreConfig } from '../config/store-config.ts';
import { openLowdbStore } from './store/lowdb.ts';
import type { OpenOptions, Store as StoreContract, StoreLockMode } from './store/types.ts';

export * from './store/types.ts';
/** The store's interface (store/types.ts); the value of the same name opens the lowdb driver. */
export type Store = StoreContract;

/** Opens the configured driver. Refuses a store written by a newer archshift, naming both versions. */
export function openStore(config: StoreConfig, opts: OpenOptions = {}): Promise<Store> {
  // pg is loaded only when it is the driver: most runs (every CLI on a laptop) never need it.
  if (config.driver === 'postgres') return import('./store/postgres.ts').then((m) => m.openPostgresStore(config.postgres, opts));
  return openLowdbStore(config.file, opts);
}

/** The lowdb driver on a file; what tests and one-off tools open. */
export const Store = {
  open: (file: string, lock: StoreLockMode = 'exclusive', opts: Omit<OpenOptions, 'lock'> = {}): Promise<Store> =>
    openLowdbStore(file, { ...opts, lock }),
};
