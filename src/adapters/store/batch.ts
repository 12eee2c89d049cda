// The write side of a keyed table (Store.table), shared by both drivers: puts and deletes made in the
// same tick are merged by key and handed to the driver as one batch, once the previous batch is written
// (so batches land in order); an entry equal to what is already held is not written at all.
import { isDeepStrictEqual } from 'node:util';
import type { KeyedTable } from './types.ts';

/** key -> the new value, or the deletion of the value last held (so a driver may delete only that). */
export type Batch = Map<string, { put: unknown } | { delete: unknown }>;

export class BatchedTable<V> implements KeyedTable<V> {
  private pending: Batch = new Map();
  private next?: Promise<void>;
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly map: Map<string, unknown>,
    private readonly write: (batch: Batch) => Promise<void>,
  ) {}

  get(key: string): V | undefined {
    return this.map.get(key) as V | undefined;
  }

  get size(): number {
    return this.map.size;
  }

  put(entries: Array<[key: string, value: V]>): Promise<void> {
    let changed = false;
    for (const [k, v] of entries) {
      if (this.map.has(k) && isDeepStrictEqual(this.map.get(k), v)) continue;
      this.map.set(k, v);
      this.pending.set(k, { put: v });
      changed = true;
    }
    return changed ? this.schedule() : (this.next ?? Promise.resolve());
  }

  delete(keys: string[]): Promise<void> {
    const held = keys.filter((k) => this.map.has(k));
    for (const k of held) {
      this.pending.set(k, { delete: this.map.get(k) });
      this.map.delete(k);
    }
    return held.length ? this.schedule() : Promise.resolve();
  }

  prune(expired: (key: string, value: V) => boolean): Promise<number> {
    let n = 0;
    for (const [k, v] of this.map) {
      if (!expired(k, v as V)) continue;
      this.map.delete(k);
      this.pending.set(k, { delete: v });
      n++;
    }
    return n ? this.schedule().then(() => n) : Promise.resolve(0);
  }

  /** Writes what is pending now (Store.close). */
  async flush(): Promise<void> {
    // A failed earlier write was already the failure of the puts it held.
    if (this.pending.size || this.next) await this.schedule();
    else await this.last.catch(() => undefined);
  }

  /** One write per tick, after the one before it: everything recorded meanwhile joins it. */
  private schedule(): Promise<void> {
    this.next ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.last.catch(() => undefined))
      .then(() => {
        const batch = this.pending;
        this.pending = new Map();
        this.next = undefined;
        this.last = this.write(batch);
        return this.last;
      });
    return this.next;
  }
}
