// The registry answer cache, kept in the store section `registryCache`: what a manifest digest holds
// never changes, so digests are kept for good; what a tag points to may, so tags expire after a TTL.
import type { Section } from '../store.ts';
import type { Platform } from '../../readiness/image-types.ts';

export interface RegistryCacheData {
  /** `registry/repository@digest` -> platforms of that manifest. */
  digests: Record<string, { platforms: Platform[] }>;
  /** `registry/repository:tag` -> digest, with the time (ms) it was read. */
  tags: Record<string, { digest: string; fetchedAt: number }>;
}

export const emptyRegistryCache = (): RegistryCacheData => ({ digests: {}, tags: {} });

/** A Section kept in memory, for when no store is configured (CLI one-offs, benchmarks). */
export function memorySection<T>(initial: () => T): Section<T> {
  let value = initial();
  return {
    get: () => value,
    update: async (fn) => {
      const draft = structuredClone(value);
      const result = await fn(draft);
      value = draft;
      return result;
    },
  };
}

export class RegistryCache {
  private pending: ((draft: RegistryCacheData) => void)[] = [];
  private scheduled: Promise<void> | undefined;

  constructor(
    private readonly section: Section<RegistryCacheData>,
    private readonly tagTtlMs: number,
    private readonly now: () => number,
  ) {}

  digestFor(tagKey: string): string | undefined {
    const entry = this.section.get().tags[tagKey];
    return entry && this.now() - entry.fetchedAt < this.tagTtlMs ? entry.digest : undefined;
  }

  platformsOf(digestKey: string): Platform[] | undefined {
    return this.section.get().digests[digestKey]?.platforms;
  }

  /**
   * Records a lookup. Writes are coalesced: all entries recorded while a write is queued go to
   * disk in that one write, so 500 parallel lookups cost a handful of writes, not 500.
   */
  remember(digestKey: string, platforms: Platform[], tagKey: string | undefined, digest: string): Promise<void> {
    const fetchedAt = this.now();
    this.pending.push((draft) => {
      draft.digests[digestKey] = { platforms };
      if (tagKey && this.tagTtlMs > 0) draft.tags[tagKey] = { digest, fetchedAt };
    });
    // Deferred a tick so the batch is taken after `scheduled` is set, even if update() runs fn at once.
    this.scheduled ??= Promise.resolve().then(() =>
      this.section.update((draft) => {
        const batch = this.pending;
        this.pending = [];
        this.scheduled = undefined;
        for (const apply of batch) apply(draft);
      }),
    );
    return this.scheduled;
  }
}
