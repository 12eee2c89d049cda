// Which moves are watched, and the runner that watches them. A move is a canary that started (its arm64
// Deployment) or a selectors PR archshift opened that was merged (the service's Deployment). Each move is
// one record in the store's `moveWatches` section, written by whichever process saw the move (any replica,
// the terminal); only the leader runs the watches, so a replica that dies mid-watch leaves it to the next
// leader, which carries on until the watch's original end. A problem is recorded on the watch (for the
// digest) and the service's channel is told once: the record is marked as told in the same transaction
// that finds it untold, so neither a repeated trigger nor a second replica tells it twice.
import type { Kubernetes } from '../adapters/kubernetes.ts';
import type { Store } from '../adapters/store.ts';
import type { Catalog } from '../config/catalog.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { prsSection } from '../prs/records.ts';
import { watchAfterMove, type MoveTarget } from './after-move.ts';
import type { AfterMoveConfig } from './config.ts';
import type { ClusterPreflight, NodesVerdict } from './model.ts';
import type { MoveProblem } from './pod-problems.ts';

export const MOVE_WATCHES_SECTION = 'moveWatches';

export type MoveTrigger =
  { kind: 'canary-started'; startedAt: string } | { kind: 'selectors-merged'; repo: string; number: number; url: string };

export interface FoundProblem extends MoveProblem {
  at: string;
  /** Pods without a node: what the `nodes` preflight says of the cluster, to name the fix. */
  nodes?: { verdict: NodesVerdict; cannotScaleFromZero: { group: string; missingTag: string }[] };
}

export interface MoveWatch {
  id: string;
  target: MoveTarget;
  trigger: MoveTrigger;
  requestedAt: string;
  /** The watch ends here, whoever runs it. */
  until: string;
  /** `unreadable`: the cluster could not be read until the end (never reported as healthy). */
  state: 'watching' | 'healthy' | 'problem' | 'unreadable';
  problem?: FoundProblem;
  error?: string;
  /** When the service's channel was told; absent for a problem already told by an earlier watch of it. */
  toldAt?: string;
  endedAt?: string;
}

export type MoveWatches = Record<string, MoveWatch>;

export const moveWatches = (store: Store) => store.section<MoveWatches>(MOVE_WATCHES_SECTION, () => ({}));

export const watchIdOf = (service: string, t: MoveTrigger): string =>
  t.kind === 'canary-started' ? `${service}|canary|${t.startedAt}` : `${service}|selectors|${t.repo.toLowerCase()}#${t.number}`;

/** Records a move to watch; false when this move is already watched (a repeated trigger). */
export async function requestWatch(
  store: Store,
  target: MoveTarget,
  trigger: MoveTrigger,
  now: Date,
  cfg: AfterMoveConfig,
): Promise<boolean> {
  const id = watchIdOf(target.service, trigger);
  if (moveWatches(store).get()[id]) return false;
  return moveWatches(store).update((d) => {
    if (d[id]) return false;
    d[id] = {
      id,
      target,
      trigger,
      requestedAt: now.toISOString(),
      until: new Date(now.getTime() + cfg.watchMinutes * 60_000).toISOString(),
      state: 'watching',
    };
    return true;
  });
}

export interface MergedPull {
  repo: string;
  number: number;
  url: string;
}

/**
 * A pull request was merged: if it is the selectors PR archshift opened for a catalog service, the PR
 * record says merged and the service's Deployment is watched. Returns the service, or undefined for any
 * other PR.
 */
export async function noteMergedPull(
  d: { store: Store; catalog: Catalog; clock: Clock; config: { afterMove: AfterMoveConfig } },
  pr: MergedPull,
): Promise<string | undefined> {
  const services = prsSection(d.store).get().services;
  const service = Object.keys(services).find((s) => {
    const r = services[s]?.selectors;
    return r && r.number === pr.number && r.repo.toLowerCase() === pr.repo.toLowerCase();
  });
  if (!service) return undefined;
  const now = d.clock.now();
  await prsSection(d.store).update((p) => {
    const r = p.services[service]?.selectors;
    if (r && r.state !== 'merged') Object.assign(r, { state: 'merged', draft: false, updatedAt: now.toISOString() });
  });
  if (!d.config.afterMove.enabled) return service;
  const svc = d.catalog.resolve(service);
  await requestWatch(
    d.store,
    { service, ...(svc.cluster ? { cluster: svc.cluster } : {}), namespace: svc.namespace, deployment: svc.deployment },
    { kind: 'selectors-merged', ...pr },
    now,
    d.config.afterMove,
  );
  return service;
}

