// Preloaded into the bot by the ack bench's instrumented run (`node --import tsx --import ack-probe.ts
// dist/src/main.js`), never by the bot itself: splits the bot's CPU per Slack request into the part
// before Bolt's ack (the HTTP answer Slack waits for) and the rest. Each request's callbacks are
// followed with AsyncLocalStorage; async_hooks' before/after time every callback (process.cpuUsage);
// the request's `res.end` (Bolt's HTTPReceiver acks by ending the response) is the split. Each stretch of
// post-ack CPU is also kept with the moment it ended (process.hrtime, the machine's monotonic clock, which
// the bench shares), so the bench can tell how much of it ran while other commands waited for their ack.
// Callbacks of no request (the sockets' reads: HTTP parsing and body chunks, before and while a request is
// read) are kept the same way: inside a burst's window they are the reading part of its acks' CPU.
// Garbage collections are kept too (PerformanceObserver 'gc': when, how long, minor or major), on the same clock.
// On exit it writes all of it to ACK_PROBE_OUT.
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { constants, PerformanceObserver, type NodeGCPerformanceDetail } from 'node:perf_hooks';

interface Request {
  acked: boolean;
  preUs: number;
  postUs: number;
  /** When its 'request' event fired and when it was acknowledged (µs, process.hrtime). */
  receivedUs: number;
  ackedUs: number;
  /** The body (slack-guard.ts reads it before Bolt sees the request); its response_url names the command for the bench. */
  body?: Buffer;
}

const requests: Request[] = [];
/** Post-ack CPU stretches, flat: [ended at (µs, hrtime), CPU µs, …]. */
const postAck: number[] = [];
/** CPU stretches of callbacks with no request (socket reads, timers of no request), flat as postAck. */
const unattributed: number[] = [];
const als = new AsyncLocalStorage<Request>();
const wallUs = () => Number(process.hrtime.bigint() / 1000n);
/** Garbage collections, flat: [started at (µs, hrtime), pause µs, 1 when major (mark-compact) else 0, …]. */
const gcs: number[] = [];
const perfToWallUs = wallUs() - performance.now() * 1000;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const major = (e as { detail?: NodeGCPerformanceDetail }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR ? 1 : 0;
    gcs.push(Math.round(perfToWallUs + e.startTime * 1000), Math.round(e.duration * 1000), major);
  }
}).observe({ entryTypes: ['gc'] });
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
/** The callback running now: whose it is (none: no request's) and when it started (or was last split). */
let slice: { req?: Request; from: number } | undefined;

const charge = (until: number) => {
  if (!slice) return;
  const us = until - slice.from;
  if (!slice.req) {
    if (us > 0) unattributed.push(wallUs(), us);
  } else if (!slice.req.acked) slice.req.preUs += us;
  else {
    slice.req.postUs += us;
    if (us > 0) postAck.push(wallUs(), us);
  }
};

createHook({
  before() {
    slice = { req: als.getStore(), from: cpuNow() };
  },
  after() {
    charge(cpuNow());
    slice = undefined;
  },
}).enable();

// A request starts in the server's 'request' event: its synchronous part and everything it starts belong to it.
const emit = http.Server.prototype.emit as (this: http.Server, event: string, ...args: unknown[]) => boolean;
http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
  if (event !== 'request') return emit.call(this, event, ...args);
  const req: Request = { acked: false, preUs: 0, postUs: 0, receivedUs: wallUs(), ackedUs: 0 };
  requests.push(req);
  const outer = slice;
  const from = cpuNow();
  charge(from);
  try {
    return als.run(req, () => {
      slice = { req, from };
      return emit.call(this, event, ...args);
    });
  } finally {
    charge(cpuNow());
    slice = outer && { req: outer.req, from: cpuNow() };
  }
} as typeof http.Server.prototype.emit;

const end = http.ServerResponse.prototype.end;
http.ServerResponse.prototype.end = function (this: http.ServerResponse, ...args: unknown[]) {
  const req = als.getStore();
  const result = (end as (...a: unknown[]) => http.ServerResponse).apply(this, args);
  if (req && !req.acked) {
    // Writing the answer is part of the ack; what follows is not.
    const now = cpuNow();
    charge(now);
    req.acked = true;
    req.ackedUs = wallUs();
    req.body = (this.req as { rawBody?: Buffer } | undefined)?.rawBody;
    if (slice) slice.from = now;
  }
  return result;
} as typeof end;

process.on('exit', () => {
  if (process.env.ACK_PROBE_OUT)
    writeFileSync(
      process.env.ACK_PROBE_OUT,
      JSON.stringify({
        requests: requests.map(({ preUs, postUs, receivedUs, ackedUs, body }) => ({
          preUs,
          postUs,
          receivedUs,
          ackedUs,
          responseUrl: body && new URLSearchParams(body.toString('utf8')).get('response_url'),
        })),
        postAck,
        unattributed,
        gcs,
      }),
    );
});
