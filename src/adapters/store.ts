// The one place that reads and writes the lowdb JSON file. Each feature owns a named section
// (registryCache, prs, canaries, history, audit, ...) and reaches it through `store.section()`, so
// features never edit each other's data and this module never needs to know their shapes.
import { mkdir, readFile } from 'node:fs/promises';
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

export class Store {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Low<StoreData>,
    readonly file: string,
  ) {}

  /**
   * Opens the store file. A missing file starts empty; a file that cannot be read or parsed, or that
   * was written by a newer schema, stops with a message naming the file and is never overwritten.
   */
  static async open(file: string): Promise<Store> {
    const path = resolve(file);
    await mkdir(dirname(path), { recursive: true });
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
    return new Store(db, path);
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

function checkShape(data: unknown, what: string, untouched: string): asserts data is StoreData {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isRecord(data) || !isRecord(data.sections) || typeof data.schemaVersion !== 'number') {
    throw new StoreError(`${what} does not look like an archshift store. ${untouched}`);
  }
  if (data.schemaVersion > STORE_SCHEMA_VERSION) {
    throw new StoreError(`${what} has schema version ${data.schemaVersion}, newer than this archshift (${STORE_SCHEMA_VERSION}); upgrade archshift. ${untouched}`);
  }
}
