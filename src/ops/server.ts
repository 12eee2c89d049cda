// The ops HTTP server on `server.port`: /healthz, /readyz and /metrics, and with several replicas the
// leader's peer endpoints (signed; see peer.ts): POST /internal/events takes Slack work a follower
// received, GET /internal/store serves the store followers copy. It is separate from Bolt's receiver
// so it works in Socket Mode too and never shares a port with Slack's signed endpoint.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import type { Health } from './health.ts';
import { INTERNAL_EVENTS_PATH, INTERNAL_STORE_PATH, verifyPeerRequest } from './peer.ts';

/** Bolt's own body limit for Slack requests. */
const MAX_EVENT_BYTES = 4 * 1024 * 1024;

export interface PeerEndpoints {
  secret: string;
  /** Only the leader serves its store (until it hands the Lease over, so a follower gets the final copy). */
  isLeader(): boolean;
  /** Only the leader takes forwarded work, and not once it is shutting down. */
  acceptsWork(): boolean;
  /** Runs a Slack request body a follower already acknowledged; must not throw. */
  onEvent(body: Record<string, unknown>): void;
  storeData(): Promise<unknown>;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/** A route another feature serves on this port (e.g. POST /github/events); it reads and answers the request itself. */
export type OpsRoute = (req: IncomingMessage, res: ServerResponse) => void;

export async function startOpsServer(opts: { port: number; host?: string; health: Health; registry: Registry; logger: Logger; peers?: PeerEndpoints; routes?: Record<string, OpsRoute> }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = opts.routes?.[path];
    if (route) return route(req, res);
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (opts.peers && (path === INTERNAL_EVENTS_PATH || path === INTERNAL_STORE_PATH)) {
      // A peer that hangs up mid-request must not become an unhandled rejection.
      servePeer(opts.peers, path, req, res, opts.logger).catch((err: Error) => {
        opts.logger.warn({ err: err.message, path }, 'peer request failed');
        res.destroy();
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (path === '/readyz') {
      void opts.health.readiness().then(
        (r) => send(r.ready ? 200 : 503, 'application/json', JSON.stringify(r)),
        (err: Error) => send(503, 'application/json', JSON.stringify({ ready: false, error: err.message })),
      );
      return;
    }
    if (path === '/metrics') {
      void opts.registry.metrics().then(
        (text) => send(200, opts.registry.contentType, text),
        (err: Error) => {
          opts.logger.error({ err }, 'metrics collection failed');
          send(500, 'text/plain', 'metrics collection failed\n');
        },
      );
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  // Probes must not hold the process open on shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function servePeer(peers: PeerEndpoints, path: string, req: IncomingMessage, res: ServerResponse, logger: Logger): Promise<void> {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const method = path === INTERNAL_EVENTS_PATH ? 'POST' : 'GET';
  if (req.method !== method) return send(405, { error: `use ${method}` });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    // Read to the end (so the 413 reaches the client) but keep nothing past the limit.
    size += (chunk as Buffer).length;
    if (size <= MAX_EVENT_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_EVENT_BYTES) return send(413, { error: 'body too large' });
  const text = Buffer.concat(chunks).toString('utf8');
  if (!verifyPeerRequest(peers.secret, req.headers, { method, path, body: text })) {
    logger.warn({ path, remote: req.socket.remoteAddress }, 'peer request with a bad or stale signature refused');
    return send(401, { error: 'bad or stale signature' });
  }
  if (!(method === 'GET' ? peers.isLeader() : peers.acceptsWork())) return send(409, { error: 'not the leader, or shutting down' });
  if (method === 'GET') {
    try {
      return send(200, JSON.stringify(await peers.storeData()));
    } catch (err) {
      logger.error({ err }, 'store snapshot for a follower failed');
      return send(500, { error: 'store snapshot failed' });
    }
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return send(400, { error: 'body is not JSON' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return send(400, { error: 'body is not a Slack request' });
  peers.onEvent(body as Record<string, unknown>);
  send(202, { accepted: true });
}
