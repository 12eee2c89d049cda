// The lowdb driver, for one replica: sections in one JSON file written by lowdb (temp file renamed over
// the original, so a crash leaves the old or the new file), keyed tables and the audit log in JSON-lines
// files next to it (see journal.ts). Updates made in the same tick share one file write. One process
// writes: the bot holds `<file>.lock` (file-lock.ts); a CLI finding it held opens the store read-only.
import { access, constants, mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { StoreError, type AuditRecord, type AuditTrail, type OpenOptions, type Section, type Store } from './types.ts';
import { acquireLock, releaseLock } from './file-lock.ts';
import { Journal } from './journal.ts';
import { BatchedTable } from './batch.ts';

/**
 * How a process shares the file with others: `exclusive` (the bot) refuses to start while another live
 * process holds the lock; `if-free` (the CLI) takes the lock when it is free and otherwise opens the
 * store read-only, keeping its changes in memory.
 */

/** 2: the registry cache and the audit log moved out of the JSON file into their own files. */
export const LOWDB_SCHEMA_VERSION = 2;

export interface LowdbData {
  schemaVersion: number;
  sections: Record<string, unknown>;
}

/** An upsert, or `[key]` alone: the entry was deleted. */
type TableLine = [key: string, value?: unknown];

/** Sections of schema 1 that became tables (entries of the named maps) or the audit log. */
const LEGACY_TABLES: Record<string, Record<string, string>> = { registryCache: { digests: 'registry-cache', tags: 'registry-cache' } };

export const DEFAULT_AUDIT_LIMIT = 5000;

/** `data/archshift.json` -> `data/archshift.<part>.jsonl`. */
export function sideFile(file: string, part: string): string {
  return `${file.replace(/\.json$/, '')}.${part}.jsonl`;
}

class LowdbStore implements Store {
  readonly driver = 'lowdb' as const;
  private queue: Promise<unknown> = Promise.resolve();
  /** Sections changed since the last file write, with their value before, to undo a failed write. */
  private unwritten = new Map<string, unknown>();
  private writeScheduled?: Promise<void>;
  private tables = new Map<string, { journal: Journal<TableLine>; map: Map<string, unknown>; table: BatchedTable<unknown> }>();
  readonly audit: AuditTrail;

  constructor(
    private readonly db: Low<LowdbData>,
    readonly location: string,
    readonly heldBy: string | undefined,
    private readonly auditJournal: Journal<AuditRecord>,
    private readonly auditTail: AuditRecord[],
    private readonly auditLimit: number,
  ) {
    this.audit = {
      append: async (entry) => {
        this.auditTail.push(entry);
        if (this.auditTail.length > this.auditLimit) this.auditTail.splice(0, this.auditTail.length - this.auditLimit);
        await this.auditJournal.append([entry]);
      },
      recent: () => this.auditTail,
    };
  }

  get readOnly(): boolean {
    return this.heldBy !== undefined;
  }

  async loadTable(name: string, legacy: Array<[string, unknown]>): Promise<void> {
    const { journal, lines } = await Journal.open<TableLine>(sideFile(this.location, name), this.readOnly, (ls) => {
      const latest = new Map<string, unknown>();
      for (const l of ls) {
        if (l.length < 2) latest.delete(l[0]);
        else latest.set(l[0], l[1]);
      }
      return [...latest];
    });
    const map = new Map<string, unknown>(lines.map((l) => [l[0], l[1]]));
    for (const [k, v] of legacy) map.set(k, v);
    // Appends cost what changed: one line per changed entry, one write per batch.
    const table = new BatchedTable<unknown>(map, (batch) =>
      journal.append([...batch].map(([k, op]): TableLine => ('put' in op ? [k, op.put] : [k]))),
    );
    this.tables.set(name, { journal, map, table });
    await journal.append(legacy);
  }

  section<T>(name: string, initial: () => T): Section<T> {
    return {
      get: () => (this.db.data.sections[name] as T | undefined) ?? initial(),
      update: async (fn) => {
        const result = await this.enqueue(async () => {
          // Work on a copy so a throwing update leaves memory as it is on disk.
          const before = this.db.data.sections[name];
          const draft = structuredClone((before as T | undefined) ?? initial());
          const r = await fn(draft);
          if (!this.unwritten.has(name)) this.unwritten.set(name, before);
          this.db.data.sections[name] = draft;
          return r;
        });
        await this.scheduleWrite();
        return result;
      },
    };
  }

  table<V>(name: string): BatchedTable<V> {
    const t = this.tables.get(name);
    if (!t) throw new StoreError(`no table ${name} in the store (known: ${[...this.tables.keys()].join(', ')})`);
    return t.table as BatchedTable<V>;
  }

  async firstDelivery(key: string, windowMs: number): Promise<boolean> {
    return this.deliveries.firstWithin(key, windowMs);
  }

  private readonly deliveries = new DeliveryMemory();

  async refresh(): Promise<void> {
    // One writer: memory is the truth.
  }

  withLock<R>(_key: string, _waitMs: number, fn: () => Promise<R>): Promise<R> {
    return fn();
  }

  async ping(): Promise<void> {
    await access(dirname(this.location), constants.W_OK);
  }

  /** The whole file as written, for `store copy`. */
  data(): LowdbData {
    return this.db.data;
  }

  tableEntries(name: string): Array<[string, unknown]> {
    return [...(this.tables.get(name)?.map ?? [])];
  }

  tableNames(): string[] {
    return [...this.tables.keys()];
  }

  async close(): Promise<void> {
    await this.enqueue(async () => undefined);
    await this.writeScheduled;
    for (const t of this.tables.values()) {
      await t.table.flush().catch(() => undefined);
      await t.journal.close();
    }
    await this.auditJournal.close();
    if (!this.readOnly) await releaseLock(`${this.location}.lock`);
  }

  /** One file write for every update queued in this tick; each caller learns whether it landed. */
  private scheduleWrite(): Promise<void> {
    this.writeScheduled ??= new Promise<void>((r) => setImmediate(r)).then(() =>
      this.enqueue(async () => {
        this.writeScheduled = undefined;
        const undo = this.unwritten;
        this.unwritten = new Map();
        if (this.readOnly || !undo.size) return;
        try {
          await this.db.write();
        } catch (err) {
          for (const [name, before] of undo) this.db.data.sections[name] = before;
          throw new StoreError(`cannot write store file ${this.location}: ${(err as Error).message}`);
        }
      }),
    );
    return this.writeScheduled;
  }

  private enqueue<R>(job: () => Promise<R>): Promise<R> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Retried-delivery keys of one process (lowdb runs one replica), bounded and kept for the window. */
export class DeliveryMemory {
  private seen = new Map<string, number>();

  constructor(
    private readonly max = 50_000,
    private readonly now: () => number = Date.now,
  ) {}

  firstWithin(key: string, windowMs: number): boolean {
    const now = this.now();
    const at = this.seen.get(key);
    if (at !== undefined && now - at < windowMs) return false;
    this.seen.delete(key);
    this.seen.set(key, now);
    // Map keeps insertion order: evict the oldest first.
    for (const [k, t] of this.seen) {
      if (this.seen.size <= this.max && now - t < windowMs) break;
      this.seen.delete(k);
    }
    return true;
  }
}

/**
 * Opens the store file. A missing file starts empty; a file that cannot be read or parsed, or that was
 * written by a newer schema, stops with a message naming the file and is never overwritten.
 */
export async function openLowdbStore(file: string, opts: OpenOptions = {}): Promise<LowdbStore> {
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  const lock = await acquireLock(`${path}.lock`);
  if (!lock.held && opts.lock !== 'if-free') {
    const h = lock.holder;
    throw new StoreError(
      `store file ${path} is in use by another archshift (pid ${h.pid} on ${h.host}, since ${h.since}). ` +
        `Stop it, or give this one its own store.file. If that process is gone, delete ${path}.lock.`,
    );
  }
  try {
    return await load(
      path,
      lock.held ? undefined : `pid ${lock.holder.pid} on ${lock.holder.host}`,
      opts.auditLimit ?? DEFAULT_AUDIT_LIMIT,
    );
  } catch (err) {
    if (lock.held) await releaseLock(`${path}.lock`);
    throw err;
  }
}

async function load(path: string, heldBy: string | undefined, auditLimit: number): Promise<LowdbStore> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StoreError(`cannot read store file ${path}: ${(err as Error).message}`);
  }
  let data: LowdbData = { schemaVersion: LOWDB_SCHEMA_VERSION, sections: {} };
  if (text !== undefined) {
    try {
      data = JSON.parse(text) as LowdbData;
    } catch (err) {
      throw new StoreError(
        `store file ${path} is not valid JSON (${(err as Error).message}); it was left untouched. ` +
          'Restore it from a backup or move it aside to start with an empty store.',
      );
    }
    checkShape(data, `store file ${path}`);
  }
  const readOnly = heldBy !== undefined;
  const legacyAudit = (data.sections.audit as { entries?: AuditRecord[] } | undefined)?.entries ?? [];
  const { journal: auditJournal, lines: audit } = await Journal.open<AuditRecord>(sideFile(path, 'audit'), readOnly, (ls) =>
    ls.slice(-auditLimit),
  );
  const tail = [...legacyAudit, ...audit].slice(-auditLimit);
  const db = new Low<LowdbData>(new JSONFile<LowdbData>(path), data);
  const store = new LowdbStore(db, path, heldBy, auditJournal, tail, auditLimit);
  await auditJournal.append(legacyAudit);
  // Every table, with the entries a schema-1 file kept inside it.
  const legacy = new Map<string, Array<[string, unknown]>>();
  for (const [section, maps] of Object.entries(LEGACY_TABLES)) {
    for (const [field, table] of Object.entries(maps)) {
      const entries = Object.entries((data.sections[section] as Record<string, Record<string, unknown>> | undefined)?.[field] ?? {});
      legacy.set(table, [...(legacy.get(table) ?? []), ...entries]);
    }
  }
  for (const [table, entries] of legacy) await store.loadTable(table, entries);
  const upgrade = data.schemaVersion < LOWDB_SCHEMA_VERSION;
  if (upgrade) {
    // The moved parts are in their own files now (appended above); the JSON file drops them.
    delete data.sections.audit;
    for (const s of Object.keys(LEGACY_TABLES)) delete data.sections[s];
    data.schemaVersion = LOWDB_SCHEMA_VERSION;
    if (!readOnly) await db.write();
  }
  return store;
}

export function checkShape(data: unknown, what: string): asserts data is LowdbData {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isRecord(data) || !isRecord(data.sections) || typeof data.schemaVersion !== 'number') {
    throw new StoreError(`${what} does not look like an archshift store. It was left untouched.`);
  }
  if (data.schemaVersion > LOWDB_SCHEMA_VERSION) {
    throw new StoreError(
      `${what} has schema version ${data.schemaVersion}, newer than this archshift (${LOWDB_SCHEMA_VERSION}); upgrade archshift. It was left untouched.`,
    );
  }
}

export type { LowdbStore };
