// The service catalog: where each service's source, image, pipeline and manifests live. Built from
// config defaults (with `{service}` templates), per-service overrides, and Deployments discovered in
// the cluster, so 200 services need not be listed by hand.
import { z } from 'zod';
import { serviceEntrySchema, type ServiceEntry } from './catalog-schema.ts';
import type { Config } from './schema.ts';
import { UserError } from '../errors.ts';

export interface Service extends ServiceEntry {
  name: string;
  /** Where the entry came from, for `archshift services`. */
  origin: 'config' | 'discovered';
}

/** A Deployment as discovery sees it: labels and annotations are enough. */
export interface DiscoveredDeployment {
  name: string;
  namespace: string;
  cluster?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  images: string[];
}

export class UnknownServiceError extends UserError {
  constructor(
    readonly service: string,
    known: string[],
  ) {
    const hint = known.filter((k) => k.includes(service.slice(0, 3))).slice(0, 3);
    super(
      `unknown service "${service}"` +
        (hint.length ? ` (did you mean ${hint.map((h) => `"${h}"`).join(', ')}?)` : '') +
        '. `services` lists the catalog.',
    );
  }
}

export class IncompleteServiceError extends UserError {}

const overridableKeys = ['repo', 'branch', 'image', 'tag', 'team', 'channel', 'namespace', 'deployment', 'cluster'] as const;

function fill<T>(value: T, service: string): T {
  if (typeof value === 'string') return value.replaceAll('{service}', service) as T;
  if (Array.isArray(value)) return value.map((v) => fill(v, service)) as T;
  if (value && typeof value === 'object') {
    // Metric queries have their own {{variables}}, which `{service}` would mangle.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'metrics' ? v : fill(v, service)])) as T;
  }
  return value;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export class Catalog {
  private discovered = new Map<string, Partial<ServiceEntry>>();
  /** Resolved entries; config is immutable, so only discovery invalidates them. */
  private resolved = new Map<string, Service>();

  constructor(private readonly config: Config['catalog']) {}

  /** Replaces the discovered part of the catalog with what the cluster says now. */
  setDiscovered(deployments: DiscoveredDeployment[]): void {
    const { label, annotationPrefix } = this.config.discovery;
    this.discovered.clear();
    this.resolved.clear();
    for (const d of deployments) {
      const name = d.labels[label];
      if (!name) continue;
      const entry: Partial<ServiceEntry> = { namespace: d.namespace, deployment: d.name };
      if (d.cluster) entry.cluster = d.cluster;
      if (d.images[0]) {
        const at = d.images[0].lastIndexOf(':');
        const slash = d.images[0].lastIndexOf('/');
        entry.image = at > slash ? d.images[0].slice(0, at) : d.images[0];
        if (at > slash) entry.tag = d.images[0].slice(at + 1);
      }
      for (const key of overridableKeys) {
        const v = d.annotations[`${annotationPrefix}${key}`];
        if (v) entry[key] = v;
      }
      this.discovered.set(name, entry);
    }
  }

  names(): string[] {
    return [...new Set([...Object.keys(this.config.services), ...this.discovered.keys()])].sort();
  }

  has(name: string): boolean {
    return name in this.config.services || this.discovered.has(name);
  }

  /** The full entry for a service; throws UnknownServiceError or IncompleteServiceError. */
  resolve(name: string): Service {
    const cached = this.resolved.get(name);
    if (cached) return structuredClone(cached);
    if (!this.has(name)) throw new UnknownServiceError(name, this.names());
    const layered = merge(
      merge(fill(this.config.defaults as Record<string, unknown>, name), this.discovered.get(name) ?? {}),
      fill(this.config.services[name] ?? {}, name) as Record<string, unknown>,
    );
    const parsed = serviceEntrySchema.safeParse({ namespace: name, deployment: name, ...layered });
    if (!parsed.success) {
      const missing = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
      throw new IncompleteServiceError(
        `service "${name}" is missing catalog keys: ${missing}. Set them under catalog.defaults or catalog.services.${name}.`,
      );
    }
    const service: Service = { ...parsed.data, name, origin: name in this.config.services ? 'config' : 'discovered' };
    this.resolved.set(name, service);
    return structuredClone(service);
  }

  list(): Array<Service | { name: string; error: string }> {
    return this.names().map((n) => {
      try {
        return this.resolve(n);
      } catch (err) {
        return { name: n, error: (err as Error).message };
      }
    });
  }
}

export const serviceNameSchema = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
