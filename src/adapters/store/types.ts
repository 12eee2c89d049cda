// The store's contract, shared by the interface (store.ts) and its drivers (lowdb.ts, postgres.ts).
import { UserError } from '../../errors.ts';

export type StoreLockMode = 'exclusive' | 'if-free';

export class StoreError extends Error {}

/**
 * The database did not answer (down, restarting, unreachable). Nothing of the call was written (each
 * write is one transaction), so the person may simply try again; `detail` is for the log.
 */
export class StoreUnavailableError extends UserError {
  constructor(readonly detail: string) {
    super('state store unavailable, try again in a moment');
  }
}

export interface Section<T> {
  /** The value as last read or written by this process (see Store.refresh for other replicas' writes). */
  get(): T;
  /**
   * Applies `fn` to the current value and persists, as one transaction: updates from this and every other
   * process run one at a time per section, each on the latest committed value. A throwing `fn` or a failed
   * write changes nothing.
   */
  update<R = void>(fn: (value: T) => R | Promise<R>): Promise<R>;
}

/** Another process holds the lock `Store.withLock` asked for, longer than the caller would wait. */
export class StoreBusyError extends StoreError {}

/**
 * Many small entries, each written on its own: a write costs the entries that changed, not the table.
 * Reads see a put at once; puts and deletes made in the same tick go out together as one write (one
 * append, one statement), skipping entries whose value did not change. A crash loses at most the batch
 * not yet written; Store.close writes it.
 */
export interface KeyedTable<V> {
  get(key: string): V | undefined;
  readonly size: number;
  /** Upserts the entries; resolves once the batch holding them is written. */
  put(entries: Array<[key: string, value: V]>): Promise<void>;
  delete(keys: string[]): Promise<void>;
  /** Deletes the entries `expired` picks (all of them, in one write); resolves how many went. */
  prune(expired: (key: string, value: V) => boolean): Promise<number>;
}

export interface AuditRecord {
  at: string;
  /** actorId() of who acted: a Slack user id, `cli:<login>`, or `signal:<name>` (SIGHUP, archshift itself). */
  actor: string;
  channel?: string;
  action: string;
  service?: string;
  result: 'ok' | 'denied' | 'failed';
  detail?: string;
  requestId?: string;
}

/** Append-only: lowdb keeps the newest `auth.auditLimit` entries, PostgreSQL keeps every entry. */
export interface AuditTrail {
  append(entry: AuditRecord): Promise<void>;
  /** The newest entries this process knows (at most `auth.auditLimit`), oldest first. */
  recent(): AuditRecord[];
}

export type StoreDriver = 'lowdb' | 'postgres';

export interface Store {
  readonly driver: StoreDriver;
  /** Where the data lives, for messages: the file, or the database without its password. */
  readonly location: string;
  /** Set when another live process holds a lowdb file: updates stay in memory and nothing is written. */
  readonly heldBy?: string;
  readonly readOnly: boolean;
  section<T>(name: string, initial: () => T): Section<T>;
  table<V>(name: string): KeyedTable<V>;
  readonly audit: AuditTrail;
  /**
   * True the first time `key` is seen within `windowMs` by any process sharing this store (a retried
   * Slack delivery is then dropped by whichever replica receives it).
   */
  firstDelivery(key: string, windowMs: number): Promise<boolean>;
  /**
   * Runs `fn` while holding a lock named `key` that every process sharing the store respects, waiting up
   * to `waitMs` for it (then StoreBusyError). PostgreSQL: a session advisory lock, released by the server
   * when the holder's connection ends, so a killed process never leaves it behind. lowdb: one process
   * writes, so `fn` just runs.
   */
  withLock<R>(key: string, waitMs: number, fn: () => Promise<R>): Promise<R>;
  /** Re-reads what other processes changed since this one last looked (lowdb: nothing to do). */
  refresh(): Promise<void>;
  /** Resolves when the store can take writes now; the readiness probe. */
  ping(): Promise<void>;
  /** Finishes pending writes and releases the file lock or the connections. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** lowdb only: `if-free` for the CLI (read-only while a bot holds the file). */
  lock?: StoreLockMode;
  /** How many audit entries to keep at hand (auth.auditLimit). */
  auditLimit?: number;
  env?: NodeJS.ProcessEnv;
}
