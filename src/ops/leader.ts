// Leader election over a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it:
// read; create when missing (409 = someone else won); take over only when the holder has not renewed
// for a whole lease duration *as observed on our own clock* (no trust in other pods' clocks); write
// with the read resourceVersion (409 = we lost the race). The leader steps down when it cannot renew
// within the renew deadline, which is shorter than the lease, so two leaders never overlap.
//
// The Lease also records which scheduled slots have run (`claim`), so a digest is posted once per slot
// even if leadership moves during the run. The Lease decides only who runs singleton work (the digest
// schedule and the canary ticker); every replica serves Slack on the shared PostgreSQL store.
import { hostname } from 'node:os';
import type { V1Lease } from '@kubernetes/client-node';
// The class alone: the package root costs ~50 MB of RSS, loaded only when a cluster is used (adapters/kubernetes.ts).
import { V1MicroTime } from '@kubernetes/client-node/dist/types.js';
import type { Logger } from '../logger.ts';
import { isLeader as leaderGauge } from './metrics.ts';

/** The part of KubeCluster the elector needs (KubeCluster satisfies it). */
export interface LeaseApi {
  readLease(namespace: string, name: string): Promise<V1Lease | undefined>;
  createLease(namespace: string, body: V1Lease): Promise<V1Lease>;
  replaceLease(namespace: string, body: V1Lease): Promise<V1Lease>;
}

export interface Leadership {
  isLeader(): boolean;
  /** True at most once per key across all replicas: the caller may run the job for `key`. */
  claim(key: string): Promise<boolean>;
}

export interface LeaderElectorOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now?: () => number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
}

const CLAIM_PREFIX = 'archshift.io/ran.';

/** An annotation key's name part is at most 63 characters of [A-Za-z0-9_.-], ending alphanumeric. */
function claimAnnotation(key: string): string {
  const name = `ran.${key.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '');
  return `archshift.io/${name}`;
}

export function defaultIdentity(): string {
  return process.env.POD_NAME || `${hostname()}-${process.pid}`;
}

/** For a single replica without a cluster: always the leader, claims kept in memory. */
export class SoleLeader implements Leadership {
  private claimed = new Set<string>();
  isLeader(): boolean {
    return true;
  }
  async claim(key: string): Promise<boolean> {
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    return true;
  }
}

export class LeaderElector implements Leadership {
  private leading = false;
  private lastRenew = 0;
  /** The record last seen and when (on our clock) it last changed. */
  private observed?: { key: string; at: number };
  private timer?: NodeJS.Timeout;
  private running = false;
  private loop?: Promise<void>;
  /** Our own renewals and claims go one at a time, or they would 409 each other. */
  private serial: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly o: LeaderElectorOptions) {
    this.now = o.now ?? Date.now;
  }

  isLeader(): boolean {
    // Past the renew deadline we are no longer sure nobody else took over.
    return this.leading && this.now() - this.lastRenew < this.o.renewDeadlineMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = () => {
      this.loop = this.exclusive(() => this.tryAcquireOrRenew())
        .catch((err: Error) => this.o.logger.warn({ err: err.message }, 'leader election: lease call failed'))
        .then(() => {
          this.checkDeadline();
          if (this.running) this.timer = setTimeout(tick, this.o.retryPeriodMs);
        });
    };
    tick();
  }

  /** Stops campaigning and, when leading, hands the Lease back so a follower takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.loop;
    await this.serial;
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.o.api.readLease(this.o.namespace, this.o.name);
      if (lease?.spec?.holderIdentity !== this.o.identity) return;
      // client-go's release: empty holder and a one-second lease, keeping the record's other fields.
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) };
      await this.o.api.replaceLease(this.o.namespace, lease);
      this.o.logger.info({ identity: this.o.identity }, 'leader election: lease released');
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'leader election: could not release the lease; it expires on its own');
    }
  }

  /** One round; public for tests that drive time by hand. Resolves whether we lead afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.o;
    const now = this.now();
    const existing = await api.readLease(namespace, name);
    if (!existing) {
      try {
        await api.createLease(namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: this.leaseSeconds(),
            acquireTime: new V1MicroTime(now),
            renewTime: new V1MicroTime(now),
            leaseTransitions: 0,
          },
        });
      } catch (err) {
        if ((err as { code?: number }).code === 409) return this.setLeading(false);
        throw err;
      }
      this.lastRenew = now;
      return this.setLeading(true);
    }
    const spec = existing.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const recordKey = `${holder}|${String(spec.renewTime)}|${existing.metadata?.resourceVersion}`;
    if (this.observed?.key !== recordKey) this.observed = { key: recordKey, at: now };
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseSeconds()) * 1000;
    const heldByOther = holder !== '' && holder !== identity;
    if (heldByOther && this.observed.at + durationMs > now) return this.setLeading(false);

    const next: V1Lease = {
      ...existing,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseSeconds(),
        renewTime: new V1MicroTime(now),
        acquireTime: holder === identity ? spec.acquireTime : new V1MicroTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
      },
    };
    try {
      const written = await api.replaceLease(namespace, next);
      this.observed = { key: `${identity}|${String(written.spec?.renewTime)}|${written.metadata?.resourceVersion}`, at: now };
    } catch (err) {
      if ((err as { code?: number }).code === 409) return this.setLeading(false);
      throw err;
    }
    if (holder !== identity) this.o.logger.info({ identity, previous: holder || undefined }, 'leader election: acquired the lease');
    this.lastRenew = now;
    return this.setLeading(true);
  }

  claim(key: string): Promise<boolean> {
    return this.exclusive(() => this.claimNow(key));
  }

  private async claimNow(key: string): Promise<boolean> {
    const annotation = claimAnnotation(key);
    if (!this.isLeader()) return false;
    const lease = await this.o.api.readLease(this.o.namespace, this.o.name);
    if (!lease || lease.spec?.holderIdentity !== this.o.identity) return false;
    const annotations = lease.metadata?.annotations ?? {};
    if (annotations[annotation]) return false;
    // Keep the Lease small: drop claims older than a week.
    const weekAgo = this.now() - 7 * 86_400_000;
    const kept = Object.fromEntries(Object.entries(annotations).filter(([k, v]) => !k.startsWith(CLAIM_PREFIX) || Date.parse(v) > weekAgo));
    lease.metadata = { ...lease.metadata, annotations: { ...kept, [annotation]: new Date(this.now()).toISOString() } };
    try {
      // With the read resourceVersion: a 409 means another replica took the Lease meanwhile.
      await this.o.api.replaceLease(this.o.namespace, lease);
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 409) return false;
      throw err;
    }
  }

  /** A node-cron RunCoordinator: a scheduled run happens on the leader, once per slot. */
  runCoordinator(): { shouldRun(key: string): Promise<boolean> } {
    return { shouldRun: (key) => this.claim(key).catch(() => false) };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private checkDeadline(): void {
    if (this.leading && this.now() - this.lastRenew >= this.o.renewDeadlineMs) {
      this.o.logger.warn({ identity: this.o.identity }, 'leader election: could not renew within the deadline; stepping down');
      this.setLeading(false);
    }
  }

  private setLeading(value: boolean): boolean {
    if (value !== this.leading) {
      this.leading = value;
      leaderGauge.set(value ? 1 : 0);
      if (value) this.o.onStartedLeading?.();
      else this.o.onStoppedLeading?.();
    }
    return value;
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.ceil(this.o.leaseDurationMs / 1000));
  }
}