/** What the canary controller stores of a canary, as far as a watch needs it. */
interface CanaryLike {
  target: { service: string; cluster?: string; namespace: string; deployments: { arm64: string } };
  startedAt: string;
}

/** The watch for a canary that started (its arm64 Deployment). */
export function canaryMove(rec: CanaryLike): { target: MoveTarget; trigger: MoveTrigger } {
  const t = rec.target;
  return {
    target: { service: t.service, ...(t.cluster ? { cluster: t.cluster } : {}), namespace: t.namespace, deployment: t.deployments.arm64 },
    trigger: { kind: 'canary-started', startedAt: rec.startedAt },
  };
}

export interface MoveWatcherDeps {
  store: Store;
  kube: Kubernetes;
  clock: Clock;
  logger: Logger;
  /** Read on each use: a config reload swaps them. */
  config(): AfterMoveConfig;
  catalog(): Catalog;
  defaultChannel(): string;
  /** Only the leader runs watches. */
  isLeader(): boolean | Promise<boolean>;
  /** Tells the service's channel about a problem (the Slack surface words and posts it). */
  tell(watch: MoveWatch, channel: string): Promise<unknown>;
  /** The `nodes` preflight of a cluster, to name the fix for pods without a node; absent: not read. */
  preflight?(cluster?: string): Promise<ClusterPreflight | undefined>;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Runs the watches on the leader: a look for new moves and unfinished watches every `pollSeconds`. */
export class MoveWatcher {
  private running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;

  constructor(private readonly d: MoveWatcherDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.tickOnce(), this.d.config().pollSeconds * 1000);
    void this.tickOnce();
  }

  /** A canary started here: record its watch and start it now rather than at the next tick. */
  async canaryStarted(rec: CanaryLike): Promise<void> {
    if (!this.d.config().enabled) return;
    const { target, trigger } = canaryMove(rec);
    if (await requestWatch(this.d.store, target, trigger, this.d.clock.now(), this.d.config())) await this.tickOnce();
  }

  /** One tick at a time; a tick asked for while one runs is served by it. */
  tickOnce(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return (this.ticking ??= this.tick()
      .catch((err: unknown) => this.d.logger.error({ err }, 'after-move watch tick failed'))
      .finally(() => (this.ticking = undefined)));
  }

