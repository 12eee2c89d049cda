// A real PostgreSQL (Debian's postgresql package) for the store tests: a throwaway cluster made with
// initdb in a temp dir, on a free loopback port, trust auth, fsync off. Nothing is faked: the driver
// talks to the real server. One cluster per test file; `database()` gives each test a fresh database.
// initdb refuses to run as root, so as root the server runs as the `postgres` user (created by the
// package) through runuser.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './net.ts';

const run = promisify(execFile);
/** Debian installs each major under /usr/lib/postgresql/<major>/bin, off PATH; take the newest. */
function binDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const majors = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d)) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error('PostgreSQL is not installed: apt-get install postgresql (or set PG_BIN to the folder holding initdb and pg_ctl)');
  return `/usr/lib/postgresql/${newest}/bin`;
}
const BIN = binDir();

async function asServerUser(cmd: string, args: string[]): Promise<void> {
  const full = join(BIN, cmd);
  if (userInfo().uid === 0) await run('runuser', ['-u', 'postgres', '--', full, ...args]);
  else await run(full, args);
}

export class PostgresServer {
  private dbs = 0;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<PostgresServer> {
    const dir = await mkdtemp(join(tmpdir(), 'archshift-pg-'));
    if (userInfo().uid === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(dir, Number(stdout), Number(gid));
      await chmod(dir, 0o700);
    }
    const data = join(dir, 'data');
    await asServerUser('initdb', ['-D', data, '-U', 'archshift', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const server = new PostgresServer(dir, await freePort());
    await server.startServer();
    return server;
  }

  private async startServer(): Promise<void> {
    const data = join(this.dir, 'data');
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    await asServerUser('pg_ctl', ['-D', data, '-l', join(this.dir, 'server.log'), '-w', '-t', '60', '-o', opts, 'start']);
  }

  url(database = 'postgres'): string {
    return `postgres://archshift@127.0.0.1:${this.port}/${database}`;
  }

  /** A new empty database; its URL. */
  async database(): Promise<string> {
    const name = `t${++this.dbs}_${process.pid}`;
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /** Runs SQL on a database (for checks and for faking a newer schema). */
  async sql<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** Immediate shutdown: every connection is cut, uncommitted transactions are lost, as in a crash. */
  async kill(): Promise<void> {
    await asServerUser('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  async restart(): Promise<void> {
    await this.startServer();
  }

  async stop(): Promise<void> {
    await this.kill().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
