// A raw HTTP client for attack tests: sends a body in chunks the test controls (or declares a length
// it never sends), and resolves with the status as soon as the server answers, while the body may
// still be unsent: how a test tells "refused before reading the body" from "read it, then refused".
import { request } from 'node:http';

export interface RawAnswer {
  /** 0 when the server closed or reset the connection before an answer could be read (`error` says how). */
  status: number;
  error?: string;
  body: string;
  /** Body bytes written before the answer's status line arrived. */
  sentBeforeAnswer: number;
  ms: number;
}

export interface RawRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  /** Sent in this order; a function chunk is awaited (a pause) between writes. */
  chunks?: Array<Buffer | string | (() => Promise<void>)>;
  /** Keep writing this many zero bytes in 64 kB chunks after `chunks` (a huge body), until answered. */
  flood?: number;
  timeoutMs?: number;
}

function drained(req: ReturnType<typeof request>): Promise<void> {
  return new Promise((ok) => {
    const done = () => {
      req.off('drain', done).off('close', done);
      ok();
    };
    req.on('drain', done).on('close', done);
  });
}

export function rawRequest(r: RawRequest): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise<RawAnswer>((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(r.url, { method: r.method ?? 'POST', headers: r.headers });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${r.timeoutMs ?? 5000} ms (${sent} bytes sent)`));
    }, r.timeoutMs ?? 5000);
    req.on('response', (res) => {
      answered = true;
      const sentBeforeAnswer = sent;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      const finish = () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), sentBeforeAnswer, ms: Date.now() - started });
      };
      res.on('end', finish);
      res.on('error', finish);
      res.on('close', finish);
    });
    // The server closing mid-upload is the point of several tests, not a failure: it resolves with
    // status 0 and the error code, timed, so a caller can tell a fast refusal from a hang.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!answered) {
        answered = true;
        clearTimeout(timer);
        resolve({ status: 0, error: err.code ?? err.message, body: '', sentBeforeAnswer: sent, ms: Date.now() - started });
      }
    });
    void (async () => {
      for (const chunk of r.chunks ?? []) {
        if (answered || req.destroyed) return;
        if (typeof chunk === 'function') await chunk();
        else {
          sent += Buffer.byteLength(chunk);
          if (!req.write(chunk)) await new Promise((ok) => req.once('drain', ok));
        }
      }
      const piece = Buffer.alloc(64 * 1024);
      for (let left = r.flood ?? 0; left > 0 && !answered && !req.destroyed; left -= piece.length) {
        sent += piece.length;
        if (!req.write(piece)) await drained(req);
      }
      if (!answered && !req.destroyed) req.end();
    })().catch(() => undefined);
  });
}
