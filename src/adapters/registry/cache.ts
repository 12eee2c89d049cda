// The registry answer cache, kept in the store table `registry-cache` by reference: what a manifest
// digest holds never changes, so `registry/repository@digest` -> platforms is kept for good; what a tag
// points to may, so `registry/repository:tag` -> digest (with when it was read) expires after a TTL.
// Entries recorded while a write is on its way go out together in the next one, so a write costs the
// entries recorded, never the whole cache.
import type { KeyedTable, Store } from '../store.ts';
import type { Platform } from '../../readiness/image-types.ts';

export interface DigestEntry {
  platforms: Platform[];
}

export interface TagEntry {
  digest: string;
  /** When it was read (ms since the epoch). */
  fetchedAt: number;
}

export type CacheEntry = DigestEntry | TagEntry;

export const REGISTRY_CACHE_TABLE = 'registry-cache';

/** A table kept in memory, for when no store is configured (CLI one-offs, benchmarks). */
export function memoryTable<V>(): KeyedTable<V> {
  const map = new Map<string, V>();
  return {
    get: (key) => map.get(key),
    get size() {
      return map.size;
    },
    put: async (entries) => {
      for (const [k, v] of entries) map.set(k, v);
    },
  };
}

export function registryCacheTable(store: Store | undefined): KeyedTable<CacheEntry> {
  return store ? store.table(REGISTRY_CACHE_TABLE) : memoryTable();
}

export class RegistryCache {
  private pending: Array<[string, CacheEntry]> = [];
  private scheduled: Promise<void> | undefined;

  constructor(
    private readonly table: KeyedTable<CacheEntry>,
    private readonly tagTtlMs: number,
    private readonly now: () => number,
  ) {}

  digestFor(tagKey: string): string | undefined {
    const entry = this.table.get(tagKey);
    return entry && 'digest' in entry && this.now() - entry.fetchedAt < this.tagTtlMs ? entry.digest : undefined;
  }

  platformsOf(digestKey: string): Platform[] | undefined {
    const entry = this.table.get(digestKey);
    return entry && 'platforms' in entry ? entry.platforms : undefined;
  }

  /** Records a lookup; resolves once it is stored (with whatever else was recorded meanwhile). */
  remember(digestKey: string, platforms: Platform[], tagKey: string | undefined, digest: string): Promise<void> {
    this.pending.push([digestKey, { platforms }]);
    if (tagKey && this.tagTtlMs > 0) this.pending.push([tagKey, { digest, fetchedAt: this.now() }]);
    // Deferred a tick so lookups finishing together share the write.
    this.scheduled ??= Promise.resolve().then(async () => {
      const batch = this.pending;
      this.pending = [];
      this.scheduled = undefined;
      await this.table.put(batch);
    });
    return this.scheduled;
  }
}
