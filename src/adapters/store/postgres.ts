// The PostgreSQL driver, for several replicas on one database. Sections whose value is a map of records
// (canaries by service, PR records by service and kind, digest history by cluster, watches after a move by
// id) are rows of their own table; other sections are one JSON document. Every section has a row in
// `sections` whose version is bumped by each update: an update locks that row (SELECT ... FOR UPDATE),
// re-reads the section when another replica changed it, applies the change and writes only the rows that
// differ, all in one transaction, so two replicas updating at once never lose each other's writes. Reads
// are served from memory; refresh() re-reads the sections whose version moved.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { PostgresConfig } from '../../config/store-config.ts';
import {
  StoreBusyError,
  StoreError,
  StoreUnavailableError,
  type AuditRecord,
  type OpenOptions,
  type Section,
  type Store,
} from './types.ts';
import { DEFAULT_AUDIT_LIMIT } from './lowdb.ts';
import { migrate } from './migrations.ts';
import { BatchedTable, type Batch } from './batch.ts';

/** Sections stored as rows: `root` is the field holding the map (absent: the value is the map). */
interface Layout {
  table: string;
  root?: string;
  keys: string[];
  valueColumn: 'record';
}

const LAYOUTS: Record<string, Layout> = {
  canaries: { table: 'canaries', keys: ['service'], valueColumn: 'record' },
  prs: { table: 'pr_records', root: 'services', keys: ['service', 'kind'], valueColumn: 'record' },
  history: { table: 'digest_history', root: 'clusters', keys: ['cluster'], valueColumn: 'record' },
  moveWatches: { table: 'move_watches', keys: ['id'], valueColumn: 'record' },
};

/** Keyed tables (Store.table) and their SQL tables. */
export const TABLES: Record<string, string> = { 'registry-cache': 'registry_cache' };

type Row = { key: string[]; value: unknown };

function flatten(map: unknown, depth: number, prefix: string[] = []): Row[] {
  if (depth === 0) return [{ key: prefix, value: map }];
  return Object.entries((map ?? {}) as Record<string, unknown>).flatMap(([k, v]) => flatten(v, depth - 1, [...prefix, k]));
}

function nest(rows: Row[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of rows) {
    let at = out;
    for (const k of key.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    at[key.at(-1)!] = value;
  }
  return out;
}

/** Connection trouble (down, restarting, refused, timed out) as opposed to a refused statement. */
function unavailable(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  if (err instanceof pg.DatabaseError) return /^(08|53|57P)/.test(code);
  return true;
}

function wrap(err: unknown, what: string): Error {
  if (err instanceof StoreError || err instanceof StoreUnavailableError) return err;
  const message = (err as Error).message || String(err);
  return unavailable(err) ? new StoreUnavailableError(`${what}: ${message}`) : new StoreError(`the database refused ${what}: ${message}`);
}

interface Cached {
  version: number;
  value: unknown;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparsable url)';
  }
}

export class PostgresStore implements Store {
  readonly driver = 'postgres' as const;
  readonly heldBy = undefined;
  readonly readOnly = false;
  private cache = new Map<string, Cached>();
  private queues = new Map<string, Promise<unknown>>();
  private tables = new Map<string, BatchedTable<unknown>>();
  private auditTail: AuditRecord[] = [];
  private deliveriesSeen = 0;

  constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
    private readonly auditLimit: number,
  ) {}

  readonly audit = {
    append: async (e: AuditRecord): Promise<void> => {
      await this.query(
        'recording an audit entry',
        'INSERT INTO audit_log (at, actor, action, service, result, channel, detail, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [e.at, e.actor, e.action, e.service ?? null, e.result, e.channel ?? null, e.detail ?? null, e.requestId ?? null],
      );
      this.auditTail.push(e);
      if (this.auditTail.length > this.auditLimit) this.auditTail.splice(0, this.auditTail.length - this.auditLimit);
    },
    recent: (): AuditRecord[] => this.auditTail,
  };

  /** Brings the schema to this archshift's version (see migrations.ts). */
  async migrate(): Promise<void> {
    const { client, release } = await this.checkout('connecting');
    try {
      await migrate(client);
    } finally {
      release();
    }
  }

  /** Reads every section, table and the newest audit entries into memory. */
  async load(): Promise<void> {
    const { rows } = await this.query<{ name: string; version: string }>('reading the store', 'SELECT name, version FROM sections');
    for (const r of rows) await this.reload(r.name, Number(r.version));
    for (const [name, table] of Object.entries(TABLES)) {
      const { rows: entries } = await this.query<{ ref: string; value: unknown }>('reading the store', `SELECT ref, value FROM ${table}`);
      this.tables.set(name, new BatchedTable(new Map(entries.map((e) => [e.ref, e.value])), (batch) => this.writeBatch(table, batch)));
    }
    const { rows: audit } = await this.query<Record<string, unknown>>(
      'reading the audit log',
      'SELECT at, actor, action, service, result, channel, detail, request_id FROM audit_log ORDER BY id DESC LIMIT $1',
      [this.auditLimit],
    );
    this.auditTail = audit.reverse().map(auditFromRow);
  }

  section<T>(name: string, initial: () => T): Section<T> {
    return {
      get: () => (this.cache.get(name)?.value as T | undefined) ?? initial(),
      update: (fn) => this.serial(name, () => this.updateNow(name, initial, fn)),
    };
  }

  table<V>(name: string): BatchedTable<V> {
    const table = this.tables.get(name);
    if (!table) throw new StoreError(`no table ${name} in the store (known: ${Object.keys(TABLES).join(', ')})`);
    return table as BatchedTable<V>;
  }

  /**
   * One batch of a keyed table in one statement: changed rows upserted, deleted rows removed when they
   * still hold the value this replica deleted (another replica may have just written a fresh one).
   */
  private async writeBatch(sql: string, batch: Batch): Promise<void> {
    const put: [string, string][] = [];
    const del: [string, string][] = [];
    for (const [k, op] of batch) ('put' in op ? put : del).push([k, JSON.stringify('put' in op ? op.put : op.delete)]);
    await this.query(
      `saving ${sql}`,
      `WITH gone AS (DELETE FROM ${sql} WHERE (ref, value) IN (SELECT * FROM unnest($3::text[], $4::jsonb[])))
       INSERT INTO ${sql} (ref, value) SELECT * FROM unnest($1::text[], $2::jsonb[])
       ON CONFLICT (ref) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [put.map(([k]) => k), put.map(([, v]) => v), del.map(([k]) => k), del.map(([, v]) => v)],
    );
  }

  async firstDelivery(key: string, windowMs: number): Promise<boolean> {
    // The unique key decides: the first INSERT wins, a repeat within the window updates nothing.
    const { rowCount } = await this.query(
      'recording a Slack delivery',
      `INSERT INTO slack_deliveries (key, seen_at) VALUES ($1, now())
       ON CONFLICT (key) DO UPDATE SET seen_at = now() WHERE slack_deliveries.seen_at < now() - $2 * interval '1 millisecond'`,
      [key, windowMs],
    );
    if (++this.deliveriesSeen % 500 === 0) {
      await this.query('pruning Slack deliveries', `DELETE FROM slack_deliveries WHERE seen_at < now() - $1 * interval '1 millisecond'`, [
        windowMs,
      ]);
    }
    return rowCount === 1;
  }

  async refresh(): Promise<void> {
    const { rows } = await this.query<{ name: string; version: string }>('reading the store', 'SELECT name, version FROM sections');
    for (const r of rows) {
      const version = Number(r.version);
      if (this.cache.get(r.name)?.version !== version) await this.serial(r.name, () => this.reload(r.name, version));
    }
  }

  async withLock<R>(key: string, waitMs: number, fn: () => Promise<R>): Promise<R> {
    const { client, release } = await this.checkout(`taking the lock ${key}`);
    let broken: Error | undefined;
    try {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const { rows } = await client
          .query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [key])
          .catch((err: unknown) => {
            throw wrap(err, `taking the lock ${key}`);
          });
        if (rows[0].ok) break;
        if (Date.now() >= deadline) throw new StoreBusyError(`${key} is held by another process`);
        await new Promise((r) => setTimeout(r, 100));
      }
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch((err: Error) => (broken = err));
      }
    } finally {
      // A connection whose unlock failed is dropped, which releases the lock on the server.
      release(broken);
    }
  }

  async ping(): Promise<void> {
    await this.query('checking the database', 'SELECT 1');
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.values());
    for (const t of this.tables.values()) await t.flush().catch(() => undefined);
    await this.pool.end();
  }

  /** True when no feature has written anything yet (store copy refuses to mix two installations). */
  async isEmpty(): Promise<boolean> {
    const { rows } = await this.query<{ n: string }>(
      'reading the store',
      `SELECT (SELECT count(*) FROM sections WHERE doc IS NOT NULL) + (SELECT count(*) FROM audit_log) +
              (SELECT count(*) FROM registry_cache) +
              (SELECT count(*) FROM canaries) + (SELECT count(*) FROM pr_records) + (SELECT count(*) FROM digest_history) +
              (SELECT count(*) FROM move_watches) AS n`,
    );
    return Number(rows[0].n) === 0;
  }

  /** Writes a whole installation (store copy) in one transaction: all of it lands, or nothing. */
  async importAll(data: {
    sections: Record<string, unknown>;
    tables: Record<string, Array<[string, unknown]>>;
    audit: AuditRecord[];
  }): Promise<void> {
    const { client, release } = await this.checkout('copying the store');
    try {
      await client.query('BEGIN');
      for (const [name, value] of Object.entries(data.sections)) {
        await client.query(
          'INSERT INTO sections (name, version) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET version = sections.version + 1',
          [name],
        );
        await this.write(client, name, undefined, value);
      }
      for (const [name, entries] of Object.entries(data.tables)) {
        for (let i = 0; i < entries.length; i += 5000) {
          const batch = entries.slice(i, i + 5000);
          await client.query(
            `INSERT INTO ${TABLES[name]} (ref, value) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (ref) DO UPDATE SET value = EXCLUDED.value`,
            [batch.map(([k]) => k), batch.map(([, v]) => JSON.stringify(v))],
          );
        }
      }
      for (let i = 0; i < data.audit.length; i += 5000) {
        const batch = data.audit.slice(i, i + 5000);
        const col = (f: (e: AuditRecord) => string | undefined) => batch.map((e) => f(e) ?? null);
        await client.query(
          `INSERT INTO audit_log (at, actor, action, service, result, channel, detail, request_id)
           SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
          [
            col((e) => e.at),
            col((e) => e.actor),
            col((e) => e.action),
            col((e) => e.service),
            col((e) => e.result),
            col((e) => e.channel),
            col((e) => e.detail),
            col((e) => e.requestId),
          ],
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw wrap(err, 'copying the store');
    } finally {
      release();
    }
    await this.load();
  }

  private async reload(name: string, version: number): Promise<void> {
    this.cache.set(name, { version, value: await this.read(this.pool, name) });
  }

  /** The section's value as committed; undefined when it was never written. */
  private async read(db: pg.Pool | pg.PoolClient, name: string): Promise<unknown> {
    const { rows } = await db.query<{ doc: unknown }>('SELECT doc FROM sections WHERE name = $1', [name]);
    const doc = rows[0]?.doc ?? undefined;
    const layout = LAYOUTS[name];
    if (!layout) return doc;
    const cols = layout.keys.join(', ');
    const { rows: records } = await db.query<Record<string, unknown>>(
      `SELECT ${cols}, ${layout.valueColumn} AS value FROM ${layout.table}`,
    );
    if (doc === undefined && !records.length) return undefined;
    const map = nest(records.map((r) => ({ key: layout.keys.map((k) => String(r[k])), value: r.value })));
    return layout.root ? { ...(doc as object), [layout.root]: map } : map;
  }

  private async updateNow<T, R>(name: string, initial: () => T, fn: (value: T) => R | Promise<R>): Promise<R> {
    const { client, release } = await this.checkout(`saving ${name}`);
    let broken: Error | undefined;
    let ownError: { err: unknown } | undefined;
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO sections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
      const { rows } = await client.query<{ version: string }>('SELECT version FROM sections WHERE name = $1 FOR UPDATE', [name]);
      const version = Number(rows[0].version);
      let cached = this.cache.get(name);
      if (cached?.version !== version) cached = { version, value: await this.read(client, name) };
      const before = cached.value;
      const draft = structuredClone((before as T | undefined) ?? initial());
      let result: R;
      try {
        result = await fn(draft);
      } catch (err) {
        ownError = { err };
        throw err;
      }
      await this.write(client, name, before, draft);
      await client.query('UPDATE sections SET version = version + 1 WHERE name = $1', [name]);
      await client.query('COMMIT');
      this.cache.set(name, { version: version + 1, value: draft });
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      // The update's own refusal goes to the caller as it is; anything else is the database's.
      throw ownError ? ownError.err : wrap(err, `saving ${name}`);
    } finally {
      release(broken);
    }
  }

  /** Writes what differs between `before` and `after`: the document part, and the changed rows. */
  private async write(client: pg.PoolClient, name: string, before: unknown, after: unknown): Promise<void> {
    const layout = LAYOUTS[name];
    if (!layout) {
      if (JSON.stringify(before) !== JSON.stringify(after))
        await client.query('UPDATE sections SET doc = $2 WHERE name = $1', [name, JSON.stringify(after ?? null)]);
      return;
    }
    const part = (v: unknown) => {
      if (v === undefined) return { doc: undefined, map: {} };
      if (!layout.root) return { doc: {}, map: v };
      const { [layout.root]: map, ...doc } = v as Record<string, unknown>;
      return { doc, map };
    };
    const b = part(before);
    const a = part(after);
    if (JSON.stringify(b.doc) !== JSON.stringify(a.doc))
      await client.query('UPDATE sections SET doc = $2 WHERE name = $1', [name, JSON.stringify(a.doc ?? null)]);
    const depth = layout.keys.length;
    const old = new Map(flatten(b.map, depth).map((r) => [JSON.stringify(r.key), JSON.stringify(r.value)]));
    const changed: Row[] = [];
    const seen = new Set<string>();
    for (const r of flatten(a.map, depth)) {
      const id = JSON.stringify(r.key);
      seen.add(id);
      if (old.get(id) !== JSON.stringify(r.value)) changed.push(r);
    }
    const removed = [...old.keys()].filter((id) => !seen.has(id)).map((id) => JSON.parse(id) as string[]);
    const cols = layout.keys;
    const arrays = (rows: string[][]) => cols.map((_, i) => rows.map((k) => k[i]));
    if (changed.length) {
      const params = [...arrays(changed.map((r) => r.key)), changed.map((r) => JSON.stringify(r.value))];
      const casts = cols.map((_, i) => `$${i + 1}::text[]`).join(', ');
      await client.query(
        `INSERT INTO ${layout.table} (${cols.join(', ')}, ${layout.valueColumn}) SELECT * FROM unnest(${casts}, $${cols.length + 1}::jsonb[])
         ON CONFLICT (${cols.join(', ')}) DO UPDATE SET ${layout.valueColumn} = EXCLUDED.${layout.valueColumn}, updated_at = now()`,
        params,
      );
    }
    if (removed.length) {
      const casts = cols.map((_, i) => `$${i + 1}::text[]`).join(', ');
      await client.query(`DELETE FROM ${layout.table} WHERE (${cols.join(', ')}) IN (SELECT * FROM unnest(${casts}))`, arrays(removed));
    }
  }

  /**
   * A connection of our own for a transaction or a lock. While it is out of the pool its 'error' event
   * (the server went away) must have a listener, or it would take the process down; the query in
   * flight fails on its own.
   */
  private async checkout(what: string): Promise<{ client: pg.PoolClient; release(err?: Error): void }> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw wrap(err, what);
    }
    let failed: Error | undefined;
    const onError = (err: Error) => (failed = err);
    client.on('error', onError);
    return {
      client,
      release: (err) => {
        client.off('error', onError);
        client.release(err ?? failed);
      },
    };
  }

  private async query<R extends pg.QueryResultRow>(what: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw wrap(err, what);
    }
  }

  private serial<R>(name: string, job: () => Promise<R>): Promise<R> {
    const prev = this.queues.get(name) ?? Promise.resolve();
    const run = prev.then(job, job);
    const tail = run.catch(() => undefined);
    this.queues.set(name, tail);
    void tail.then(() => {
      if (this.queues.get(name) === tail) this.queues.delete(name);
    });
    return run;
  }
}

