// Followers keep a copy of the leader's store, pulled every `server.leaderElection.replicateSeconds`, so
// a replica that takes over starts from data at most that old instead of its own stale file.
import type { Store } from '../adapters/store.ts';
import type { Logger } from '../logger.ts';
import { INTERNAL_STORE_PATH, callPeer } from './peer.ts';

export interface ReplicatorOptions {
  store: Store;
  isLeader(): boolean;
  leaderUrl(): string | undefined;
  secret: string;
  intervalMs: number;
  timeoutMs: number;
  logger: Logger;
}

export type PullResult = 'copied' | 'unchanged' | 'skipped';

export class StoreReplicator {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private failing = false;

  constructor(private readonly o: ReplicatorOptions) {}

  start(): void {
    const tick = () => {
      this.running = this.pull()
        .then(
          () => {
            if (this.failing) this.o.logger.info('store replication from the leader works again');
            this.failing = false;
          },
          (err: Error) => {
            // Once per outage, not every few seconds.
            if (!this.failing) this.o.logger.warn({ err: err.message }, 'cannot copy the store from the leader; retrying');
            this.failing = true;
          },
        )
        .then(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One copy from the leader; public for tests. The leader never copies, it is the source. */
  async pull(): Promise<PullResult> {
    const leader = this.o.leaderUrl();
    if (this.o.isLeader() || !leader) return 'skipped';
    const text = await callPeer(leader, INTERNAL_STORE_PATH, this.o.secret, { timeoutMs: this.o.timeoutMs });
    // Leadership may have come to us while the copy was on its way: our own data is the truth now.
    if (this.o.isLeader()) return 'skipped';
    const local = await this.o.store.snapshot();
    if (JSON.stringify(local) === text) return 'unchanged';
    const data = JSON.parse(text) as { sections?: object };
    if (data.sections && !Object.keys(data.sections).length && Object.keys(local.sections).length) {
      // A leader that never wrote anything (a new pod that won the first election) must not wipe a
      // replica that has history; keep ours until the leader has data of its own.
      this.o.logger.warn({ leader }, 'the leader has an empty store; keeping this replica\'s data');
      return 'skipped';
    }
    await this.o.store.replaceAll(data);
    return 'copied';
  }
}
