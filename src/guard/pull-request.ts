// The PR check: a pull request (opened, pushed to, reopened, or its check re-requested) in a repository
// that holds part of a catalog service gets one Check Run `archshift/arm64` on its head commit. Each
// service whose files the PR touches is checked at the PR's merge base and head (guardService) and the
// worst verdict concludes the run; a PR that breaks arm64 for a moved service also gets one Slack note
// per head commit. Words come from the renderers handed in (GitHub's output, Slack's note).
import type { Logger } from '../logger.ts';
import type { CheckConclusion, CheckOutput } from '../adapters/github.ts';
import type { Service } from '../config/catalog.ts';
import type { Finding } from '../readiness/report.ts';
import { isScanCandidate } from '../readiness/scan.ts';
import { guardService, policyOf, type GuardNeeds, type GuardVerdict } from './guard.ts';

export const CHECK_NAME = 'archshift/arm64';

/** What the PR check uses: the guard's needs and the log. */
export interface PullCheckNeeds extends GuardNeeds {
  readonly logger: Logger;
}

export interface PullRequestRef {
  /** `owner/name`. */
  repo: string;
  number: number;
  url: string;
  headSha: string;
  /** The base branch's commit when the event was sent; the comparison uses the merge base. */
  baseSha: string;
}

/** What one check run concluded, for the GitHub output and the caller. */
export interface PullCheck {
  pr: PullRequestRef;
  /** The services the PR touches (guard not off), with their verdicts. */
  verdicts: GuardVerdict[];
  /** Catalog services in the repository the PR does not touch. */
  untouched: string[];
  /** Services whose check failed to run, with why (the run concludes neutral for them, never success). */
  errors: Array<{ service: string; message: string }>;
  conclusion: CheckConclusion;
  /** Introduced findings in a file of the PR's repository: annotated at file:line. */
  annotate: Array<{ service: string; verdict: GuardVerdict; finding: Finding }>;
  /** Where each service's report is, when `guard.reportUrl` is set. */
  reportUrls: Record<string, string>;
}

/** What the Slack note says: a PR would break arm64 for a service that runs there. */
export interface GuardNote {
  service: string;
  channel: string;
  pr: PullRequestRef;
  verdict: GuardVerdict;
}

export interface PullCheckIO {
  output(check: PullCheck): CheckOutput;
  /** Tells the service's channel (the Slack surface words and posts it). */
  notify(note: GuardNote): Promise<unknown>;
}

