// `archshift store copy --from <file> --to <postgres-url>`: moves a one-replica installation (lowdb) to
// PostgreSQL. It reads no config and opens nothing else: stop the bot first (the file's lock says so).
import { UsageError } from '../args.ts';
import { storeConfigSchema } from '../config/store-config.ts';
import type { CliRun } from './types.ts';

export const runStoreCommand: CliRun = async (args, io) => {
  const [verb, ...extra] = args.positionals;
  if (verb !== 'copy' || extra.length) throw new UsageError('the only store verb is `copy`');
  const from = args.flags.from;
  if (typeof from !== 'string') throw new UsageError('--from <file> names the lowdb store file (store.file)');
  const to = typeof args.flags.to === 'string' ? args.flags.to : process.env.DATABASE_URL;
  if (!to) throw new UsageError('--to <postgres-url> (or $DATABASE_URL) names the database to copy into');
  const parsed = storeConfigSchema.safeParse({
    driver: 'postgres',
    postgres: { url: to, sslMode: args.flags['ssl-mode'] ?? 'disable', sslRootCert: args.flags['ssl-root-cert'] },
  });
  if (!parsed.success) throw new UsageError('--ssl-mode is disable, require or verify-full; --ssl-root-cert names a PEM file');
  // Loaded here: it brings pg, which no other terminal command needs at start.
  const { copyStore } = await import('../adapters/store/copy.ts');
  const r = await copyStore(from, parsed.data.postgres);
  const tables = Object.entries(r.tableEntries).map(([t, n]) => `${n} ${t}`);
  io.out(
    `Copied ${r.from} to ${r.to}: sections ${r.sections.join(', ') || '(none)'}; ${[...tables, `${r.auditEntries} audit entries`].join(', ')}. Checked by reading it back.`,
  );
  io.out('Next: set store.driver: postgres (and DATABASE_URL) and start the bot; keep the file as a backup.');
  return 0;
};
