// The Registry API over HTTP: scheme choice, auth (Bearer challenge flow with a token cache per
// repository scope, with a password or an identity token; Basic), bounded concurrency, per-request timeouts and
// retries with backoff that honour Retry-After. Answers come back as they are; the client maps them.
// node:http/node:https with a keep-alive Agent per scheme, not global fetch: fetch loads Node's bundled
// undici (~40 ms before the first request) and builds Request/Response/Headers/web streams per request.
import type { Config } from '../../config/schema.ts';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { Logger } from '../../logger.ts';
import type { CredentialLookup } from './credentials.ts';
import { chooseRegistryAuth, type RegistryAuth } from './challenge.ts';
import { RegistryFailure } from './failure.ts';

export interface Endpoint {
  /** Canonical name (`docker.io`), used for credentials and messages. */
  registry: string;
  /** Where the API is served (`registry-1.docker.io`). */
  apiHost: string;
  repository: string;
}

export type RequestKind = 'ping' | 'token' | 'manifest' | 'blob' | 'tags';

export interface RegistryStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  byKind: Record<RequestKind, number>;
  retries: number;
  cacheHits: number;
  cacheMisses: number;
  /** Lookups that joined an identical one already in flight. */
  deduplicated: number;
}

export const emptyStats = (): RegistryStats => ({
  requests: 0,
  byKind: { ping: 0, token: 0, manifest: 0, blob: 0, tags: 0 },
  retries: 0,
  cacheHits: 0,
  cacheMisses: 0,
  deduplicated: 0,
});

export { RegistryFailure };

/** An answer's headers, read-only. Repeated ones are joined with ", ", as fetch joins them. */
export interface ReplyHeaders {
  get(name: string): string | null;
}

export interface Reply {
  status: number;
  headers: ReplyHeaders;
  body: Buffer;
  /** How many times it was sent (1 + retries). */
  attempts: number;
  /** A streamed 200 answer's body (then `body` is empty); other answers are always buffered. */
  stream?: Readable;
}

/** A streamed GET: the timeout covers the whole download, so it is longer than a request's. */
export interface StreamOptions {
  timeoutMs: number;
}

type HostAuth = { kind: 'none' } | RegistryAuth;

/**
 * Largest answer read into memory, per kind. Manifests: the OCI distribution spec's 4 MiB (registries
 * refuse to store bigger ones). Config blobs read whole (not streamed) are a few kB. Anything bigger is
 * refused unread, and the lookup is unknown with that reason. Streamed blobs are not capped.
 */
export const ANSWER_CAPS: Record<RequestKind, number> = {
  ping: 64 * 1024,
  token: 64 * 1024,
  manifest: 4 * 1024 * 1024,
  tags: 4 * 1024 * 1024,
  blob: 4 * 1024 * 1024,
};
/** Error bodies are only read for their error code: the start is enough, the rest is dropped. */
const ERROR_BODY_CAP = 64 * 1024;

/** Counts each request: kind token | manifest | blob | tags | ping; outcome 2xx, 4xx, 429, 5xx or error. */
export interface RequestCounter {
  inc(labels: { kind: string; outcome: string }): void;
}

export interface RegistryHttpOptions {
  config: Config['registry'];
  credentials: CredentialLookup;
  /** Where to open the connection for a host (`host:port`), like curl's --connect-to; the Host header and TLS name stay the host's. */
  connectTo?: Record<string, string>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** First retry delay when the registry gives no Retry-After; doubles per attempt. */
  backoffMs: number;
  /** A Retry-After longer than this is not waited for: the lookup fails and says how long to wait. */
  maxRetryAfterMs: number;
  stats: RegistryStats;
  metrics?: RequestCounter;
  logger?: Logger;
}

/** A token is dropped this long before the registry's expiry, so it never expires in flight. */
const TOKEN_EXPIRY_MARGIN_MS = 5_000;

export class RegistryHttp {
  private readonly hostAuth = new Map<string, Promise<HostAuth>>();
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly tokenFetches = new Map<string, Promise<string>>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  // Free sockets are unref'd by Node's Agent: an idle connection never keeps a CLI process alive.
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  constructor(private readonly o: RegistryHttpOptions) {
    const pool = { keepAlive: true, maxSockets: o.config.concurrency };
    this.agents = { http: new HttpAgent(pool), https: new HttpsAgent(pool) };
  }

