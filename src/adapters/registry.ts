// The one container registry adapter: tells whether an image reference publishes linux/arm64, and
// finds alternatives. HTTP, auth and retries live in registry/http.ts; the persisted answer cache
// in registry/cache.ts. Every outcome is explicit; nothing unknown is reported as ready.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import type { Store } from './store.ts';
import { parseImageRef, type ImageRef } from '../images/ref.ts';
import { hasArm64, type Arm64Suggestion, type ImageInspector, type ImageResult, type Platform } from '../images/types.ts';
import { findNearestArm64Tag, suggestArm64Image } from '../images/nearest-tag.ts';
import type { ImageLayerReader, ImageLayers, ImageRunConfig } from '../readiness/image-scan.ts';
import { RegistryCache, registryCacheTable, type DigestEntry } from './registry/cache.ts';
import { loadCredentials, type CredentialLookup } from './registry/credentials.ts';
import { ECR_READ_ACTIONS, parseEcrHost } from './registry/ecr.ts';
import {
  RegistryFailure,
  RegistryHttp,
  emptyStats,
  type Endpoint,
  type Reply,
  type RegistryStats,
  type RequestCounter,
} from './registry/http.ts';

export type { RegistryStats } from './registry/http.ts';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RegistryClientOptions {
  config: Config['registry'];
  /** Persists answers across restarts (table `registry-cache`); without it they are kept in memory. */
  store?: Store;
  logger?: Logger;
  /**
   * Where to connect for a registry host, `{ "<host>": "<address>:<port>" }` (curl's --connect-to): for a
   * registry reached under its own name through a tunnel or a local stand-in. Host header and TLS name are kept.
   */
  connectTo?: Record<string, string>;
  /** Clock for tag TTLs and token expiry (ms since epoch). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  env?: NodeJS.ProcessEnv;
  /** First retry delay without Retry-After, doubled per attempt (default 250 ms). */
  backoffMs?: number;
  /** Longest Retry-After waited for (default 30 s); longer ones fail the lookup at once. */
  maxRetryAfterMs?: number;
  /** Tags per page when listing (`?n=`). */
  tagPageSize?: number;
  /** How many candidate tags nearestArm64Tag inspects at most. */
  maxCandidates?: number;
  /** Longest download of one blob (layer) streamed by openBlob; requests keep `timeoutMs` (default 10 min). */
  blobTimeoutMs?: number;
  /** The bot's Prometheus counters (src/ops/metrics.ts); the terminal serves no metrics, so it loads none. */
  metrics?: RegistryMetrics;
}

export interface RegistryMetrics {
  requests: RequestCounter;
  cacheHits: { inc(): void };
}

const DEFAULT_BLOB_TIMEOUT_MS = 10 * 60_000;

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  return new RegistryClient(options);
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

const MAX_TAG_PAGES = 100;

export class RegistryClient implements ImageInspector, ImageLayerReader {
  private readonly http: RegistryHttp;
  private readonly cache: RegistryCache;
  private readonly counters: RegistryStats = emptyStats();
  private readonly inFlight = new Map<string, Promise<ImageResult>>();
  private readonly tagListings = new Map<string, Promise<string[]>>();
  private readonly credentials: CredentialLookup;

  constructor(private readonly o: RegistryClientOptions) {
    const now = o.now ?? Date.now;
    this.credentials = loadCredentials(o.config, { env: o.env, now });
    this.http = new RegistryHttp({
      config: o.config,
      credentials: this.credentials,
      connectTo: o.connectTo,
      metrics: o.metrics?.requests,
      now,
      sleep: o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      backoffMs: o.backoffMs ?? 250,
      maxRetryAfterMs: o.maxRetryAfterMs ?? 30_000,
      stats: this.counters,
      logger: o.logger,
    });
    this.cache = new RegistryCache(
      registryCacheTable(o.store),
      o.config.tagTtlSeconds * 1000,
      o.config.tagListTtlSeconds * 1000,
      now,
      (err) => o.logger?.warn({ err: err.message }, 'registry cache not saved'),
    );
  }

