// When the digest is posted: node-cron in the configured time zone (no overlapping runs), a slot record
// in the store (section `digest`) so a slot is posted once even across restarts or two replicas that
// both think they lead, and a catch-up at start-up for a slot missed while the bot was down.
import cron, { type ScheduledTask } from 'node-cron';
import type { Section, Store } from '../adapters/store.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { digestRuns } from '../ops/metrics.ts';

export const DIGEST_SECTION = 'digest';

export interface SlotRecord {
  /** ISO time of the last slot posted. */
  lastSlot?: string;
  lastPostedAt?: string;
  /** A slot being posted right now (or by a run that died mid-way: then it is not retried). */
  claimedSlot?: string;
}

export type TickOutcome = 'posted' | 'already-posted' | 'no-slot' | 'not-leader' | 'busy' | 'failed';

/** archshift_digest_runs_total's outcome per tick outcome; no slot due, or one already running, is not a run. */
const RUN_OUTCOME: Partial<Record<TickOutcome, 'posted' | 'skipped' | 'failed'>> = {
  posted: 'posted',
  failed: 'failed',
  'not-leader': 'skipped',
  'already-posted': 'skipped',
};

export interface DigestScheduleOptions {
  expression: string;
  timezone: string;
  /** How far back a missed slot is still posted. */
  catchUpHours: number;
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Posts the digest for a slot. */
  run(slot: Date): Promise<void>;
  /** Leader election hook: only the leader posts. Default: always. */
  shouldRun?: () => boolean | Promise<boolean>;
}

export class DigestSchedule {
  private readonly task: ScheduledTask;
  private readonly section: Section<SlotRecord>;
  private running: Promise<TickOutcome> | undefined;

  constructor(private readonly o: DigestScheduleOptions) {
    this.section = o.store.section<SlotRecord>(DIGEST_SECTION, () => ({}));
    // Created stopped: `match()` works at once (tests, catch-up); timers start only in start().
    this.task = cron.createTask(o.expression, () => this.tick(), {
      name: 'archshift-digest',
      timezone: o.timezone,
      noOverlap: true,
      logger: {
        info: () => undefined,
        debug: () => undefined,
        warn: (msg) => o.logger.warn({ msg }, 'digest schedule'),
        error: (msg) => o.logger.error({ err: msg }, 'digest schedule'),
      },
    });
  }

  /** Starts the cron timer and posts a slot missed while the bot was down (once). */
  async start(): Promise<TickOutcome> {
    await this.task.start();
    return this.tick();
  }

  async stop(): Promise<void> {
    await this.task.destroy();
    await this.running?.catch(() => undefined);
  }

  nextRun(): Date | null {
    return this.task.getNextRuns(1)[0] ?? null;
  }

  /** The latest scheduled slot at or before now, at most `catchUpHours` old. */
  dueSlot(now = this.o.clock.now()): Date | undefined {
    const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    const steps = Math.max(0, Math.floor(this.o.catchUpHours * 60));
    for (let i = 0; i <= steps; i++) {
      const t = new Date(minute.getTime() - i * 60_000);
      if (this.task.match(t)) return t;
    }
    return undefined;
  }

  /** Posts the due slot unless it was posted (or claimed) already. Called by the timer and at start. */
  tick(): Promise<TickOutcome> {
    if (this.running) return Promise.resolve('busy');
    const run = this.runDue()
      .then(
        (outcome) => {
          const counted = RUN_OUTCOME[outcome];
          if (counted) digestRuns.inc({ outcome: counted });
          return outcome;
        },
        (err: unknown) => {
          digestRuns.inc({ outcome: 'failed' });
          throw err;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    this.running = run;
    return run;
  }

  private async runDue(): Promise<TickOutcome> {
    const slot = this.dueSlot();
    if (!slot) return 'no-slot';
    if (!(await (this.o.shouldRun?.() ?? true))) return 'not-leader';
    const key = slot.toISOString();
    // Claim first, atomically in the store: a second run for the same slot sees the claim and stops.
    const claimed = await this.section.update((r) => {
      if (r.lastSlot === key || (r.lastSlot && r.lastSlot > key) || r.claimedSlot === key) return false;
      r.claimedSlot = key;
      return true;
    });
    if (!claimed) return 'already-posted';
    try {
      await this.o.run(slot);
    } catch (err) {
      // Nothing was posted (or only part): release the claim so the next tick can retry the slot.
      this.o.logger.error({ err: (err as Error).message, slot: key }, 'scheduled digest failed');
      await this.section.update((r) => {
        if (r.claimedSlot === key) delete r.claimedSlot;
      });
      return 'failed';
    }
    await this.section.update((r) => {
      r.lastSlot = key;
      r.lastPostedAt = this.o.clock.now().toISOString();
      if (r.claimedSlot === key) delete r.claimedSlot;
    });
    return 'posted';
  }
}
