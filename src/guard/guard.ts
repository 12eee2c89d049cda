// The guard's rule: what moved stays moved. A change (a PR, or two checkouts) is checked at its base and
// its head with the readiness use case, the two reports compared (compare.ts), and judged against where
// the service runs: a change that introduces, for a service already on arm64, anything that does not
// work there fails (policy `enforce`) or is only reported (`warn`). Returns models; surfaces pick the words.
import { oncePerKey } from '../once-per-key.ts';
import type { Store } from '../adapters/store.ts';
import type { CheckConclusion } from '../adapters/github.ts';
import type { Service } from '../config/catalog.ts';
import { allowedArchitectures, toleratesArm64Taint } from '../scheduling/arm64.ts';
import {
  checkPath,
  checkSettingsOf,
  readLive,
  runCheck,
  servicePlan,
  type CheckNeeds,
  type CheckPathOptions,
  type CheckPlan,
} from '../readiness/check.ts';
import type { Finding, Report } from '../readiness/report.ts';
import { prsOf } from '../prs/records.ts';
import { BREAKING, compareReports, type Comparison } from './compare.ts';

/** What judging a service's change uses: the check's needs and the store (the PRs that moved it). */
export interface GuardNeeds extends CheckNeeds {
  readonly store: Store;
}

export type GuardPolicy = 'enforce' | 'warn' | 'off';

/** Why a service counts as moved to arm64. */
export type MoveFact =
  | { kind: 'pods-on-arm64'; cluster: string; pods: number }
  | { kind: 'cluster-selects-arm64'; cluster: string }
  | { kind: 'manifest-selects-arm64'; file?: string }
  | { kind: 'selectors-pr-merged'; number: number; url: string };

export interface GuardVerdict {
  service: string;
  policy: GuardPolicy;
  /** Empty: the service is not on arm64 yet. */
  moved: MoveFact[];
  /** When the cluster could not be read: whether the service moved is then only as good as the rest. */
  clusterProblem?: string;
  comparison: Comparison;
  /** Introduced blockers and change-level findings: what breaks arm64. */
  breaking: Finding[];
  /** Introduced findings whose evidence is missing (registry down, file unreadable). */
  unverified: Finding[];
  conclusion: CheckConclusion;
  outcome: 'breaks-arm64' | 'warned' | 'not-moved' | 'unverified' | 'clean' | 'off';
}

export function policyOf(svc: Pick<Service, 'guard'>): GuardPolicy {
  return svc.guard ?? 'enforce';
}

/** The rule, pure: failure only for a moved service under `enforce` whose change introduces what breaks arm64. */
export function judge(
  service: string,
  policy: GuardPolicy,
  moved: MoveFact[],
  comparison: Comparison,
  clusterProblem?: string,
): GuardVerdict {
  const breaking = comparison.introduced.filter((f) => BREAKING.has(f.severity));
  const unverified = comparison.introduced.filter((f) => f.severity === 'unknown');
  const base = { service, policy, moved, comparison, breaking, unverified, ...(clusterProblem ? { clusterProblem } : {}) };
  if (policy === 'off') return { ...base, conclusion: 'neutral', outcome: 'off' };
  if (!moved.length) return { ...base, conclusion: 'neutral', outcome: 'not-moved' };
  if (breaking.length)
    return { ...base, conclusion: policy === 'enforce' ? 'failure' : 'neutral', outcome: policy === 'enforce' ? 'breaks-arm64' : 'warned' };
  if (unverified.length) return { ...base, conclusion: 'neutral', outcome: 'unverified' };
  return { ...base, conclusion: 'success', outcome: 'clean' };
}

/** Manifests (of the base) that already schedule the workload on arm64 count as moved. */
function manifestFacts(base: Report): MoveFact[] {
  return base.findings
    .filter((f) => f.id === 'kubernetes.arm64-scheduled' && f.evidence.file)
    .map((f) => ({ kind: 'manifest-selects-arm64', file: f.evidence.file }));
}