export interface PullCheckResult {
  check?: PullCheck;
  /** Why no check run was made (no catalog service in the repo, every one off). */
  skipped?: string;
  checkRunId?: number;
  /** GitHub requests this check made (installation token and retries included). */
  githubRequests: number;
  notes: number;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The catalog services that keep code, pipeline or manifests in `repo`, and whether `paths` touch what archshift reads of them. */
export function servicesIn(
  deps: Pick<PullCheckNeeds, 'catalog'>,
  repo: string,
  paths: string[],
): Array<{ svc: Service; touched: boolean }> {
  const out: Array<{ svc: Service; touched: boolean }> = [];
  for (const name of deps.catalog.names()) {
    let svc: Service;
    try {
      svc = deps.catalog.resolve(name);
    } catch {
      continue; // an incomplete entry is reported by /arm64 check; the guard cannot read it either
    }
    const parts = [
      same(svc.repo, repo) ? (p: string) => svc.dockerfiles.includes(p) || isScanCandidate(p) : undefined,
      same(svc.pipeline.repo, repo) ? (p: string) => p === svc.pipeline.file : undefined,
      same(svc.manifests.repo, repo) ? (p: string) => svc.manifests.files.includes(p) || svc.manifests.helmValues.includes(p) : undefined,
    ].filter((f): f is (p: string) => boolean => f !== undefined);
    if (parts.length) out.push({ svc, touched: paths.some((p) => parts.some((reads) => reads(p))) });
  }
  return out;
}

const rank: Record<CheckConclusion, number> = { success: 0, neutral: 1, failure: 2 };

/** Runs the check for one PR head and completes its Check Run. Throws only when GitHub itself fails. */
export async function checkPullRequest(deps: PullCheckNeeds, pr: PullRequestRef, io: PullCheckIO): Promise<PullCheckResult> {
  const github = deps.github;
  if (!github) throw new Error('no GitHub credentials are configured (GITHUB_APP_*), so pull requests cannot be checked');
  const startCount = github.requestCount;
  if (!servicesIn(deps, pr.repo, []).some(({ svc }) => policyOf(svc) !== 'off'))
    return { skipped: `no catalog service with the guard on keeps files in ${pr.repo}`, githubRequests: 0, notes: 0 };
  // A check run is a write: only where github.allow lets archshift write.
  if (!github.isAllowed(pr.repo)) return { skipped: `${pr.repo} is not in github.allow`, githubRequests: 0, notes: 0 };

  const checkRunId = await github.createCheckRun(pr.repo, { name: CHECK_NAME, headSha: pr.headSha, externalId: `${pr.repo}#${pr.number}` });
  let check: PullCheck;
  try {
    check = await judgePull(deps, pr);
  } catch (err) {
    // Never leave the run "in progress": it concludes neutral, saying why.
    check = {
      pr,
      verdicts: [],
      untouched: [],
      errors: [{ service: pr.repo, message: (err as Error).message }],
      conclusion: 'neutral',
      annotate: [],
      reportUrls: {},
    };
  }
  await github.completeCheckRun(pr.repo, checkRunId, check.conclusion, io.output(check));
  const notes = await notify(deps, check, io);
  return { check, checkRunId, githubRequests: github.requestCount - startCount, notes };
}

async function judgePull(deps: PullCheckNeeds, pr: PullRequestRef): Promise<PullCheck> {
  const github = deps.github!;
  const [{ files, truncated }, mergeBase] = await Promise.all([
    github.pullFiles(pr.repo, pr.number),
    github.mergeBase(pr.repo, pr.baseSha, pr.headSha),
  ]);
  // GitHub lists at most 3000 files: past that, every service in the repo is checked.
  const services = servicesIn(
    deps,
    pr.repo,
    files.flatMap((f) => [f.path, ...(f.previousPath ? [f.previousPath] : [])]),
  ).filter(({ svc }) => policyOf(svc) !== 'off');
  const touched = services.filter((s) => s.touched || truncated).map((s) => s.svc);
  const settled = await Promise.all(
    touched.map((svc) =>
      guardService(deps, svc.name, { repo: pr.repo, baseSha: mergeBase, headSha: pr.headSha }).then(
        (verdict) => ({ verdict }),
        (err: Error) => ({ error: { service: svc.name, message: err.message } }),
      ),
    ),
  );
  const verdicts = settled.flatMap((s) => ('verdict' in s ? [s.verdict] : []));
  const errors = settled.flatMap((s) => ('error' in s ? [s.error] : []));
  const conclusions: CheckConclusion[] = [...verdicts.map((v) => v.conclusion), ...(errors.length ? ['neutral' as const] : [])];
  const conclusion = conclusions.reduce<CheckConclusion>((worst, c) => (rank[c] > rank[worst] ? c : worst), 'success');
  const reportUrl = deps.config.guard.reportUrl;
  return {
    pr,
    verdicts,
    untouched: services.filter((s) => !touched.includes(s.svc)).map((s) => s.svc.name),
    errors,
    conclusion,
    annotate: verdicts.flatMap((v) =>
      inRepo(deps.catalog.resolve(v.service), pr.repo, v.comparison.introduced).map((finding) => ({
        service: v.service,
        verdict: v,
        finding,
      })),
    ),
    reportUrls: reportUrl
      ? Object.fromEntries(touched.map((s) => [s.name, reportUrl.replaceAll('{service}', encodeURIComponent(s.name))]))
      : {},
  };
}

/** The findings whose file is in `repo` (a service's manifests and pipeline may live in other repositories). */
function inRepo(svc: Service, repo: string, findings: Finding[]): Finding[] {
  const repoOf = (file: string) =>
    svc.manifests.files.includes(file) || svc.manifests.helmValues.includes(file)
      ? svc.manifests.repo
      : file === svc.pipeline.file
        ? svc.pipeline.repo
        : svc.repo;
  return findings.filter((f) => f.evidence.file && same(repoOf(f.evidence.file), repo));
}

interface GuardSection {
  /** `<repo>#<number>@<headSha>/<service>` → when the note was posted. */
  notified: Record<string, string>;
}

const MAX_REMEMBERED_NOTES = 1000;

/** One note per service per head commit: a re-run or a redelivery does not post again. */
async function notify(deps: PullCheckNeeds, check: PullCheck, io: PullCheckIO): Promise<number> {
  const section = deps.store.section<GuardSection>('guard', () => ({ notified: {} }));
  let posted = 0;
  for (const verdict of check.verdicts.filter((v) => v.outcome === 'breaks-arm64' || v.outcome === 'warned')) {
    const key = `${check.pr.repo}#${check.pr.number}@${check.pr.headSha}/${verdict.service}`;
    const fresh = await section.update((s) => {
      if (s.notified[key]) return false;
      s.notified[key] = deps.clock.now().toISOString();
      const keys = Object.keys(s.notified);
      for (const old of keys.slice(0, Math.max(0, keys.length - MAX_REMEMBERED_NOTES))) delete s.notified[old];
      return true;
    });
    if (!fresh) continue;
    const svc = deps.catalog.resolve(verdict.service);
    const channel = svc.channel ?? deps.config.slack.channel;
    try {
      await io.notify({ service: verdict.service, channel, pr: check.pr, verdict });
      posted++;
    } catch (err) {
      // The check run already says it; a note that cannot be posted is logged, and may be tried again.
      await section.update((s) => void delete s.notified[key]);
      deps.logger.warn({ err: (err as Error).message, service: verdict.service, channel }, 'guard note not posted');
    }
  }
  return posted;
}