  /** Requests made and cache use so far (a copy). */
  stats(): RegistryStats {
    return structuredClone(this.counters);
  }

  inspect(reference: string): Promise<ImageResult> {
    let ref: ImageRef;
    try {
      ref = parseImageRef(reference);
    } catch (err) {
      return Promise.resolve({ reference, normalized: reference.trim(), status: 'error', platforms: [], reason: (err as Error).message });
    }
    const running = this.inFlight.get(ref.normalized);
    if (running) {
      this.counters.deduplicated++;
      return running.then((result) => ({ ...result, reference }));
    }
    const lookup = this.lookup(ref).finally(() => this.inFlight.delete(ref.normalized));
    this.inFlight.set(ref.normalized, lookup);
    return lookup;
  }

  /** A tag of the same release line only: a new major version is never a silent bump. */
  async nearestArm64Tag(reference: string): Promise<string | undefined> {
    return (await findNearestArm64Tag(reference, this, this.o.maxCandidates, this.o.config.mirrors)).tag;
  }

  suggestArm64Image(reference: string): Promise<Arm64Suggestion> {
    return suggestArm64Image(reference, this, this.o.maxCandidates, this.o.config.mirrors);
  }

  /** All tags of the reference's repository, following `Link: <...>; rel="next"` pages; cached for registry.tagListTtlSeconds. */
  async listTags(reference: string): Promise<string[]> {
    const ep = endpoint(parseImageRef(reference));
    const base = `${ep.registry}/${ep.repository}`;
    const cached = this.cache.tags(base);
    if (cached) {
      this.counters.cacheHits++;
      this.o.metrics?.cacheHits.inc();
      return cached;
    }
    // Two amd64-only tags of one repository ask for its list at the same time: one listing serves both.
    const listing = this.tagListings.get(base);
    if (listing) return listing;
    this.counters.cacheMisses++;
    const p = this.fetchTags(ep, base).finally(() => this.tagListings.delete(base));
    this.tagListings.set(base, p);
    return p;
  }

