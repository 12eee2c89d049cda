// The work a Slack request does after its ack (the command itself, its replies, store writes) waits here,
// so acks go first. A request is read, verified and acknowledged within the event-loop turn its bytes
// arrive in; work started as soon as it is acked runs before the requests arriving meanwhile are read,
// and in a burst the last ack waits for all the earlier commands' work (Slack gives up at 3 s). So:
// - waiting work starts once no request has been queued for `quietMs` (a burst's acks first), one job per
//   event-loop turn (setImmediate, after the turn's I/O), so requests read in between are acknowledged
//   before the next job starts;
// - work that has waited `maxDelayMs` starts in the next turn, all of it, acks or not: a steady stream of
//   requests cannot starve it, and when the CPU cannot keep up acks slow down again rather than the line
//   growing (the bound below is for what still piles up);
// - only the waiting line is bounded (`maxWaiting`; beyond it `run` refuses and the caller answers
//   "busy"): once started, jobs run side by side, as most wait on GitHub, Kubernetes or a registry.
import { AsyncResource } from 'node:async_hooks';

export interface AfterAckOptions {
  maxWaiting: number;
  /** Default 3 ms: longer than the gap between requests of a burst, short beside a reply's own time. */
  quietMs?: number;
  /** Default 200 ms. */
  maxDelayMs?: number;
}

export class AfterAckQueue {
  readonly maxWaiting: number;
  private readonly quietMs: number;
  private readonly maxDelayMs: number;
  private readonly waiting: { queuedAt: number; start: () => void }[] = [];
  private scheduled = false;
  private lastQueuedAt = -Infinity;

  constructor(o: AfterAckOptions) {
    if (!(Number.isInteger(o.maxWaiting) && o.maxWaiting >= 1))
      throw new RangeError(`maxWaiting must be a whole number ≥ 1, not ${o.maxWaiting}`);
    this.maxWaiting = o.maxWaiting;
    this.quietMs = o.quietMs ?? 3;
    this.maxDelayMs = o.maxDelayMs ?? 200;
  }

  /** Jobs waiting to start. */
  get size(): number {
    return this.waiting.length;
  }

  /**
   * Queues `job`; resolves (or rejects) with its outcome once it ran. Jobs start in the order queued.
   * Throws QueueFull, queuing nothing, when `maxWaiting` jobs already wait.
   */
  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.waiting.length >= this.maxWaiting) throw new QueueFull(this.waiting.length);
    this.lastQueuedAt = performance.now();
    return new Promise<T>((resolve, reject) => {
      // Runs in the queuing request's async context, whichever turn starts it. A resource, not
      // AsyncResource.bind: bind also builds two deprecation wrappers per call, on the ack's path.
      const context = new AsyncResource('archshift.after-ack');
      const start = () =>
        context.runInAsyncScope(() => {
          try {
            job().then(resolve, reject);
          } catch (err) {
            reject(err as Error);
          }
        });
      this.waiting.push({ queuedAt: this.lastQueuedAt, start });
      this.pump();
    });
  }

  /** The next look at the line: in the next turn, or in `ms` (timers run before that turn's I/O). */
  private pump(ms = 0): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const next = () => {
      this.scheduled = false;
      this.next();
    };
    if (ms > 0) setTimeout(next, ms);
    else setImmediate(next);
  }

  private next(): void {
    const now = performance.now();
    let started = 0;
    while (this.waiting.length && now - this.waiting[0]!.queuedAt >= this.maxDelayMs) {
      this.waiting.shift()!.start();
      started++;
    }
    const quietIn = this.quietMs - (now - this.lastQueuedAt);
    if (!started && quietIn <= 0 && this.waiting.length) {
      this.waiting.shift()!.start();
      started++;
    }
    const oldest = this.waiting[0];
    if (!oldest) return;
    this.pump(started ? 0 : Math.min(quietIn, this.maxDelayMs - (now - oldest.queuedAt)));
  }
}

export class QueueFull extends Error {
  constructor(readonly waiting: number) {
    super(`${waiting} requests are already waiting`);
  }
}
