// `archshift store copy`: moves an installation from a lowdb file to PostgreSQL with everything it holds
// (sections such as canaries, PR records and digest history; the registry cache; every audit entry),
// in one transaction, into a database that holds no archshift data yet, then reads it back to check.
import { existsSync } from 'node:fs';
import { StoreError } from './types.ts';
import { openLowdbStore } from './lowdb.ts';
import { openPostgresStore } from './postgres.ts';
import type { PostgresConfig } from '../../config/store-config.ts';

export interface CopyReport {
  from: string;
  to: string;
  sections: string[];
  tableEntries: Record<string, number>;
  auditEntries: number;
}

export async function copyStore(fromFile: string, to: PostgresConfig): Promise<CopyReport> {
  // Opening a missing file would start an empty store and copy nothing; a held one is refused by the lock below.
  if (!existsSync(fromFile) && !existsSync(`${fromFile}.lock`))
    throw new StoreError(`store file ${fromFile} does not exist: --from names the bot's store.file (nothing was written)`);
  // Exclusive: a bot still writing the file would go on changing what was already copied.
  const source = await openLowdbStore(fromFile, { lock: 'exclusive', auditLimit: Number.MAX_SAFE_INTEGER });
  try {
    const target = await openPostgresStore(to, { auditLimit: 1 });
    try {
      if (!(await target.isEmpty())) {
        throw new StoreError(
          `the database ${target.location} already holds archshift data; copy into an empty database (nothing was written).`,
        );
      }
      const sections = source.data().sections;
      const tables = Object.fromEntries(source.tableNames().map((t) => [t, source.tableEntries(t)]));
      const audit = source.audit.recent();
      await target.importAll({ sections, tables, audit });
      // Read back what landed: every section equal, every table and the audit log complete.
      const check = await openPostgresStore(to, { auditLimit: audit.length || 1 });
      try {
        for (const name of Object.keys(sections)) {
          if (JSON.stringify(sortKeys(check.section(name, () => undefined).get())) !== JSON.stringify(sortKeys(sections[name]))) {
            throw new StoreError(
              `the copy of section ${name} differs from the file after writing; the database was left as written for inspection`,
            );
          }
        }
        for (const [name, entries] of Object.entries(tables)) {
          if (check.table(name).size !== new Set(entries.map(([k]) => k)).size) throw new StoreError(`the copy of ${name} is incomplete`);
        }
        if (check.audit.recent().length !== (audit.length ? audit.length : 0))
          throw new StoreError('the copy of the audit log is incomplete');
      } finally {
        await check.close();
      }
      return {
        from: source.location,
        to: target.location,
        sections: Object.keys(sections).sort(),
        tableEntries: Object.fromEntries(Object.entries(tables).map(([k, v]) => [k, v.length])),
        auditEntries: audit.length,
      };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** JSON with object keys in order: jsonb does not keep the order a file had. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}
