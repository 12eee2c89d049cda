// The ops HTTP server on `server.port`: /healthz, /readyz and /metrics. It is separate from Bolt's
// receiver so it works in Socket Mode too and never shares a port with Slack's signed endpoint.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import type { Health } from './health.ts';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/** A route another feature serves on this port (e.g. POST /github/events); it reads and answers the request itself. */
export type OpsRoute = (req: IncomingMessage, res: ServerResponse) => void;

export async function startOpsServer(opts: {
  port: number;
  host?: string;
  health: Health;
  registry: Registry;
  logger: Logger;
  routes?: Record<string, OpsRoute>;
}): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = opts.routes?.[path];
    if (route) return route(req, res);
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
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
