// Bounded request bodies for every HTTP endpoint the bot serves (Slack's receiver, the ops port, the
// GitHub webhook route): a caller checks what the headers alone can tell (signature headers present,
// timestamp fresh, Content-Length within the cap) and refuses at once, before a byte of the body is
// read; then `readBody` reads at most `maxBytes` within `timeoutMs`. Nothing here buffers more than the
// cap, so unsigned 64 MB posts cost the process nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface BodyLimits {
  maxBytes: number;
  /** The whole body must arrive within this long (a slow-loris sender is cut off). */
  timeoutMs: number;
}

/** Slack's payloads are a few kB; 1 MB is generous for it and for peers' forwarded Slack bodies. */
export const DEFAULT_BODY_LIMITS: BodyLimits = { maxBytes: 1024 * 1024, timeoutMs: 10_000 };

/** A request refused with an HTTP status and a short reason (said in the answer and the log). */
export class RequestRefused extends Error {
  constructor(
    readonly status: 400 | 401 | 408 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** 413 at once when the declared Content-Length is over the cap (the body is never read). */
export function checkDeclaredLength(req: IncomingMessage, limits: BodyLimits): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBytes) {
    throw new RequestRefused(413, `body of ${declared} bytes is over the ${limits.maxBytes}-byte limit`);
  }
}

/** Reads the body, stopping with 413 past `maxBytes` (also when chunked) and 408 past `timeoutMs`. */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  checkDeclaredLength(req, limits);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) {
        chunks.length = 0; // nothing read so far is kept
        return done(new RequestRefused(413, `body is over the ${limits.maxBytes}-byte limit`));
      }
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = (err: Error) => done(err);
    const onAborted = () => done(new Error('client hung up mid-body'));
    const timer = setTimeout(() => done(new RequestRefused(408, `body not received within ${limits.timeoutMs} ms`)), limits.timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}

/**
 * Answers a refusal. The rest of a large body is read and dropped (never kept), so the sender reads
 * the status instead of a reset; a sender still sending a second later is cut off.
 */
export function answerRefusal(req: IncomingMessage, res: ServerResponse, refusal: RequestRefused): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(refusal.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: refusal.message }));
  if (req.complete) return;
  const cutOff = setTimeout(() => req.socket.destroy(), 1000);
  cutOff.unref();
  req.once('end', () => clearTimeout(cutOff));
  req.socket.once('close', () => clearTimeout(cutOff));
  req.resume();
}

/** The single value of a header, or undefined when absent or repeated. */
export function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A `<seconds since the epoch>` stamp checked against now: older than `maxAgeMs` is a replay, and
 * more than `maxFutureMs` ahead is a forged or broken clock. Both are refused (401).
 */
export function checkTimestamp(stamp: string | undefined, opts: { now: number; maxAgeMs: number; maxFutureMs: number }): void {
  if (!stamp || !/^\d{1,12}$/.test(stamp)) throw new RequestRefused(401, 'missing or malformed request timestamp');
  const delta = opts.now - Number(stamp) * 1000;
  if (delta > opts.maxAgeMs) throw new RequestRefused(401, `request timestamp is ${Math.round(delta / 1000)} s old (replay?)`);
  if (-delta > opts.maxFutureMs) throw new RequestRefused(401, `request timestamp is ${Math.round(-delta / 1000)} s in the future`);
}
