// Loopback plumbing shared by the doubles: a free port, listening on one, and closing a server with
// its keep-alive connections (which would otherwise hold close() open and the test process alive).
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

/** A loopback port nothing listens on right now: for child processes that need one up front, and for "down" tests. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Listens on 127.0.0.1 at a port the system picks; resolves with `http://127.0.0.1:PORT`. */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function closeServer(server: Server | undefined): Promise<void> {
  server?.closeAllConnections();
  return new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
