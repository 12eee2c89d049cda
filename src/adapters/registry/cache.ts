// The registry answer cache, kept in the store table `registry-cache`. What a digest names never
// changes, so `registry/repository@digest` (its platforms; an index's images, an image's layers and run
// config) is kept for good, and so are facts the scans derived from a layer's or a manifest's bytes
// (`fact <kind> <digest>`). What may move is kept for a TTL: `registry/repository:tag` -> digest
// (registry.tagTtlSeconds) and `tags registry/repository` -> the tag list (registry.tagListTtlSeconds),
// dropped early when a tag it named is found missing. Expired entries are deleted when the client
// starts and hourly after. The store batches the writes (a write costs what changed; store/batch.ts).
import type { KeyedTable, Store } from '../store.ts';
import { BatchedTable } from '../store/batch.ts';
import type { Platform } from '../../images/types.ts';
import type { ImageRunConfig, LayerDescriptor } from '../../readiness/image-scan.ts';

export interface IndexImage extends Platform {
  digest: string;
}

export interface DigestEntry {
  platforms: Platform[];
  /** An index: its runnable images. */
  images?: IndexImage[];
  /** An image manifest: its layers, bottom first, and its config blob. */
  layers?: LayerDescriptor[];
  configDigest?: string;
  /** What the config blob says the container runs, once it was read. */
  run?: ImageRunConfig;
}

export interface TagEntry {
  digest: string;
  /** When it was read (ms since the epoch). */
  fetchedAt: number;
}

export interface TagListEntry {
  tags: string[];
  fetchedAt: number;
}

export interface FactEntry {
  fact: unknown;
}

export type CacheEntry = DigestEntry | TagEntry | TagListEntry | FactEntry;

export const REGISTRY_CACHE_TABLE = 'registry-cache';

const PRUNE_EVERY_MS = 3600_000;

/** A table kept in memory, for when no store is configured (CLI one-offs, benchmarks). */
export function memoryTable<V>(): KeyedTable<V> {
  return new BatchedTable<V>(new Map(), async () => undefined);
}

export function registryCacheTable(store: Store | undefined): KeyedTable<CacheEntry> {
  return store ? store.table(REGISTRY_CACHE_TABLE) : memoryTable();
}

const tagListKey = (base: string) => `tags ${base}`;
const factKey = (kind: string, digest: string) => `fact ${kind} ${digest}`;

export class RegistryCache {
  private prunedAt = -Infinity;

  constructor(
    private readonly table: KeyedTable<CacheEntry>,
    private readonly tagTtlMs: number,
    private readonly tagListTtlMs: number,
    private readonly now: () => number,
    private readonly onWriteError: (err: Error) => void,
  ) {
    this.pruneIfDue();
  }

  digestFor(tagKey: string): string | undefined {
    const entry = this.table.get(tagKey);
    return entry && 'digest' in entry && this.now() - entry.fetchedAt < this.tagTtlMs ? entry.digest : undefined;
  }

  entry(digestKey: string): DigestEntry | undefined {
    const entry = this.table.get(digestKey);
    return entry && 'platforms' in entry ? entry : undefined;
  }

  tags(base: string): string[] | undefined {
    const entry = this.table.get(tagListKey(base));
    return entry && 'tags' in entry && this.now() - entry.fetchedAt < this.tagListTtlMs ? entry.tags : undefined;
  }

  fact<T>(kind: string, digest: string): T | undefined {
    const entry = this.table.get(factKey(kind, digest));
    return entry && 'fact' in entry ? (entry.fact as T) : undefined;
  }

  /** Records a manifest read; resolves once it is stored (with whatever else was recorded in the same tick). */
  remember(digestKey: string, entry: DigestEntry, tagKey: string | undefined, digest: string): Promise<void> {
    const entries: Array<[string, CacheEntry]> = [[digestKey, entry]];
    if (tagKey && this.tagTtlMs > 0) entries.push([tagKey, { digest, fetchedAt: this.now() }]);
    return this.write(entries);
  }

  rememberTags(base: string, tags: string[]): Promise<void> {
    return this.tagListTtlMs > 0 ? this.write([[tagListKey(base), { tags, fetchedAt: this.now() }]]) : Promise.resolve();
  }

  /** A tag the registry no longer has: the tag list that named it is stale. */
  tagMissing(base: string): void {
    this.table.delete([tagListKey(base)]).catch(this.onWriteError);
  }

  rememberFact(kind: string, digest: string, fact: unknown): Promise<void> {
    return this.write([[factKey(kind, digest), { fact }]]);
  }

  private write(entries: Array<[string, CacheEntry]>): Promise<void> {
    this.pruneIfDue();
    return this.table.put(entries).catch(this.onWriteError);
  }

  /** Tags and tag lists past their TTL are of no use: they go, in one write. */
  private pruneIfDue(): void {
    const now = this.now();
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    this.table
      .prune((_, e) => ('digest' in e && now - e.fetchedAt >= this.tagTtlMs) || ('tags' in e && now - e.fetchedAt >= this.tagListTtlMs))
      .catch(this.onWriteError);
  }
}
