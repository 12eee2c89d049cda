// PRs for the whole fleet (`archshift pr --all`): every catalog service (or one team's) through the same
// use case as `pr <service>` (a fresh check, then one PR per change), one service after another. Pacing
// needs no setting: the GitHub adapter keeps content-creating requests within GitHub's secondary limits.
// A re-run resumes: branches and PRs are found by their deterministic names, so nothing is duplicated.
import type { Actor } from '../auth/actor.ts';
import type { ChangeKind } from '../prs/planner.ts';
import { checkAndOpenPrs, type OpenPrsNeeds, type OpenPrsResult } from '../prs/open-prs.ts';
import { isUserError } from '../errors.ts';
import { selectServices, type FleetFilter } from './check-all.ts';

export interface FleetPrEntry {
  service: string;
  result?: OpenPrsResult;
  /** Why the service could not be handled (incomplete catalog entry, the check failed). */
  error?: string;
}

export interface FleetPrOptions {
  filter?: FleetFilter;
  kinds: readonly ChangeKind[];
  dryRun?: boolean;
  requestedBy?: Actor;
  /** Wraps each service's run (the CLI audits it). */
  around?: (service: string, run: () => Promise<OpenPrsResult>) => Promise<OpenPrsResult>;
  onProgress?: (done: number, total: number, service: string) => void;
}

export async function openFleetPrs(deps: OpenPrsNeeds, opts: FleetPrOptions): Promise<FleetPrEntry[]> {
  const services = await selectServices(deps, opts.filter);
  const out: FleetPrEntry[] = [];
  for (const [i, s] of services.entries()) {
    if ('error' in s) out.push({ service: s.name, error: s.error });
    else {
      const run = () => checkAndOpenPrs(deps, { service: s, kinds: opts.kinds, dryRun: opts.dryRun, requestedBy: opts.requestedBy });
      try {
        out.push({ service: s.name, result: await (opts.around ? opts.around(s.name, run) : run()) });
      } catch (err) {
        if (!isUserError(err)) deps.logger.error({ err, service: s.name }, 'fleet PRs failed');
        out.push({ service: s.name, error: (err as Error).message });
      }
    }
    opts.onProgress?.(i + 1, services.length, s.name);
  }
  return out;
}
