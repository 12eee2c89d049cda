// The one container registry adapter: tells whether an image reference publishes linux/arm64, and
// finds alternatives. HTTP, auth and retries live in registry/http.ts; the persisted answer cache
// in registry/cache.ts. Every outcome is explicit; nothing unknown is reported as ready.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import type { Store } from './store.ts';
import { registryCacheHits } from '../ops/metrics.ts';
import { parseImageRef, type ImageRef } from '../readiness/image-ref.ts';
import { hasArm64, type Arm64Suggestion, type ImageInspector, type ImageResult, type Platform } from '../readiness/image-types.ts';
import { findNearestArm64Tag, suggestArm64Image } from '../readiness/nearest-tag.ts';
import type { ImageLayerReader, ImageLayers } from '../readiness/image-scan.ts';
import { RegistryCache, registryCacheTable } from './registry/cache.ts';
import { loadCredentials, type CredentialLookup } from './registry/credentials.ts';
import { ECR_READ_ACTIONS, parseEcrHost } from './registry/ecr.ts';
import { RegistryFailure, RegistryHttp, emptyStats, type Endpoint, type Reply, type RegistryStats } from './registry/http.ts';

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
  fetch?: typeof fetch;
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

interface ImageManifest {
  manifests?: Descriptor[];
  layers?: Descriptor[];
  config?: Descriptor;
}

const MAX_TAG_PAGES = 100;

export class RegistryClient implements ImageInspector, ImageLayerReader {
  private readonly http: RegistryHttp;
  private readonly cache: RegistryCache;
  private readonly counters: RegistryStats = emptyStats();
  private readonly inFlight = new Map<string, Promise<ImageResult>>();
  private readonly credentials: CredentialLookup;

