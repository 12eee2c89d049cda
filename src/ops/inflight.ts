// Work in progress, so SIGTERM can wait for commands already acknowledged (their replies and store
// writes) before the process exits. Slack requests are handed in by the gate every listener runs behind
// (commands/store-gate.ts), GitHub deliveries by the webhook route.

export class InFlight {
  private running = new Set<Promise<unknown>>();

  get size(): number {
    return this.running.size;
  }

  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return work;
  }

  /** Resolves true when everything finished, false when `timeoutMs` passed first. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const done = (async () => {
      while (this.running.size) await Promise.all([...this.running]);
      return true as const;
    })();
    const result = await Promise.race([done, timeout]);
    clearTimeout(timer);
    return result;
  }
}
