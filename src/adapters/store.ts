// The one place that reads and writes the lowdb JSON file. Each feature owns a named section
// (registryCache, prs, canaries, history, audit, ...) and reaches it through `store.section()`, so
// features never edit each other's data and this module never needs to know their shapes.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';

export const STORE_SCHEMA_VERSION = 1;

export interface StoreData {
  schemaVersion: number;
  sections: Record<string, unknown>;
}

export class StoreError extends Error {}

export interface Section<T> {
  get(): T;
  /** Applies `fn` to the current value and persists; updates run one at a time, in call order. */
  update<R = void>(fn: (value: T) => R | Promise<R>): Promise<R>;
}

/**
 * How a process shares the file with others. lowdb rewrites the whole file, so two writing processes
 * would silently undo each other's updates: `exclusive` (the bot) refuses to start while another live
 * process holds the lock; `if-free` (the CLI) takes the lock when it is free and otherwise opens the
 * store read-only, keeping its changes in memory.
 */
export type StoreLockMode = 'exclusive' | 'if-free';

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

export class Store {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Low<StoreData>,
    readonly file: string,
    /** Set when another live process holds the lock: updates stay in memory and nothing is written. */
    readonly heldBy?: string,
  ) {}

  get readOnly(): boolean {
    return this.heldBy !== undefined;
  }

  /**
   * Opens the store file. A missing file starts empty; a file that cannot be read or parsed, or that
   * was written by a newer schema, stops with a message naming the file and is never overwritten.
   */
  static async open(file: string, lock: StoreLockMode = 'exclusive'): Promise<Store> {
    const path = resolve(file);
    await mkdir(dirname(path), { recursive: true });
    const holder = await liveLockHolder(path);
    if (holder && lock === 'exclusive') {
      throw new StoreError(
        `store file ${path} is in use by another archshift (pid ${holder.pid} on ${holder.host}, since ${holder.since}). ` +
          `Stop it, or give this one its own store.file. If that process is gone, delete ${path}.lock.`,
      );
    }
    if (!holder) await writeFile(`${path}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies LockInfo));
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StoreError(`cannot read store file ${path}: ${(err as Error).message}`);
      }
    }
    let data: StoreData = { schemaVersion: STORE_SCHEMA_VERSION, sections: {} };
    if (text !== undefined) {
      try {
        data = JSON.parse(text) as StoreData;
      } catch (err) {
        throw new StoreError(
          `store file ${path} is not valid JSON (${(err as Error).message}); it was left untouched. ` +
            'Restore it from a backup or move it aside to start with an empty store.',
        );
      }
      checkShape(data, `store file ${path}`, 'The file was left untouched.');
    }
    // lowdb's JSONFile writes through steno: a temp file renamed over the original, so a crash
    // mid-write leaves either the old or the new file. We read ourselves to refuse corrupt files.
    const db = new Low<StoreData>(new JSONFile<StoreData>(path), data);
    db.data = data;
    return new Store(db, path, holder ? `pid ${holder.pid} on ${holder.host}` : undefined);
  }

  /** Finishes pending writes and releases the lock (when this process holds it). */
  async close(): Promise<void> {
    await this.flush();
    if (!this.readOnly && (await liveLockHolder(this.file)) === undefined) await rm(`${this.file}.lock`, { force: true });
  }

  section<T>(name: string, initial: () => T): Section<T> {
    return {
      get: () => (this.db.data.sections[name] as T | undefined) ?? initial(),
      update: (fn) =>
        this.enqueue(async () => {
          // Work on a copy so a throwing update or a failed write leaves memory as it was on disk.
          const before = this.db.data.sections[name];
          const draft = structuredClone((before as T | undefined) ?? initial());
          const result = await fn(draft);
          this.db.data.sections[name] = draft;
          if (this.readOnly) return result;
          try {
            await this.db.write();
          } catch (err) {
            this.db.data.sections[name] = before;
            throw new StoreError(`cannot write store file ${this.file}: ${(err as Error).message}`);
          }
          return result;
        }),
    };
  }

  /** A deep copy of the whole store as last committed (after pending writes); what replication sends. */
  snapshot(): Promise<StoreData> {
    return this.enqueue(async () => structuredClone(this.db.data));
  }

  /**
   * Replaces every section at once with `data` (a replica pulled from the leader). Refuses data that is
   * not a store or has a newer schema; goes through the same queue and atomic write as section updates,
   * and leaves memory as on disk when the write fails.
   */
  async replaceAll(data: unknown): Promise<void> {
    checkShape(data, 'replicated store data', 'The local store was left as it was.');
    const next = structuredClone(data);
    await this.enqueue(async () => {
      const before = this.db.data;
      this.db.data = next;
      try {
        await this.db.write();
      } catch (err) {
        this.db.data = before;
        throw new StoreError(`cannot write store file ${this.file}: ${(err as Error).message}`);
      }
    });
  }

  /** Waits for pending writes; used on shutdown. */
  async flush(): Promise<void> {
    await this.enqueue(async () => undefined);
  }

  private enqueue<R>(job: () => Promise<R>): Promise<R> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * The process holding `<file>.lock`, when it is another one that is still alive on this host. A lock
 * left by a dead process, or by an earlier life of this pid (a container restarted as pid 1), is stale.
 */
async function liveLockHolder(path: string): Promise<LockInfo | undefined> {
  let info: LockInfo;
  try {
    info = JSON.parse(await readFile(`${path}.lock`, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
  if (typeof info?.pid !== 'number' || info.pid === process.pid) return undefined;
  if (info.host !== hostname()) return info; // cannot see that host's processes: assume it is alive
  try {
    process.kill(info.pid, 0);
    return info;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? info : undefined;
  }
}

function checkShape(data: unknown, what: string, untouched: string): asserts data is StoreData {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isRecord(data) || !isRecord(data.sections) || typeof data.schemaVersion !== 'number') {
    throw new StoreError(`${what} does not look like an archshift store. ${untouched}`);
  }
  if (data.schemaVersion > STORE_SCHEMA_VERSION) {
    throw new StoreError(`${what} has schema version ${data.schemaVersion}, newer than this archshift (${STORE_SCHEMA_VERSION}); upgrade archshift. ${untouched}`);
  }
}
