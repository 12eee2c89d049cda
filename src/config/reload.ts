// Re-reads the config file the bot was started from and applies what can change while it runs
// (`/arm64 reload`, SIGHUP). Live: the sections whose consumers read them on each use, swapped whole in
// the settings holder (src/config/live.ts) the composition root made. Everything
// built once at start-up (Slack receiver, ops server, adapters, the canary controller and its
// scheduler, the armed digest cron, the Slack group cache) keeps its running value and is reported as
// "needs a restart". An invalid file changes nothing. Only this process reloads.
import { isDeepStrictEqual } from 'node:util';
import { audited, type AuditDeps } from '../auth/audit.ts';
import { UserError } from '../errors.ts';
import { loadKnowledgeBase } from '../readiness/knowledge/load.ts';
import { Catalog } from './catalog.ts';
import { discoverServices, type DiscoverNeeds } from './discover.ts';
import type { Live, Settings } from './live.ts';
import { signalActor } from '../auth/actor.ts';
import { ConfigError, loadConfig } from './load.ts';
import { refuseBadMetricQueries } from '../canary/wire.ts';
import type { CanaryController } from '../canary/controller.ts';
import type { Config } from './schema.ts';

export interface ReloadResult {
  /** Sections now in effect with their new values. */
  applied: string[];
  /** Sections (or `section.key`) changed in the file that keep their running values until a restart. */
  needsRestart: string[];
  /** Discovery could not read every cluster; the new catalog holds what was found. */
  warning?: string;
}

/**
 * How each section takes a new value: only at start-up, or at once except for the keys listed (read
 * once at start-up). Typed over every section, so a new one must be placed here.
 */
const takesEffect: { [K in keyof Config]-?: 'restart' | { restartKeys: Array<keyof Config[K]> } } = {
  slack: 'restart',
  server: 'restart',
  kubernetes: 'restart',
  registry: 'restart',
  // The Maven repository adapter is built once at start-up.
  maven: 'restart',
  github: 'restart',
  store: 'restart',
  aws: 'restart',
  // The controller, its notifier (thresholds) and its tick timer keep the settings they were built with.
  canary: 'restart',
  // Per use: the catalog is rebuilt below, check.ts reads readiness and knowledge per check.
  catalog: { restartKeys: [] },
  readiness: { restartKeys: [] },
  knowledge: { restartKeys: [] },
  // Roles per check; the Slack group cache keeps its TTL.
  auth: { restartKeys: ['groupCacheSeconds'] },
  // runDigest reads the section per run; the cron schedule is armed once.
  digest: { restartKeys: ['schedule', 'timezone', 'catchUpHours'] },
  // The webhook route is built once; the check reads reportUrl per delivery.
  guard: { restartKeys: ['maxPayloadBytes', 'deliveryWindowHours'] },
};

type Section = Record<string, unknown>;

/** The config to run with now: live parts from `next`, the rest as running; and what differed. */
export function planReload(current: Config, next: Config): { config: Config; applied: string[]; needsRestart: string[] } {
  const config = { ...current } as Record<keyof Config, unknown>;
  const applied: string[] = [];
  const needsRestart: string[] = [];
  for (const name of Object.keys(takesEffect) as Array<keyof Config>) {
    const rule = takesEffect[name];
    const was = current[name] as Section;
    const now = next[name] as Section;
    if (isDeepStrictEqual(was, now)) continue;
    if (rule === 'restart') {
      needsRestart.push(name);
      continue;
    }
    const merged: Section = { ...now };
    for (const key of rule.restartKeys as string[]) {
      if (isDeepStrictEqual(was[key], now[key])) continue;
      needsRestart.push(`${name}.${key}`);
      if (key in was) merged[key] = was[key];
      else delete merged[key];
    }
    if (!isDeepStrictEqual(merged, was)) {
      applied.push(name);
      config[name] = merged;
    }
  }
  return { config: config as Config, applied: applied.sort(), needsRestart: needsRestart.sort() };
}

/** What a reload uses: the holder it swaps settings in, and what discovery and the audit need. */
export interface ReloadNeeds extends AuditDeps, Pick<DiscoverNeeds, 'kube'> {
  readonly settings?: Live<Settings>;
  /** Asked to have Prometheus parse the new catalog's metric queries before it goes live. */
  readonly canary?: Pick<CanaryController, 'validateMetrics'>;
  readonly configFile?: string;
}

/** One reload at a time per bot, so two (a command and a SIGHUP) never interleave their swaps. */
const running = new WeakMap<Live<Settings>, Promise<unknown>>();

/**
 * Loads and validates `file` (including the knowledge files it names), then swaps in the new config,
 * catalog (re-discovered before it goes live) and roles. Throws ConfigError, changing nothing.
 */
export function reloadConfig(deps: ReloadNeeds, file: string): Promise<ReloadResult> {
  const settings = deps.settings;
  if (!settings) return Promise.reject(new NoConfigFileError());
  const previous = running.get(settings) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => reloadNow(deps, settings, file));
  running.set(settings, next);
  return next;
}

async function reloadNow(deps: ReloadNeeds, settings: Live<Settings>, file: string): Promise<ReloadResult> {
  let loaded: Config;
  try {
    loaded = await loadConfig(file);
    await loadKnowledgeBase(loaded.knowledge.files);
  } catch (err) {
    throw new ConfigError(`Nothing was reloaded: ${(err as Error).message}`);
  }
  const running = settings.get();
  const { config, applied, needsRestart } = planReload(running.config, loaded);
  let catalog = running.catalog;
  let warning: string | undefined;
  if (applied.includes('catalog')) {
    catalog = new Catalog(config.catalog);
    // Filled before it goes live, so commands keep the complete old catalog until the new one is complete.
    warning = await discoverServices({ config, catalog, kube: deps.kube });
    if (deps.canary) {
      try {
        await refuseBadMetricQueries(deps.canary, catalog, deps.logger);
      } catch (err) {
        throw new ConfigError(`Nothing was reloaded: ${(err as Error).message}`);
      }
    }
  }
  settings.set({ config, catalog, auth: applied.includes('auth') ? running.auth.withConfig(config.auth) : running.auth });
  deps.logger.info({ file, applied, needsRestart, ...(warning ? { warning } : {}) }, 'config reloaded');
  return { applied, needsRestart, ...(warning ? { warning } : {}) };
}

/** One line for the audit entry, the log and the replies. */
export function summarizeReload(r: ReloadResult): string {
  const parts = [
    r.applied.length ? `applied: ${r.applied.join(', ')}` : 'nothing to apply',
    ...(r.needsRestart.length ? [`changed but needs a restart: ${r.needsRestart.join(', ')}`] : []),
    ...(r.warning ? [r.warning] : []),
  ];
  return parts.join('; ');
}

export class NoConfigFileError extends UserError {
  constructor() {
    super('This archshift was not started from a config file, so there is nothing to reload.');
  }
}

/**
 * SIGHUP: reloads this process only (with leader election, each replica needs its own signal), audited
 * with the actor `signal:SIGHUP`. Never throws: the outcome goes to the log.
 */
export async function reloadOnSignal(deps: ReloadNeeds): Promise<ReloadResult | undefined> {
  try {
    if (!deps.configFile) throw new NoConfigFileError();
    const file = deps.configFile;
    return await audited(deps, { actor: signalActor('SIGHUP'), action: 'config.reload' }, () => reloadConfig(deps, file), summarizeReload);
  } catch (err) {
    deps.logger.error({ err: (err as Error).message }, 'SIGHUP: config not reloaded');
    return undefined;
  }
}