/** Where the service runs (cluster), what archshift merged for it (store), and what its base manifests say. */
export async function moveFacts(deps: GuardNeeds, svc: Service, base: Report): Promise<{ facts: MoveFact[]; clusterProblem?: string }> {
  const facts: MoveFact[] = [...manifestFacts(base)];
  for (const pr of prsOf(deps.store, svc.name)) {
    if (pr.kind === 'selectors' && pr.state === 'merged') facts.push({ kind: 'selectors-pr-merged', number: pr.number, url: pr.url });
  }
  if (!deps.kube) return { facts };
  try {
    const live = await readLive(deps, svc.cluster, svc.namespace, svc.deployment);
    const onArm64 = live.pods.filter((p) => p.nodeName && live.nodeArch.get(p.nodeName) === 'arm64').length;
    if (onArm64) facts.push({ kind: 'pods-on-arm64', cluster: live.cluster, pods: onArm64 });
    const allowed = allowedArchitectures(live.spec);
    if (allowed !== 'any' && allowed.has('arm64') && toleratesArm64Taint(live.spec))
      facts.push({ kind: 'cluster-selects-arm64', cluster: live.cluster });
    return { facts };
  } catch (err) {
    return { facts, clusterProblem: (err as Error).message };
  }
}

/** One reference's layers are looked into once, even when base and head both name it. */
function sharedImageScan(scan: CheckPlan['scanImage']): CheckPlan['scanImage'] {
  return scan && oncePerKey(scan);
}

export interface PullChange {
  /** `owner/name` the PR is in. */
  repo: string;
  baseSha: string;
  headSha: string;
}

/** A catalog service at a PR's base and head (read through GitHub, no clone), compared and judged. */
export async function guardService(deps: GuardNeeds, name: string, change: PullChange): Promise<GuardVerdict> {
  const svc = deps.catalog.resolve(name);
  const opts = { inspector: deps.registry, settings: checkSettingsOf(deps), now: deps.clock.now() };
  const basePlan = servicePlan(deps, name, { refs: { [change.repo]: change.baseSha }, live: false });
  const headPlan = servicePlan(deps, name, { refs: { [change.repo]: change.headSha }, live: false });
  const scanImage = sharedImageScan(basePlan.scanImage);
  const [base, head] = await Promise.all([runCheck({ ...basePlan, scanImage }, opts), runCheck({ ...headPlan, scanImage }, opts)]);
  const { facts, clusterProblem } = await moveFacts(deps, svc, base);
  return judge(svc.name, policyOf(svc), facts, compareReports(base, head), clusterProblem);
}

export interface CheckoutGuardOptions extends Pick<CheckPathOptions, 'inspector' | 'settings' | 'scan'> {
  /** With --service: the catalog entry (policy, image) and what reads the cluster and the store. */
  service?: { deps: GuardNeeds; name: string };
}

/** Two local checkouts (`archshift guard --base --head`): the same rule for CI systems without the GitHub App. */
export async function guardCheckouts(baseDir: string, headDir: string, opts: CheckoutGuardOptions = {}): Promise<GuardVerdict> {
  const svc = opts.service ? opts.service.deps.catalog.resolve(opts.service.name) : undefined;
  // Both sides name the same service image, whatever their directories are called.
  const common: CheckPathOptions = { inspector: opts.inspector, settings: opts.settings, scan: opts.scan, serviceRepository: svc?.image };
  const [base, head] = await Promise.all([checkPath(baseDir, common), checkPath(headDir, common)]);
  const moved = svc ? await moveFacts(opts.service!.deps, svc, base) : { facts: manifestFacts(base) };
  return judge(svc?.name ?? headDir, svc ? policyOf(svc) : 'enforce', moved.facts, compareReports(base, head), moved.clusterProblem);
}
