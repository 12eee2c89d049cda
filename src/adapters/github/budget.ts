// GitHub's documented secondary rate limits for content-creating requests: no more than 80 a minute
// and 500 an hour (docs.github.com, "Rate limits for the REST API", secondary rate limits). Every such
// request (a REST write, a GraphQL mutation; not reads, not the App token exchange) waits for room in
// both sliding windows, so a 150-service batch paces itself with no setting and never draws a 403.
export interface BudgetWindow {
  limit: number;
  ms: number;
}

export const CONTENT_CREATING_LIMITS: BudgetWindow[] = [
  { limit: 80, ms: 60_000 },
  { limit: 500, ms: 3_600_000 },
];

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** Whether GitHub counts the request as content-creating. */
export function isContentCreating(method: string, url: string, body?: unknown): boolean {
  if (!WRITE_METHODS.has(method.toUpperCase())) return false;
  const path = new URL(url, 'http://x').pathname;
  if (/\/app\/installations\/[^/]+\/access_tokens$/.test(path)) return false;
  if (/\/graphql$/.test(path)) return typeof body === 'string' && /"query"\s*:\s*"\s*mutation\b/.test(body);
  return true;
}

export class ContentBudget {
  /** Start times of the requests in the longest window, oldest first. */
  private sent: number[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  /** Requests that had to wait for room, for the progress line and the benchmark. */
  waited = 0;

  constructor(
    private readonly windows: BudgetWindow[] = CONTENT_CREATING_LIMITS,
    /** Milliseconds per real millisecond of window (tests shrink the hour). */
    private readonly scale = 1,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when one more request fits in every window (in call order), and counts it. */
  acquire(): Promise<void> {
    const next = this.chain.then(async () => {
      for (;;) {
        const t = this.now();
        const longest = Math.max(...this.windows.map((w) => w.ms * this.scale));
        while (this.sent.length && this.sent[0]! <= t - longest) this.sent.shift();
        const waitMs = Math.max(
          0,
          ...this.windows.map((w) => {
            const inWindow = this.sent.filter((s) => s > t - w.ms * this.scale);
            return inWindow.length < w.limit ? 0 : inWindow[inWindow.length - w.limit]! + w.ms * this.scale - t;
          }),
        );
        if (waitMs <= 0) {
          this.sent.push(t);
          return;
        }
        this.waited++;
        await new Promise((r) => setTimeout(r, waitMs));
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Requests counted in the last `ms` (scaled). */
  usedIn(ms: number): number {
    const t = this.now();
    return this.sent.filter((s) => s > t - ms * this.scale).length;
  }
}