  private async fetchTags(ep: Endpoint, base: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${ep.repository}/tags/list?n=${this.o.tagPageSize ?? 1000}`;
    for (let page = 0; path && page < MAX_TAG_PAGES; page++) {
      const reply = await this.http.get(ep, path, 'tags');
      if (reply.status !== 200) throw this.failure(reply, ep, `the tag list of ${base}`);
      const body = parseJson<{ tags?: string[] | null }>(reply, `tag list of ${base}`);
      tags.push(...(body.tags ?? []));
      path = nextPage(reply.headers.get('link'));
    }
    await this.cache.rememberTags(base, tags);
    return tags;
  }

  /**
   * The layers of the linux/amd64 image of `reference` (or of its only image): what runs today, so what
   * its files are. With `architecture` (e.g. arm64), that variant's layers and its run config instead.
   * Manifests come from the cache when known (by digest for good, a tag for its TTL).
   * Throws RegistryFailure (or an Error for a malformed reference) with a reason.
   */
  async imageLayers(reference: string, architecture?: string): Promise<ImageLayers> {
    const ref = parseImageRef(reference);
    const ep = endpoint(ref);
    const base = `${ref.registry}/${ref.repository}`;
    const arch = architecture ?? 'amd64';
    let what = ref.normalized;
    let { digest, entry } = await this.manifest(ep, ref.digest ?? ref.tag!, {
      tagKey: ref.digest ? undefined : `${base}:${ref.tag}`,
      what,
      layout: true,
    });
    let chosen: Platform | undefined;
    if (entry.images) {
      const linux = entry.images.filter((d) => d.os === 'linux' && d.architecture === arch);
      // arm64 without a variant, or v8, is what an arm64 node runs.
      const pick =
        linux.find((d) => !d.variant || d.variant === 'v8') ??
        linux[0] ??
        (!architecture && entry.images.length === 1 ? entry.images[0] : undefined);
      if (!pick) {
        const listed = entry.images.map((d) => `${d.os}/${d.architecture}`).join(', ') || 'none';
        throw Object.assign(
          new RegistryFailure('error', `the index of ${what} has no linux/${arch} image to look into (platforms: ${listed})`),
          { noVariant: true },
        );
      }
      chosen = platform(pick.os, pick.architecture, pick.variant);
      what = `${base}@${pick.digest}`;
      ({ digest, entry } = await this.manifest(ep, pick.digest, { what, layout: true, platform: chosen }));
    }
    if (!entry.layers)
      throw new RegistryFailure(
        'error',
        `${what} has no layer list (${entry.images ? 'an index inside an index' : 'not an image manifest'})`,
      );
    const layers = entry.layers;
    if (!architecture) return { digest, platform: chosen ?? entry.platforms[0]!, layers };
    let run = entry.run;
    if (!run) {
      const config = await this.configBlob(ep, entry.configDigest, what);
      run = config.run;
      await this.cache.remember(`${base}@${digest}`, { ...entry, run }, undefined, digest);
    }
    return { digest, platform: chosen ?? entry.platforms[0]!, layers, config: run };
  }

  /** Facts a scan derived from a layer's or a manifest's bytes, kept by digest for good (the scans' memo). */
  contentFact<T>(kind: string, digest: string): T | undefined {
    return this.cache.fact<T>(kind, digest);
  }

  rememberContentFact(kind: string, digest: string, fact: unknown): Promise<void> {
    return this.cache.rememberFact(kind, digest, fact);
  }

  /** The config blob's platform and what the container runs. */
  private async configBlob(
    ep: Endpoint,
    digest: string | undefined,
    what: string,
  ): Promise<{ os?: string; architecture?: string; variant?: string; run: ImageRunConfig }> {
    if (!digest) throw new RegistryFailure('error', `${what} names no config blob`);
    const blob = await this.http.get(ep, `/v2/${ep.repository}/blobs/${digest}`, 'blob');
    if (blob.status !== 200) throw this.failure(blob, ep, `the config blob of ${what}`);
    const c = parseJson<{
      os?: string;
      architecture?: string;
      variant?: string;
      config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string };
    }>(blob, `config blob of ${what}`);
    const strings = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
    return {
      os: c.os,
      architecture: c.architecture,
      variant: c.variant,
      run: {
        entrypoint: strings(c.config?.Entrypoint),
        cmd: strings(c.config?.Cmd),
        env: strings(c.config?.Env),
        ...(typeof c.config?.WorkingDir === 'string' ? { workingDir: c.config.WorkingDir } : {}),
      },
    };
  }

  /** Streams one blob; the download may take up to `blobTimeoutMs`. Throws RegistryFailure when it cannot start. */
  async openBlob(reference: string, digest: string): Promise<Readable> {
    const ref = parseImageRef(reference);
    const ep = endpoint(ref);
    const reply = await this.http.get(ep, `/v2/${ep.repository}/blobs/${digest}`, 'blob', undefined, {
      timeoutMs: this.o.blobTimeoutMs ?? DEFAULT_BLOB_TIMEOUT_MS,
    });
    if (reply.status !== 200 || !reply.stream) throw this.failure(reply, ep, `layer ${digest} of ${ref.normalized}`);
    return reply.stream;
  }

  private async lookup(ref: ImageRef): Promise<ImageResult> {
    const base = `${ref.registry}/${ref.repository}`;
    const tagKey = ref.digest ? undefined : `${base}:${ref.tag}`;
    const knownDigest = ref.digest ?? this.cache.digestFor(tagKey!);
    const cached = knownDigest ? this.cache.entry(`${base}@${knownDigest}`) : undefined;
    if (knownDigest && cached) {
      this.counters.cacheHits++;
      this.o.metrics?.cacheHits.inc();
      return result(ref, knownDigest, cached.platforms);
    }
    this.counters.cacheMisses++;
    try {
      const { digest, entry } = await this.manifest(endpoint(ref), ref.digest ?? ref.tag!, { tagKey, what: ref.normalized });
      return result(ref, digest, entry.platforms);
    } catch (err) {
      const failure = err instanceof RegistryFailure ? err : new RegistryFailure('error', (err as Error).message);
      return { reference: ref.input, normalized: ref.normalized, status: failure.kind, platforms: [], reason: failure.message };
    }
  }

  /**
   * The manifest `target` (a tag or a digest) names, as a cache entry: from the cache when the digest is
   * known and the entry holds what is needed (`layout`: an index's images or an image's layers), else
   * read from the registry and remembered. A tag that is gone makes its repository's tag list stale.
   */
  private async manifest(
    ep: Endpoint,
    target: string,
    o: { tagKey?: string; what: string; layout?: boolean; platform?: Platform },
  ): Promise<{ digest: string; entry: DigestEntry }> {
    const base = `${ep.registry}/${ep.repository}`;
    const known = target.startsWith('sha256:') ? target : o.tagKey && this.cache.digestFor(o.tagKey);
    const hit = known ? this.cache.entry(`${base}@${known}`) : undefined;
    if (known && hit && (!o.layout || hit.images || hit.layers)) return { digest: known, entry: hit };
    const reply = await this.http.get(ep, `/v2/${ep.repository}/manifests/${target}`, 'manifest', MANIFEST_ACCEPT);
    if (reply.status !== 200) {
      const failure = this.failure(reply, ep, o.what);
      if (failure.kind === 'not-found' && o.tagKey) this.cache.tagMissing(base);
      throw failure;
    }
    const digest = sha256(reply.body);
    if (target.startsWith('sha256:') && target !== digest) {
      throw new RegistryFailure('error', `${ep.registry} returned a manifest whose digest ${digest} differs from the requested ${target}`);
    }
    // A tag re-read after its TTL usually still points at a digest we know: no config blob again.
    const prior = this.cache.entry(`${base}@${digest}`);
    const entry =
      prior && (prior.images || prior.layers)
        ? prior
        : await this.entryOf(ep, reply, o.what, prior?.platforms ?? (o.platform && [o.platform]));
    await this.cache.remember(`${base}@${digest}`, entry, o.tagKey, digest);
    return { digest, entry };
  }

  /**
   * What a manifest says: an index lists its platforms and images; a single image names its layers, and
   * its platform only in its config blob (read unless the index that led here named it already).
   */
  private async entryOf(ep: Endpoint, reply: Reply, what: string, platforms?: Platform[]): Promise<DigestEntry> {
    const manifest = parseJson<{
      manifests?: Descriptor[];
      layers?: Descriptor[];
      config?: Descriptor;
      architecture?: string;
      schemaVersion?: number;
    }>(reply, `manifest of ${what}`);
    if (Array.isArray(manifest.manifests)) {
      const runnable = runnablePlatforms(manifest.manifests);
      if (runnable.length === 0) throw new RegistryFailure('error', `the index of ${what} lists no runnable platform`);
      const images = manifest.manifests
        .filter((d) => isRunnable(d) && d.digest)
        .map((d) => ({ ...platform(d.platform!.os!, d.platform!.architecture!, d.platform!.variant), digest: d.digest! }));
      return { platforms: runnable, images };
    }
    if (manifest.config?.digest) {
      const layout = Array.isArray(manifest.layers)
        ? {
            layers: manifest.layers
              .filter((l) => l.digest)
              .map((l) => ({ mediaType: l.mediaType ?? '', digest: l.digest!, ...(l.size !== undefined ? { size: l.size } : {}) })),
            configDigest: manifest.config.digest,
          }
        : {};
      if (platforms?.length) return { platforms, ...layout };
      const config = await this.configBlob(ep, manifest.config.digest, what);
      if (!config.architecture) throw new RegistryFailure('error', `the config blob of ${what} names no architecture`);
      return {
        platforms: [platform(config.os ?? 'linux', config.architecture, config.variant)],
        ...layout,
        ...('layers' in layout ? { run: config.run } : {}),
      };
    }
    if (manifest.schemaVersion === 1 && manifest.architecture) return { platforms: [platform('linux', manifest.architecture)] };
    throw new RegistryFailure(
      'error',
      `${what} has an unsupported manifest type (${reply.headers.get('content-type') ?? 'no content type'})`,
    );
  }

  private failure(reply: Reply, ep: Endpoint, what: string): RegistryFailure {
    const name = `${ep.registry}/${ep.repository}`;
    const code = errorCode(reply.body);
    if (reply.status === 404) {
      return new RegistryFailure(
        'not-found',
        code === 'NAME_UNKNOWN'
          ? `repository ${name} does not exist on ${ep.registry}`
          : `${what} was not found on ${ep.registry} (${code ?? 'HTTP 404'}); check the tag or digest`,
      );
    }
    if (reply.status === 401 || reply.status === 403) {
      const source = this.credentials.source(ep.registry);
      return new RegistryFailure(
        'unauthorized',
        source
          ? `${ep.registry} refused ${name} with the credentials from ${source} (HTTP ${reply.status}); check they are valid and may pull it` +
              (parseEcrHost(ep.registry) ? ` (IAM: ${Object.values(ECR_READ_ACTIONS).join(', ')} on the repository)` : '')
          : `${ep.registry} requires credentials to pull ${name}, or it does not exist (HTTP ${reply.status}); ` +
              (this.credentials.problem(ep.registry) ??
                `add credentials for ${ep.registry} in registry.credentials or a Docker config.json (registry.dockerConfig)`),
      );
    }
    if (reply.status === 429) {
      const wait = this.http.retryAfterMs(reply.headers);
      return new RegistryFailure(
        'error',
        `${ep.registry} rate-limited the lookup of ${what} (HTTP 429) after ${reply.attempts} attempts` +
          `${wait !== undefined ? `; it asks to wait ${Math.ceil(wait / 1000)} s` : ''}; try again later, or add credentials (higher limits)`,
      );
    }
    if (reply.status >= 500) {
      return new RegistryFailure(
        'error',
        `${ep.registry} failed with HTTP ${reply.status} for ${what} after ${reply.attempts} attempts; try again later`,
      );
    }
    return new RegistryFailure('error', `${ep.registry} answered HTTP ${reply.status}${code ? ` (${code})` : ''} for ${what}`);
  }
}

function endpoint(ref: ImageRef): Endpoint {
  return { registry: ref.registry, apiHost: ref.apiHost, repository: ref.repository };
}

function result(ref: ImageRef, digest: string, platforms: Platform[]): ImageResult {
  return {
    reference: ref.input,
    normalized: ref.normalized,
    status: hasArm64(platforms) ? 'multi-arch-with-arm64' : 'amd64-only',
    digest,
    platforms,
  };
}

function platform(os: string, architecture: string, variant?: string): Platform {
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Drops BuildKit attestation manifests (`unknown/unknown`), which are not runnable images. */
function runnablePlatforms(descriptors: Descriptor[]): Platform[] {
  const seen = new Map<string, Platform>();
  for (const d of descriptors.filter(isRunnable)) {
    const p = d.platform!;
    const entry = platform(p.os!, p.architecture!, p.variant);
    seen.set(`${entry.os}/${entry.architecture}/${entry.variant ?? ''}`, entry);
  }
  return [...seen.values()];
}

function isRunnable(d: Descriptor): boolean {
  const p = d.platform;
  if (!p?.architecture || !p.os) return false;
  if (p.os === 'unknown' || p.architecture === 'unknown') return false;
  return d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest';
}

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

function parseJson<T>(reply: Reply, what: string): T {
  try {
    return JSON.parse(reply.body.toString('utf8')) as T;
  } catch {
    throw new RegistryFailure('error', `the registry sent a malformed ${what} (not JSON)`);
  }
}

function errorCode(body: Buffer): string | undefined {
  try {
    return (JSON.parse(body.toString('utf8')) as { errors?: { code?: string }[] }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** `Link: </v2/x/tags/list?last=a&n=2>; rel="next"` -> the path to fetch next. */
function nextPage(link: string | null): string | undefined {
  const match = link && /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (!match) return undefined;
  const url = new URL(match[1]!, 'http://registry.invalid');
  return `${url.pathname}${url.search}`;
}