  /** Docker's rule: loopback registries and those listed as insecure speak plain HTTP. */
  baseUrl(apiHost: string): string {
    const hostname = apiHost.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const loopback = hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === '::1';
    return `${loopback || this.o.config.insecure.includes(apiHost) ? 'http' : 'https'}://${apiHost}`;
  }

  /**
   * GET `path` (absolute, under /v2/) with the right credentials; re-authenticates once on a 401.
   * With `stream`, a 200 answer's body is handed over unread (retries stop once it has begun).
   */
  async get(ep: Endpoint, path: string, kind: RequestKind, accept?: string, stream?: StreamOptions): Promise<Reply> {
    const url = `${this.baseUrl(ep.apiHost)}${path}`;
    let auth = await this.discover(ep);
    const { header, fresh } = await this.authorization(ep, auth, false);
    const reply = await this.send(url, kind, headers(accept, header), stream);
    if (reply.status !== 401) return reply;
    const challenge = chooseRegistryAuth(reply.headers.get('www-authenticate'));
    // Retry once when there is something new to try: a token that may have expired, or a scheme
    // the ping did not announce. A fresh token that is refused means no access, not a stale token.
    if (!challenge || (auth.kind === challenge.kind && fresh)) return reply;
    if (challenge.kind !== auth.kind) {
      auth = challenge;
      this.hostAuth.set(ep.apiHost, Promise.resolve(challenge));
    }
    const retry = await this.authorization(ep, auth, true);
    return retry.header ? this.send(url, kind, headers(accept, retry.header), stream) : reply;
  }

  /** One `GET /v2/` per host tells whether and how it wants auth, so later requests skip the 401 round trip. */
  private discover(ep: Endpoint): Promise<HostAuth> {
    let known = this.hostAuth.get(ep.apiHost);
    if (!known) {
      known = this.ping(ep);
      this.hostAuth.set(ep.apiHost, known);
      // A failed ping (host down) is not remembered: the next lookup asks again.
      known.catch(() => this.hostAuth.delete(ep.apiHost));
    }
    return known;
  }

  private async ping(ep: Endpoint): Promise<HostAuth> {
    const reply = await this.send(`${this.baseUrl(ep.apiHost)}/v2/`, 'ping', {});
    if (reply.status === 401) return chooseRegistryAuth(reply.headers.get('www-authenticate')) ?? { kind: 'none' };
    if (reply.status === 404) {
      throw new RegistryFailure('error', `${ep.apiHost} does not serve the Registry API (GET /v2/ answered 404); check the registry host`);
    }
    if (reply.status === 429 || reply.status >= 500) {
      throw new RegistryFailure('error', `${ep.apiHost} failed with ${reply.status} after ${reply.attempts} attempts; try again later`);
    }
    return { kind: 'none' };
  }

  private async authorization(ep: Endpoint, auth: HostAuth, force: boolean): Promise<{ header?: string; fresh: boolean }> {
    if (auth.kind === 'none') return { fresh: false };
    if (auth.kind === 'basic') {
      const credentials = await this.o.credentials.get(ep.registry, force);
      if (credentials?.identityToken) {
        throw new RegistryFailure(
          'unauthorized',
          `${ep.registry} asks for Basic auth, but ${credentials.source} holds an identity token (for a token service), not a password`,
        );
      }
      return { header: credentials ? basic(credentials.username, credentials.password) : undefined, fresh: false };
    }
    const scope = `repository:${ep.repository}:pull`;
    const key = `${ep.apiHost} ${scope}`;
    const cached = this.tokens.get(key);
    if (!force && cached && cached.expiresAt > this.o.now()) return { header: `Bearer ${cached.token}`, fresh: false };
    let fetching = this.tokenFetches.get(key);
    if (!fetching) {
      fetching = this.fetchToken(ep, auth, scope, key, force).finally(() => this.tokenFetches.delete(key));
      this.tokenFetches.set(key, fetching);
    }
    return { header: `Bearer ${await fetching}`, fresh: true };
  }

