// Readiness: the bot is ready when Slack, the store and (where configured) each cluster answer. Each
// probe has a timeout and its answer is reused for a while, so a kubelet probing every few seconds does
// not turn into a stream of auth.test calls. Liveness is only "the event loop answers".
import type { WebClient } from '@slack/web-api';
import type { Kubernetes } from '../adapters/kubernetes.ts';
import type { Store } from '../adapters/store.ts';
import { dependencyUp } from './metrics.ts';

export interface Probe {
  name: string;
  check(): Promise<void>;
}

export interface ProbeResult {
  ok: boolean;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, ProbeResult>;
}

export class Health {
  private cache = new Map<string, { at: number; result: Promise<ProbeResult> }>();
  private stopping = false;

  constructor(
    private readonly probes: Probe[],
    private readonly opts: { cacheMs: number; timeoutMs: number; now?: () => number },
  ) {}

  /** After SIGTERM: report not ready so the Service stops sending work here. */
  markStopping(): void {
    this.stopping = true;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  async readiness(): Promise<Readiness> {
    const entries = await Promise.all(this.probes.map(async (p) => [p.name, await this.run(p)] as const));
    const checks: Record<string, ProbeResult> = Object.fromEntries(entries);
    if (this.stopping) checks.shutdown = { ok: false, error: 'shutting down' };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  private run(probe: Probe): Promise<ProbeResult> {
    const now = (this.opts.now ?? Date.now)();
    const hit = this.cache.get(probe.name);
    if (hit && now - hit.at < this.opts.cacheMs) return hit.result;
    const result = withTimeout(probe.check(), this.opts.timeoutMs, `no answer within ${this.opts.timeoutMs} ms`).then(
      (): ProbeResult => ({ ok: true }),
      (err: Error): ProbeResult => ({ ok: false, error: err.message.slice(0, 300) }),
    );
    this.cache.set(probe.name, { at: now, result });
    void result.then((r) => dependencyUp.set({ dependency: probe.name }, r.ok ? 1 : 0));
    return result;
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Slack answers auth.test with our token (a revoked token is "not ready", not "alive and useless"). */
export function slackProbe(client: WebClient): Probe {
  return {
    name: 'slack',
    async check() {
      await client.auth.test();
    },
  };
}

/** lowdb: the store's folder is writable (a read-only volume shows here before a write fails); PostgreSQL: the database answers. */
export function storeProbe(store: Store): Probe {
  return {
    name: 'store',
    check: () => store.ping(),
  };
}

/** One probe per configured cluster: the API server answers a cheap list with our credentials. */
export function clusterProbes(kube: Kubernetes | undefined): Probe[] {
  return [...(kube?.clusters.values() ?? [])].map((c) => ({ name: `cluster:${c.name}`, check: () => c.ping() }));
}