function auditFromRow(r: Record<string, unknown>): AuditRecord {
  const e: AuditRecord = {
    at: new Date(r.at as string).toISOString(),
    actor: r.actor as string,
    action: r.action as string,
    result: r.result as AuditRecord['result'],
  };
  if (r.service != null) e.service = r.service as string;
  if (r.channel != null) e.channel = r.channel as string;
  if (r.detail != null) e.detail = r.detail as string;
  if (r.request_id != null) e.requestId = r.request_id as string;
  return e;
}

export async function openPostgresStore(config: PostgresConfig, opts: OpenOptions = {}): Promise<PostgresStore> {
  const url = config.url ?? (opts.env ?? process.env).DATABASE_URL;
  if (!url)
    throw new StoreError(
      'store.driver is postgres but no database is named: set store.postgres.url or DATABASE_URL (postgres://user:password@host:5432/archshift).',
    );
  const ssl =
    config.sslMode === 'disable'
      ? false
      : {
          rejectUnauthorized: config.sslMode === 'verify-full',
          ca: config.sslRootCert ? await readFile(config.sslRootCert, 'utf8') : undefined,
        };
  const pool = new pg.Pool({
    connectionString: url,
    ssl,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    query_timeout: config.statementTimeoutMs + 1000,
    application_name: 'archshift',
    // A replica that vanishes without closing its sockets still gets its advisory locks released.
    keepAlive: true,
  });
  // An idle connection the server dropped (restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const store = new PostgresStore(pool, redactUrl(url), opts.auditLimit ?? DEFAULT_AUDIT_LIMIT);
  try {
    await store.migrate();
    await store.load();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw wrap(err, 'opening the store');
  }
  return store;
}