  /** Every running watch, so a test or shutdown can wait for them. */
  async settled(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const r of this.running.values()) r.abort.abort();
    await this.ticking;
    await this.settled();
  }

  private async tick(): Promise<void> {
    const cfg = this.d.config();
    if (!cfg.enabled || !(await this.d.isLeader())) {
      // A replica that lost the lead leaves its watches to the new leader, which resumes them from the store.
      for (const r of this.running.values()) r.abort.abort();
      return;
    }
    const now = this.d.clock.now();
    await this.noteCanaries(now, cfg);
    await this.prune(now, cfg);
    const open = Object.values(moveWatches(this.d.store).get())
      .filter((w) => w.state === 'watching' && !this.running.has(w.id))
      .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
    for (const w of open.slice(0, Math.max(0, cfg.concurrency - this.running.size))) this.launch(w, cfg);
  }

  /** Canaries started elsewhere (another replica, the terminal) are found in the store. */
  private async noteCanaries(now: Date, cfg: AfterMoveConfig): Promise<void> {
    const canaries = this.d.store.section<Record<string, CanaryLike>>('canaries', () => ({})).get();
    const recent = now.getTime() - cfg.watchMinutes * 60_000;
    for (const rec of Object.values(canaries)) {
      if (!rec?.startedAt || !rec.target?.deployments || Date.parse(rec.startedAt) < recent) continue;
      const { target, trigger } = canaryMove(rec);
      await requestWatch(this.d.store, target, trigger, now, cfg);
    }
  }

  private async prune(now: Date, cfg: AfterMoveConfig): Promise<void> {
    const cut = now.getTime() - cfg.keepDays * 86_400_000;
    const old = Object.values(moveWatches(this.d.store).get()).filter((w) => w.endedAt && Date.parse(w.endedAt) < cut);
    if (old.length) await moveWatches(this.d.store).update((d) => old.forEach((w) => delete d[w.id]));
  }

  private launch(w: MoveWatch, cfg: AfterMoveConfig): void {
    const abort = new AbortController();
    const done = (async () => {
      try {
        const problem = await watchAfterMove({ kube: this.d.kube, now: () => this.d.clock.now(), sleep }, w.target, {
          until: new Date(w.until),
          intervalMs: cfg.pollSeconds * 1000,
          signal: abort.signal,
        });
        if (abort.signal.aborted) return;
        await this.finish(w.id, problem ? await this.withNodes(w, problem) : undefined);
      } catch (err) {
        // The cluster did not answer: tried again at the next tick until the watch's end, then said so.
        this.d.logger.warn({ err: (err as Error).message, service: w.target.service }, 'after-move watch could not read the cluster');
        if (!abort.signal.aborted && this.d.clock.now().getTime() >= Date.parse(w.until))
          await this.finish(w.id, undefined, (err as Error).message);
      } finally {
        this.running.delete(w.id);
      }
    })();
    this.running.set(w.id, { abort, done });
  }

  private async withNodes(w: MoveWatch, problem: MoveProblem): Promise<FoundProblem> {
    const found: FoundProblem = { ...problem, at: this.d.clock.now().toISOString() };
    if ((problem.kind !== 'unschedulable' && problem.kind !== 'no-scale-up') || !this.d.preflight) return found;
    try {
      const c = await this.d.preflight(w.target.cluster);
      if (!c) return found;
      const cannotScaleFromZero = c.issues.flatMap((i) =>
        i.kind === 'cannot-scale-from-zero' ? [{ group: i.group, missingTag: i.missingTag }] : [],
      );
      return { ...found, nodes: { verdict: c.verdict, cannotScaleFromZero } };
    } catch (err) {
      this.d.logger.warn({ err: (err as Error).message, service: w.target.service }, 'nodes preflight for an after-move problem failed');
      return found;
    }
  }

  private async finish(id: string, problem: FoundProblem | undefined, error?: string): Promise<void> {
    const now = this.d.clock.now().toISOString();
    const tell = await moveWatches(this.d.store).update((d) => {
      const w = d[id];
      if (!w || w.state !== 'watching') return undefined;
      w.endedAt = now;
      if (error) Object.assign(w, { state: 'unreadable', error });
      else if (!problem) w.state = 'healthy';
      else {
        Object.assign(w, { state: 'problem', problem });
        // The same problem of the same Deployment told by an earlier watch (a canary started again) is not told twice.
        const told = Object.values(d).some(
          (o) =>
            o.id !== id &&
            o.toldAt &&
            o.target.service === w.target.service &&
            o.target.deployment === w.target.deployment &&
            o.problem?.kind === problem.kind &&
            o.problem.image === problem.image,
        );
        if (!told) {
          w.toldAt = now;
          return structuredClone(w);
        }
      }
      return undefined;
    });
    if (!tell) return;
    let channel = this.d.defaultChannel();
    try {
      channel = this.d.catalog().resolve(tell.target.service).channel ?? channel;
    } catch {
      // a service gone from the catalog: the migration channel hears of it
    }
    try {
      await this.d.tell(tell, channel);
    } catch (err) {
      this.d.logger.warn(
        { err: (err as Error).message, service: tell.target.service, channel },
        'could not tell the channel about an after-move problem; it stays in the digest',
      );
    }
  }
}

/** Problems found after moves that ended since `since`, newest first, for the digest. */
export function recentMoveProblems(store: Store, since: Date): MoveWatch[] {
  return Object.values(moveWatches(store).get())
    .filter((w) => w.state === 'problem' && w.endedAt && Date.parse(w.endedAt) >= since.getTime())
    .sort((a, b) => (b.endedAt ?? '').localeCompare(a.endedAt ?? ''));
}
