// The PostgreSQL schema, as numbered migrations applied at start-up in one transaction under an advisory
// lock (replicas starting together apply them once). A database already at a higher version than this
// archshift knows is refused, naming both versions, and left untouched.
import type { PoolClient } from 'pg';
import { StoreError } from './types.ts';

export const MIGRATIONS: string[] = [
  // 1: every feature's state as tables with real keys.
  `CREATE TABLE sections (
     name text PRIMARY KEY,
     version bigint NOT NULL DEFAULT 0,
     doc jsonb
   );
   CREATE TABLE canaries (
     service text PRIMARY KEY,
     record jsonb NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE TABLE pr_records (
     service text NOT NULL,
     kind text NOT NULL,
     record jsonb NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (service, kind)
   );
   CREATE TABLE digest_history (
     cluster text PRIMARY KEY,
     record jsonb NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   );
   -- By reference: registry/repository@digest -> platforms (kept), registry/repository:tag -> digest and
   -- when it was read (expires after registry.tagTtlSeconds).
   CREATE TABLE registry_cache (
     ref text PRIMARY KEY,
     value jsonb NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE TABLE audit_log (
     id bigserial PRIMARY KEY,
     at timestamptz NOT NULL,
     actor text NOT NULL,
     action text NOT NULL,
     service text,
     result text NOT NULL,
     channel text,
     detail text,
     request_id text
   );
   CREATE INDEX audit_log_at ON audit_log (at);
   CREATE INDEX audit_log_actor_at ON audit_log (actor, at);
   CREATE INDEX audit_log_service_at ON audit_log (service, at);
   CREATE TABLE slack_deliveries (
     key text PRIMARY KEY,
     seen_at timestamptz NOT NULL
   );
   CREATE INDEX slack_deliveries_seen_at ON slack_deliveries (seen_at);`,
  // 2: the watches after a move (canary started, selectors PR merged) and the problems they found.
  `CREATE TABLE move_watches (
     id text PRIMARY KEY,
     record jsonb NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Any constant: the key of the advisory lock migrations run under. */
const MIGRATION_LOCK = 0x61726d36;

/** Brings the database to SCHEMA_VERSION; resolves the version it was at before. */
export async function migrate(client: PoolClient): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS archshift_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM archshift_schema');
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        `the database has archshift schema version ${current}, newer than this archshift's schema version ${SCHEMA_VERSION}; ` +
          'upgrade archshift. The database was left untouched.',
      );
    }
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      await client.query(MIGRATIONS[v - 1]);
      await client.query('INSERT INTO archshift_schema (version) VALUES ($1)', [v]);
    }
    await client.query('COMMIT');
    return current;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
