// The registry answer cache, kept in two store tables: what a manifest digest holds never changes, so
// `registry-digests` (`registry/repository@digest` -> platforms) is kept for good; what a tag points to
// may, so `registry-tags` (`registry/repository:tag` -> digest and when it was read) expires after a TTL.
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

export const DIGESTS_TABLE = 'registry-digests';
export const TAGS_TABLE = 'registry-tags';

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

export interface RegistryCacheTables {
  digests: KeyedTable<DigestEntry>;
  tags: KeyedTable<TagEntry>;
}

export function registryCacheTables(store: Store | undefined): RegistryCacheTables {
  return store ? { digests: store.table(DIGESTS_TABLE), tags: store.table(TAGS_TABLE) } : { digests: memoryTable(), tags: memoryTable() };
}

export class RegistryCache {
  private pending: { digests: Array<[string, DigestEntry]>; tags: Array<[string, TagEntry]> } = { digests: [], tags: [] };
  private scheduled: Promise<void> | undefined;

  constructor(
    private readonly tables: RegistryCacheTables,
    private readonly tagTtlMs: number,
    private readonly now: () => number,
  ) {}

  digestFor(tagKey: string): string | undefined {
    const entry = this.tables.tags.get(tagKey);
    return entry && this.now() - entry.fetchedAt < this.tagTtlMs ? entry.digest : undefined;
  }

  platformsOf(digestKey: string): Platform[] | undefined {
    return this.tables.digests.get(digestKey)?.platforms;
  }

  /** Records a lookup; resolves once it is stored (with whatever else was recorded meanwhile). */
  remember(digestKey: string, platforms: Platform[], tagKey: string | undefined, digest: string): Promise<void> {
    this.pending.digests.push([digestKey, { platforms }]);
    if (tagKey && this.tagTtlMs > 0) this.pending.tags.push([tagKey, { digest, fetchedAt: this.now() }]);
    // Deferred a tick so lookups finishing together share the write.
    this.scheduled ??= Promise.resolve().then(async () => {
      const batch = this.pending;
      this.pending = { digests: [], tags: [] };
      this.scheduled = undefined;
      await Promise.all([this.tables.digests.put(batch.digests), this.tables.tags.put(batch.tags)]);
    });
    return this.scheduled;
  }
}