  private async fetchToken(
    ep: Endpoint,
    auth: { realm: string; service?: string },
    scope: string,
    key: string,
    refresh: boolean,
  ): Promise<string> {
    const url = new URL(auth.realm);
    const credentials = await this.o.credentials.get(ep.registry, refresh);
    let reply: Reply;
    if (credentials?.identityToken) {
      // An identity token is an OAuth2 refresh token: POSTed to the realm (distribution's OAuth2 token spec).
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.password,
        client_id: 'archshift',
        scope,
        ...(auth.service ? { service: auth.service } : {}),
      });
      reply = await this.send(url.toString(), 'token', { 'content-type': 'application/x-www-form-urlencoded' }, undefined, form.toString());
    } else {
      if (auth.service) url.searchParams.set('service', auth.service);
      url.searchParams.set('scope', scope);
      reply = await this.send(
        url.toString(),
        'token',
        credentials ? { authorization: basic(credentials.username, credentials.password) } : {},
      );
    }
    if (reply.status === 401 || reply.status === 403) {
      throw new RegistryFailure(
        'unauthorized',
        credentials
          ? `the token service of ${ep.registry} rejected the credentials from ${credentials.source}; renew them`
          : `the token service of ${ep.registry} refused an anonymous token; ${this.o.credentials.problem(ep.registry) ?? `add credentials for ${ep.registry} (registry.credentials or registry.dockerConfig)`}`,
      );
    }
    if (reply.status !== 200) {
      throw new RegistryFailure(
        'error',
        `the token service of ${ep.registry} (${url.host}) answered ${reply.status} after ${reply.attempts} attempts`,
      );
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(reply.body.toString('utf8')) as typeof body;
    } catch {
      throw new RegistryFailure('error', `the token service of ${ep.registry} answered something that is not JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryFailure('error', `the token service of ${ep.registry} answered without a token`);
    // The token spec's default lifetime is 60 s when expires_in is absent.
    const lifetimeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    this.tokens.set(key, { token, expiresAt: this.o.now() + Math.max(0, lifetimeMs - TOKEN_EXPIRY_MARGIN_MS) });
    return token;
  }

  /** Sends with a concurrency slot and a timeout per attempt; retries 429, 5xx and network failures. */
  private async send(
    url: string,
    kind: RequestKind,
    requestHeaders: Record<string, string>,
    stream?: StreamOptions,
    form?: string,
  ): Promise<Reply> {
    const { retries } = this.o.config;
    const timeoutMs = stream?.timeoutMs ?? this.o.config.timeoutMs;
    const host = new URL(url).host;
    for (let attempt = 1; ; attempt++) {
      let outcome: Reply | Error;
      await this.acquire();
      try {
        this.o.stats.requests++;
        this.o.stats.byKind[kind]++;
        outcome = await this.attempt(url, kind, requestHeaders, form, stream, timeoutMs, attempt);
      } catch (err) {
        // An answer over its cap is final: asking again would only fetch it again.
        if (err instanceof RegistryFailure) throw err;
        outcome = err as Error;
      } finally {
        this.release();
      }
      this.o.metrics?.inc({ kind, outcome: outcome instanceof Error ? 'error' : statusClass(outcome.status) });
      if (!(outcome instanceof Error) && outcome.status !== 429 && outcome.status < 500) return outcome;
      const wait = outcome instanceof Error ? this.backoff(attempt) : (this.retryAfterMs(outcome.headers) ?? this.backoff(attempt));
      if (attempt > retries || wait > this.o.maxRetryAfterMs) {
        if (outcome instanceof Error) throw new RegistryFailure('error', describeNetworkError(outcome, host, timeoutMs, attempt));
        return outcome;
      }
      this.o.stats.retries++;
      this.o.logger?.debug(
        { host, kind, attempt, waitMs: wait, status: outcome instanceof Error ? outcome.name : outcome.status },
        'registry request retried',
      );
      await this.o.sleep(wait);
    }
  }

  /** One attempt under one deadline; a streamed 200 is handed over with the deadline still running. */
  private async attempt(
    url: string,
    kind: RequestKind,
    requestHeaders: Record<string, string>,
    form: string | undefined,
    stream: StreamOptions | undefined,
    timeoutMs: number,
    attempt: number,
  ): Promise<Reply> {
    const target = new URL(url);
    const deadline = new Deadline(timeoutMs, `${target.host} did not answer in full within ${timeoutMs} ms`);
    try {
      const res = await this.follow(target, form !== undefined ? 'POST' : 'GET', { ...requestHeaders }, form, deadline);
      if (stream && res.statusCode === 200) {
        // When the deadline fires mid-download, the stream errors with it.
        res.once('close', () => deadline.clear());
        return { status: 200, headers: headersOf(res), body: Buffer.alloc(0), attempts: attempt, stream: res };
      }
      const body = await readCapped(res, kind, target.host);
      deadline.clear();
      return { status: res.statusCode ?? 0, headers: headersOf(res), body, attempts: attempt };
    } catch (err) {
      deadline.clear();
      throw err;
    }
  }

  /**
   * One attempt, following redirects as fetch's `redirect: 'follow'` does: 301/302/303/307/308, at most
   * MAX_REDIRECTS hops; 303 (and 301/302 after a POST) turn into a GET without body; Authorization is dropped
   * when a hop leaves the origin (blob downloads go to storage, e.g. S3 presigned URLs, that refuse a foreign one).
   * Unlike fetch, https to http is refused.
   */
  private async follow(
    url: URL,
    method: string,
    requestHeaders: Record<string, string>,
    body: string | undefined,
    deadline: Deadline,
  ): Promise<IncomingMessage> {
    const host = url.host;
    for (let hop = 0; ; hop++) {
      const res = deadline.watch(await this.exchange(url, method, requestHeaders, body, deadline, true));
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) return res;
      // A small redirect body is drained so the socket goes back to the pool; anything else is dropped.
      res.on('error', () => undefined); // nobody reads it: a reset while draining is no failure
      if (Number(res.headers['content-length']) <= ERROR_BODY_CAP) res.resume();
      else res.destroy();
      const redirected = (what: string) => new RegistryFailure('error', `${host} redirected to ${what}; not followed`);
      if (hop === MAX_REDIRECTS) throw redirected(`more than ${MAX_REDIRECTS} places in a row`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw redirected(`a location that is not a URL (${location.slice(0, 200)})`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw redirected(`a ${next.protocol} URL`);
      if (url.protocol === 'https:' && next.protocol === 'http:') throw redirected(`plain HTTP (${next.origin}) from HTTPS`);
      const status = res.statusCode!;
      if ((status === 303 && method !== 'GET' && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        delete requestHeaders['content-type'];
      }
      if (next.origin !== url.origin) delete requestHeaders.authorization;
      url = next;
    }
  }

  /** One request and its answer's head. A reused keep-alive socket the server had closed is retried once on a new one. */
  private exchange(
    url: URL,
    method: string,
    requestHeaders: Record<string, string>,
    body: string | undefined,
    deadline: Deadline,
    mayResend: boolean,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const https = url.protocol === 'https:';
      const [hostname, port] = splitHost(this.o.connectTo?.[url.host] ?? url.host, https ? 443 : 80);
      const options = {
        hostname,
        port,
        method,
        path: `${url.pathname}${url.search}`,
        agent: https ? this.agents.https : this.agents.http,
        // The https Agent takes the TLS server name from the Host header, so connectTo keeps it.
        headers: {
          host: url.host,
          'user-agent': 'archshift',
          ...requestHeaders,
          ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
        },
      };
      const req: ClientRequest = (https ? httpsRequest : httpRequest)(options, resolve);
      deadline.watch(req);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (mayResend && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE'))
          this.exchange(url, method, requestHeaders, body, deadline, false).then(resolve, reject);
        else reject(err);
      });
      req.end(body);
    });
  }

  private backoff(attempt: number): number {
    return this.o.backoffMs * 2 ** (attempt - 1) * (1 + Math.random() * 0.2);
  }

  /** Retry-After in seconds or as an HTTP date. */
  retryAfterMs(responseHeaders: ReplyHeaders): number | undefined {
    const value = responseHeaders.get('retry-after');
    if (!value) return undefined;
    if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
    const date = Date.parse(value);
    return Number.isNaN(date) ? undefined : Math.max(0, date - this.o.now());
  }

  private async acquire(): Promise<void> {
    if (this.active < this.o.config.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next)
      next(); // the slot passes straight to the next waiter
    else this.active--;
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** fetch's limit. */
const MAX_REDIRECTS = 20;

/**
 * One timeout over an attempt: every hop, the headers and the body (for a streamed blob, the whole
 * download). When it fires, whatever is in flight is destroyed with a TimeoutError.
 */
class Deadline {
  /** Made when it fires: an Error's stack trace costs more than the rest of a request's set-up. */
  private error?: Error;
  private current?: { destroy(err?: Error): unknown };
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number, message: string) {
    this.timer = setTimeout(() => {
      this.error = Object.assign(new Error(message), { name: 'TimeoutError' });
      this.current?.destroy(this.error);
    }, ms);
    // In-flight sockets keep the process alive; the timer alone must not.
    this.timer.unref();
  }

  watch<T extends { destroy(err?: Error): unknown }>(x: T): T {
    this.current = x;
    if (this.error) x.destroy(this.error);
    return x;
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

function headersOf(res: IncomingMessage): ReplyHeaders {
  // headersDistinct keeps every repeated header (res.headers drops some duplicates, joins others).
  const distinct = res.headersDistinct;
  return { get: (name) => distinct[name.toLowerCase()]?.join(', ') ?? null };
}

/** `host[:port]` or `[v6][:port]` -> hostname without brackets, port. */
function splitHost(host: string, defaultPort: number): [string, number] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  return [(m?.[1] ?? host).replace(/^\[|\]$/g, ''), m?.[2] ? Number(m[2]) : defaultPort];
}

/** 429 is kept apart from other 4xx: it is the registry asking us to slow down. */
function statusClass(status: number): string {
  return status === 429 ? '429' : `${Math.floor(status / 100)}xx`;
}

function headers(accept: string | undefined, authorization: string | undefined): Record<string, string> {
  return { ...(accept ? { accept } : {}), ...(authorization ? { authorization } : {}) };
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Reads an answer's body up to `cap` bytes. A 2xx answer over the cap is refused (the caller gets a
 * RegistryFailure); other answers are truncated to the cap, since only their start is read.
 */
function readCapped(res: IncomingMessage, kind: RequestKind, host: string): Promise<Buffer> {
  const status = res.statusCode ?? 0;
  const ok = status >= 200 && status < 300;
  const cap = ok ? ANSWER_CAPS[kind] : ERROR_BODY_CAP;
  const tooBig = (size: string) =>
    new RegistryFailure(
      'error',
      `${host} sent a ${kind} answer of ${size}, over the ${cap / 1024} KiB archshift reads${kind === 'manifest' ? ' (the OCI distribution spec limit)' : ''}; not read`,
    );
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (ok && declared > cap) {
    res.destroy();
    return Promise.reject(tooBig(`${declared} bytes`));
  }
  // Events, not an async iterator: this runs for every answer, and the iterator costs more than the read.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= cap) return void chunks.push(chunk);
      // Destroyed: the rest is never read (and the socket not reused).
      res.destroy();
      if (ok) return reject(tooBig(`more than ${cap} bytes`));
      chunks.push(chunk.subarray(0, chunk.length - (size - cap)));
      resolve(Buffer.concat(chunks));
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject); // the deadline, or a connection broken mid-answer
    // Settled already unless the answer was cut off without an error.
    res.on('close', () => reject(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' })));
  });
}

function describeNetworkError(err: Error, host: string, timeoutMs: number, attempts: number): string {
  const tries = attempts === 1 ? '' : ` (${attempts} attempts)`;
  if (err.name === 'TimeoutError') return `no answer from ${host} within ${timeoutMs} ms${tries}`;
  // node:net gives an AggregateError when every address of a host failed (IPv6 and IPv4 of localhost).
  const e = err as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] };
  const code = e.code ?? e.errors?.[0]?.code;
  return `cannot reach ${host}: ${code ?? err.message}${tries}`;
}