  constructor(private readonly o: RegistryClientOptions) {
    const now = o.now ?? Date.now;
    this.credentials = loadCredentials(o.config, { env: o.env, now });
    this.http = new RegistryHttp({
      config: o.config,
      credentials: this.credentials,
      fetch: o.fetch ?? globalThis.fetch,
      now,
      sleep: o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      backoffMs: o.backoffMs ?? 250,
      maxRetryAfterMs: o.maxRetryAfterMs ?? 30_000,
      stats: this.counters,
      logger: o.logger,
    });
    this.cache = new RegistryCache(registryCacheTable(o.store), o.config.tagTtlSeconds * 1000, now);
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

  /** All tags of the reference's repository, following `Link: <...>; rel="next"` pages. */
  async listTags(reference: string): Promise<string[]> {
    const ep = endpoint(parseImageRef(reference));
    const tags: string[] = [];
    let path: string | undefined = `/v2/${ep.repository}/tags/list?n=${this.o.tagPageSize ?? 1000}`;
    for (let page = 0; path && page < MAX_TAG_PAGES; page++) {
      const reply = await this.http.get(ep, path, 'tags');
      if (reply.status !== 200) throw this.failure(reply, ep, `the tag list of ${ep.registry}/${ep.repository}`);
      const body = parseJson<{ tags?: string[] | null }>(reply, `tag list of ${ep.registry}/${ep.repository}`);
      tags.push(...(body.tags ?? []));
      path = nextPage(reply.headers.get('link'));
    }
    return tags;
  }

  /**
   * The layers of the linux/amd64 image of `reference` (or of its only image): what runs today, so what
   * its files are. With `architecture` (e.g. arm64), that variant's layers and its run config instead.
   * Throws RegistryFailure (or an Error for a malformed reference) with a reason.
   */
  async imageLayers(reference: string, architecture?: string): Promise<ImageLayers> {
    const ref = parseImageRef(reference);
    const ep = endpoint(ref);
    const arch = architecture ?? 'amd64';
    let what = ref.normalized;
    let reply = await this.http.get(ep, `/v2/${ep.repository}/manifests/${ref.digest ?? ref.tag}`, 'manifest', MANIFEST_ACCEPT);
    if (reply.status !== 200) throw this.failure(reply, ep, what);
    let manifest = parseJson<ImageManifest>(reply, `manifest of ${what}`);
    let chosen: Platform | undefined;
    if (Array.isArray(manifest.manifests)) {
      const runnable = manifest.manifests.filter(isRunnable);
      const linux = runnable.filter((d) => d.platform!.os === 'linux' && d.platform!.architecture === arch);
      // arm64 without a variant, or v8, is what an arm64 node runs.
      const pick = linux.find((d) => !d.platform!.variant || d.platform!.variant === 'v8') ?? linux[0] ?? (!architecture && runnable.length === 1 ? runnable[0] : undefined);
      if (!pick?.digest) {
        const listed = runnable.map((d) => `${d.platform!.os}/${d.platform!.architecture}`).join(', ') || 'none';
        throw Object.assign(new RegistryFailure('error', `the index of ${what} has no linux/${arch} image to look into (platforms: ${listed})`), { noVariant: true });
      }
      chosen = platform(pick.platform!.os!, pick.platform!.architecture!, pick.platform!.variant);
      what = `${ep.registry}/${ep.repository}@${pick.digest}`;
      reply = await this.http.get(ep, `/v2/${ep.repository}/manifests/${pick.digest}`, 'manifest', MANIFEST_ACCEPT);
      if (reply.status !== 200) throw this.failure(reply, ep, what);
      manifest = parseJson<ImageManifest>(reply, `manifest of ${what}`);
    }
    if (!Array.isArray(manifest.layers)) {
      throw new RegistryFailure('error', `${what} has no layer list (${reply.headers.get('content-type') ?? 'no content type'})`);
    }
    const layers = manifest.layers.filter((l) => l.digest).map((l) => ({ mediaType: l.mediaType ?? '', digest: l.digest!, size: l.size }));
    const digest = sha256(reply.body);
    if (!architecture) {
      chosen ??= (await this.platformsOf(ep, reply, what))[0]!;
      return { digest, platform: chosen, layers };
    }
    const config = await this.runConfig(ep, manifest.config?.digest, what);
    return { digest, platform: chosen ?? platform(config.os ?? 'linux', config.architecture ?? 'unknown', config.variant), layers, config: config.run };
  }

  /** The config blob's platform and what the container runs. */
  private async runConfig(ep: Endpoint, digest: string | undefined, what: string): Promise<{ os?: string; architecture?: string; variant?: string; run: NonNullable<ImageLayers['config']> }> {
    if (!digest) throw new RegistryFailure('error', `${what} names no config blob`);
    const blob = await this.http.get(ep, `/v2/${ep.repository}/blobs/${digest}`, 'blob');
    if (blob.status !== 200) throw this.failure(blob, ep, `the config blob of ${what}`);
    const c = parseJson<{ os?: string; architecture?: string; variant?: string; config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string } }>(blob, `config blob of ${what}`);
    const strings = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
    return {
      os: c.os,
      architecture: c.architecture,
      variant: c.variant,
      run: { entrypoint: strings(c.config?.Entrypoint), cmd: strings(c.config?.Cmd), env: strings(c.config?.Env), ...(typeof c.config?.WorkingDir === 'string' ? { workingDir: c.config.WorkingDir } : {}) },
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
    const cached = knownDigest ? this.cache.platformsOf(`${base}@${knownDigest}`) : undefined;
    if (knownDigest && cached) {
      this.counters.cacheHits++;
      registryCacheHits.inc();
      return result(ref, knownDigest, cached);
    }
    this.counters.cacheMisses++;
    const ep = endpoint(ref);
    try {
      const reply = await this.http.get(ep, `/v2/${ep.repository}/manifests/${ref.digest ?? ref.tag}`, 'manifest', MANIFEST_ACCEPT);
      if (reply.status !== 200) throw this.failure(reply, ep, ref.normalized);
      const digest = sha256(reply.body);
      if (ref.digest && ref.digest.startsWith('sha256:') && ref.digest !== digest) {
        throw new RegistryFailure('error', `${ep.registry} returned a manifest whose digest ${digest} differs from the requested ${ref.digest}`);
      }
      // A tag re-read after its TTL usually still points at a digest we know: skip the config blob.
      const platforms = this.cache.platformsOf(`${base}@${digest}`) ?? (await this.platformsOf(ep, reply, ref.normalized));
      try {
        await this.cache.remember(`${base}@${digest}`, platforms, tagKey, digest);
      } catch (err) {
        this.o.logger?.warn({ err: (err as Error).message }, 'registry cache not saved');
      }
      return result(ref, digest, platforms);
    } catch (err) {
      const failure = err instanceof RegistryFailure ? err : new RegistryFailure('error', (err as Error).message);
      return { reference: ref.input, normalized: ref.normalized, status: failure.kind, platforms: [], reason: failure.message };
    }
  }

  /** An index lists its platforms; a single image names its platform only in its config blob. */
  private async platformsOf(ep: Endpoint, reply: Reply, what: string): Promise<Platform[]> {
    const manifest = parseJson<{ manifests?: Descriptor[]; config?: Descriptor; architecture?: string; schemaVersion?: number }>(reply, `manifest of ${what}`);
    if (Array.isArray(manifest.manifests)) {
      const platforms = runnablePlatforms(manifest.manifests);
      if (platforms.length === 0) throw new RegistryFailure('error', `the index of ${what} lists no runnable platform`);
      return platforms;
    }
    if (manifest.config?.digest) {
      const blob = await this.http.get(ep, `/v2/${ep.repository}/blobs/${manifest.config.digest}`, 'blob');
      if (blob.status !== 200) throw this.failure(blob, ep, `the config blob of ${what}`);
      const config = parseJson<{ os?: string; architecture?: string; variant?: string }>(blob, `config blob of ${what}`);
      if (!config.architecture) throw new RegistryFailure('error', `the config blob of ${what} names no architecture`);
      return [platform(config.os ?? 'linux', config.architecture, config.variant)];
    }
    if (manifest.schemaVersion === 1 && manifest.architecture) return [platform('linux', manifest.architecture)];
    throw new RegistryFailure('error', `${what} has an unsupported manifest type (${reply.headers.get('content-type') ?? 'no content type'})`);
  }

  private failure(reply: Reply, ep: Endpoint, what: string): RegistryFailure {
    const name = `${ep.registry}/${ep.repository}`;
    const code = errorCode(reply.body);
    if (reply.status === 404) {
      return new RegistryFailure('not-found', code === 'NAME_UNKNOWN'
        ? `repository ${name} does not exist on ${ep.registry}`
        : `${what} was not found on ${ep.registry} (${code ?? 'HTTP 404'}); check the tag or digest`);
    }
    if (reply.status === 401 || reply.status === 403) {
      const source = this.credentials.source(ep.registry);
      return new RegistryFailure('unauthorized', source
        ? `${ep.registry} refused ${name} with the credentials from ${source} (HTTP ${reply.status}); check they are valid and may pull it` +
          (parseEcrHost(ep.registry) ? ` (IAM: ${Object.values(ECR_READ_ACTIONS).join(', ')} on the repository)` : '')
        : `${ep.registry} requires credentials to pull ${name}, or it does not exist (HTTP ${reply.status}); ` +
          (this.credentials.problem(ep.registry) ?? `add credentials for ${ep.registry} in registry.credentials or a Docker config.json (registry.dockerConfig)`));
    }
    if (reply.status === 429) {
      const wait = this.http.retryAfterMs(reply.headers);
      return new RegistryFailure('error', `${ep.registry} rate-limited the lookup of ${what} (HTTP 429) after ${reply.attempts} attempts` +
        `${wait !== undefined ? `; it asks to wait ${Math.ceil(wait / 1000)} s` : ''}; try again later, or add credentials (higher limits)`);
    }
    if (reply.status >= 500) {
      return new RegistryFailure('error', `${ep.registry} failed with HTTP ${reply.status} for ${what} after ${reply.attempts} attempts; try again later`);
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
