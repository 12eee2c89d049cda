// The "open PRs" use case: plan the service's changes from its readiness report, read each change's
// files from its repo's base branch (all in one request), run the editors, and create or update one
// branch + one commit + one PR per change. A dry run stops after the edits and returns unified diffs; nothing is written to GitHub.
import type { Actor } from '../auth/actor.ts';
import type { Store } from '../adapters/store.ts';
import type { Logger } from '../logger.ts';
import { NotConfiguredError } from '../errors.ts';
import type { Service } from '../config/catalog.ts';
import type { Report } from '../readiness/report.ts';
import { hasArm64 } from '../images/types.ts';
import { checkService, type CheckNeeds } from '../readiness/check.ts';
import type { GitHubClient, PullInfo } from '../adapters/github.ts';
import { GitHubError } from '../adapters/github/errors.ts';
import { applyEdits, planChanges, type ChangeKind, type PlannedChange } from './planner.ts';
import { hasDestinationRule } from './editors/workload.ts';
import { unifiedDiff } from './diff.ts';
import { prBody, type SiblingPr } from './pr-body.ts';
import { prsSection, type PrRecord } from './records.ts';
import { prsOpened } from '../ops/metrics.ts';

/** What opening PRs uses: the check's needs, the store (PR records) and the log. */
export interface OpenPrsNeeds extends CheckNeeds {
  readonly store: Store;
  readonly logger: Logger;
}

export type OutcomeStatus =
  | 'opened' // new branch, commit and PR
  | 'updated' // our branch moved to a fresh commit, PR text refreshed
  | 'unchanged' // our branch already holds exactly these edits
  | 'already-done' // the base branch already has the change; no PR needed
  | 'skipped' // nothing to do for this kind (e.g. no base image suggestion)
  | 'refused' // bad input: not allowed, archived, missing file, editor could not place the change
  | 'left-alone' // a person pushed to the branch, or closed the PR
  | 'failed' // GitHub failed midway; nothing half-made was left behind
  | 'dry-run';

export interface ChangeOutcome {
  kind: ChangeKind;
  repo?: string;
  branch?: string;
  status: OutcomeStatus;
  reason?: string;
  pr?: { number: number; url: string; draft: boolean; state: string };
  draftReason?: string;
  /** Unified diffs of the changed files (dry runs, and for the reply). */
  diff?: string;
  files?: string[];
  /** GitHub requests this change took, reads included. */
  requests?: number;
}

export interface OpenPrsInput {
  service: Service;
  report: Report;
  kinds: readonly ChangeKind[];
  dryRun?: boolean;
  /** Who asked; the PR body names them in words GitHub can show. */
  requestedBy?: Actor;
}

export interface OpenPrsResult {
  service: string;
  outcomes: ChangeOutcome[];
}

/** One line for the audit entry: `pipeline:opened https://…/pull/12 selectors:refused`. */
export function auditSummary(r: OpenPrsResult): string {
  return r.outcomes.map((o) => `${o.kind}:${o.status}${o.pr ? ` ${o.pr.url}` : ''}`).join(' ');
}

/** Said to the person as it is: what to set. */
export class GitHubNotConfiguredError extends NotConfiguredError {
  constructor() {
    super('GitHub is not configured: set GITHUB_TOKEN, or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID.');
  }
}

/** The trailer that marks archshift's own commits; a branch head without it was pushed by a person. */
export function changeTrailer(service: string, kind: ChangeKind): string {
  return `Archshift-Change: ${service}/${kind}`;
}

interface Prepared {
  change: PlannedChange;
  base: { name: string; sha: string; treeSha: string };
  changed: Array<{ path: string; before: string; after: string }>;
  /** What the editors said (a change already made, a template left as it was): shown in the PR body. */
  notes: string[];
  diff: string;
}

class Refusal extends Error {}

/** The use case behind `/arm64 pr`, its button and `archshift pr`: a fresh readiness check, then its PRs. */
export async function checkAndOpenPrs(deps: OpenPrsNeeds, input: Omit<OpenPrsInput, 'report'>): Promise<OpenPrsResult> {
  return openPrs(deps, { ...input, report: await checkService(deps, input.service.name) });
}

export async function openPrs(deps: OpenPrsNeeds, input: OpenPrsInput): Promise<OpenPrsResult> {
  const github = deps.github;
  if (!github) throw new GitHubNotConfiguredError();
  const { service, report } = input;
  const plan = planChanges(report, service, input.kinds);
  const outcomes: ChangeOutcome[] = plan.skipped.map((s) => ({ kind: s.kind, status: 'skipped', reason: s.reason }));
  const recorded = () => prsSection(deps.store).get().services[service.name] ?? {};
  const image = `${service.image}:${service.tag ?? 'latest'}`;

  for (const change of plan.changes) {
    const before = github.requestCount;
    const outcome: ChangeOutcome = { kind: change.kind, repo: change.repo, branch: change.branch, status: 'failed' };
    try {
      if (!input.dryRun) github.assertAllowed(change.repo);
      const prepared = await prepare(github, change, service);
      if (!prepared.changed.length) {
        Object.assign(outcome, { status: 'already-done', reason: `${change.repo}@${prepared.base.name} already has this change` });
      } else if (input.dryRun) {
        Object.assign(outcome, { status: 'dry-run', diff: prepared.diff, files: prepared.changed.map((c) => c.path) });
        if (!github.isAllowed(change.repo)) outcome.reason = `${change.repo} is not in github.allow, so a real run would refuse`;
      } else {
        const draftReason = change.kind === 'selectors' ? await whyDraft(deps, report, image) : undefined;
        const siblings: Partial<Record<ChangeKind, SiblingPr>> = {};
        for (const c of plan.changes) siblings[c.kind] = { repo: c.repo };
        for (const [k, r] of Object.entries(recorded()) as Array<[ChangeKind, PrRecord]>)
          siblings[k] = { repo: r.repo, url: r.url, number: r.number, state: r.state };
        const body = prBody({
          report,
          change,
          changedFiles: prepared.changed.map((c) => c.path),
          siblings,
          image,
          draftReason,
          requestedBy: input.requestedBy,
          notes: prepared.notes,
        });
        const published = await publish(github, prepared, { service: service.name, body, draftReason, known: recorded()[change.kind] });
        Object.assign(outcome, {
          status: published.status,
          pr: published.pr,
          diff: prepared.diff,
          files: prepared.changed.map((c) => c.path),
        });
        if (published.reason) outcome.reason = published.reason;
        if (draftReason && published.pr?.draft) outcome.draftReason = draftReason;
        if (published.pr && published.status !== 'left-alone') await record(deps, service.name, change, published.pr, published.headSha);
      }
    } catch (err) {
      if (err instanceof Refusal) Object.assign(outcome, { status: 'refused', reason: err.message });
      else if (err instanceof GitHubError) {
        const refusedStatus = err.status === undefined || [401, 403, 404, 409].includes(err.status);
        Object.assign(outcome, { status: refusedStatus && !outcome.pr ? 'refused' : 'failed', reason: err.message });
      } else throw err;
    }
    if (outcome.status === 'opened') prsOpened.inc({ kind: change.kind });
    outcome.requests = github.requestCount - before;
    outcomes.push(outcome);
    deps.logger.info({ service: service.name, kind: change.kind, status: outcome.status, requests: outcome.requests }, 'pr change');
  }
  return { service: service.name, outcomes };
}

/** Reads the files at the base branch head and runs the editors. Refuses with the file named on any problem. */
async function prepare(github: GitHubClient, change: PlannedChange, service: Service): Promise<Prepared> {
  const info = await github.repoInfo(change.repo);
  if (info.archived) throw new Refusal(`${change.repo} is archived (read-only); unarchive it or move the service's files first`);
  if (info.canPush === false) throw new Refusal(`archshift's GitHub token has no write access to ${change.repo}`);
  const baseName = change.base ?? info.defaultBranch;
  const head = await github.branchHead(change.repo, baseName);
  if (!head)
    throw new Refusal(`${change.repo} has no branch ${baseName}${change.base ? ' (catalog `branch`)' : ''}; is the repository empty?`);
  const texts = await github.readFiles(
    change.repo,
    change.files.map((f) => f.path),
    head.sha,
  );
  const host = service.name;
  let needsRule =
    change.files.some((f) => f.edits.some((e) => e.editor === 'canary')) &&
    !texts.some((t) => t !== undefined && hasDestinationRule(t, host));
  const changed: Prepared['changed'] = [];
  let applied = 0;
  const reasons: string[] = [];
  const notes: string[] = [];
  change.files.forEach((file, i) => {
    const text = texts[i];
    if (text === undefined)
      throw new Refusal(`${change.repo}: ${file.path} does not exist on ${baseName}; fix the catalog entry for ${service.name}`);
    const edits = file.edits.map((e) => (e.editor === 'canary' ? { ...e, edit: { ...e.edit, createDestinationRule: needsRule } } : e));
    const result = applyEdits(text, edits);
    if (!result.ok) throw new Refusal(`${change.repo}: ${file.path}: ${result.reason}. No PR was opened.`);
    if (result.skipped) {
      reasons.push(`${file.path}: ${result.skipped}`);
      return;
    }
    applied++;
    notes.push(...result.notes.map((n) => `\`${file.path}\`: ${n}`));
    if (edits.some((e) => e.editor === 'canary') && needsRule && result.changed) needsRule = false;
    if (result.changed) changed.push({ path: file.path, before: text, after: result.text });
  });
  if (!applied) throw new Refusal(`${change.repo}: nothing to edit (${reasons.join('; ')}). No PR was opened.`);
  return {
    change,
    base: { name: baseName, sha: head.sha, treeSha: head.treeSha },
    changed,
    notes,
    diff: changed.map((c) => unifiedDiff(`${change.repo}/${c.path}`, c.before, c.after)).join(''),
  };
}

/** Why the selectors PR must stay a draft, or undefined when the image already runs on arm64. */
async function whyDraft(deps: Pick<OpenPrsNeeds, 'registry'>, report: Report, image: string): Promise<string | undefined> {
  const blockers = report.findings.filter((f) => f.severity === 'blocker' || f.severity === 'unknown').length;
  if (blockers) return `the readiness check still has ${blockers} blocker or unknown finding(s).`;
  if (!deps.registry) return `archshift cannot reach the registry to confirm that \`${image}\` publishes \`linux/arm64\`.`;
  try {
    const r = await deps.registry.inspect(image);
    if (r.status === 'multi-arch-with-arm64' && hasArm64(r.platforms)) return undefined;
    return r.status === 'amd64-only'
      ? `\`${image}\` does not publish \`linux/arm64\` yet (${r.platforms.map((p) => `${p.os}/${p.architecture}`).join(', ') || 'no platforms'}).`
      : `archshift could not confirm that \`${image}\` publishes \`linux/arm64\` (${r.reason ?? r.status}).`;
  } catch (err) {
    return `archshift could not confirm that \`${image}\` publishes \`linux/arm64\` (${(err as Error).message}).`;
  }
}

interface PublishContext {
  service: string;
  body: string;
  draftReason?: string;
  known?: PrRecord;
}

/** What publishing one change did: its status, the PR, and the branch head archshift now owns. */
interface Published {
  status: OutcomeStatus;
  pr?: NonNullable<ChangeOutcome['pr']>;
  /** The head of archshift's branch after this run, so the next run recognises it without reading the commit. */
  headSha?: string;
  reason?: string;
}

const prOf = (pr: PullInfo) => ({ number: pr.number, url: pr.url, draft: pr.draft, state: pr.state });

async function publish(github: GitHubClient, p: Prepared, ctx: PublishContext): Promise<Published> {
  const { change } = p;
  const trailer = changeTrailer(ctx.service, change.kind);
  const message = `${change.title}\n\n${trailer}`;
  const commit = await github.createCommit(
    change.repo,
    p.base,
    p.changed.map((c) => ({ path: c.path, content: c.after })),
    message,
  );
  const created = ctx.known ? 'exists' : await github.createBranch(change.repo, change.branch, commit.sha);
  if (created === 'created') return openPull(github, p, ctx);

  const current = await github.branchSha(change.repo, change.branch);
  if (!current) {
    // Recorded but gone (deleted after a merge or by hand): start over as a new branch.
    const again = await github.createBranch(change.repo, change.branch, commit.sha);
    if (again === 'exists')
      throw new GitHubError(`branch ${change.branch} appeared while archshift was creating it; run the command again`, 409);
    return openPull(github, p, ctx);
  }
  const head = await github.commitInfo(change.repo, current);
  if (current !== ctx.known?.headSha && !head.message.includes(trailer)) {
    return {
      status: 'left-alone',
      reason: `someone pushed to ${change.repo}:${change.branch} (commit ${current.slice(0, 7)} "${head.message.split('\n')[0]}"); archshift leaves that branch alone. Merge or close its PR, or delete the branch, to let archshift update it.`,
    };
  }
  const existing = await github.findPull(change.repo, change.branch);
  if (existing && existing.state !== 'open') {
    return {
      status: 'left-alone',
      pr: prOf(existing),
      reason: `PR #${existing.number} for ${change.branch} was ${existing.state}; archshift does not reopen it. Delete the branch to start over.`,
    };
  }
  const sameContent = head.treeSha === commit.treeSha && head.parents[0] === p.base.sha;
  if (!sameContent) await github.moveBranch(change.repo, change.branch, commit.sha);
  let pr: PullInfo;
  if (existing) pr = await github.updatePull(change.repo, existing.number, { title: change.title, body: ctx.body });
  else
    pr = await github.createPull(change.repo, {
      head: change.branch,
      base: p.base.name,
      title: change.title,
      body: ctx.body,
      draft: ctx.draftReason !== undefined,
    });
  if (pr.draft && ctx.draftReason === undefined && change.kind === 'selectors') {
    await github.markReady(change.repo, pr);
    pr = { ...pr, draft: false };
  }
  return {
    status: !existing ? 'opened' : sameContent ? 'unchanged' : 'updated',
    pr: prOf(pr),
    headSha: sameContent ? current : commit.sha,
  };
}

/** Opens the PR for a branch archshift has just created; a branch without its PR is litter, so it is deleted again if the PR fails. */
async function openPull(github: GitHubClient, p: Prepared, ctx: PublishContext): Promise<Published> {
  const { change } = p;
  try {
    const pr = await github.createPull(change.repo, {
      head: change.branch,
      base: p.base.name,
      title: change.title,
      body: ctx.body,
      draft: ctx.draftReason !== undefined,
    });
    return { status: 'opened', pr: prOf(pr), headSha: pr.headSha };
  } catch (err) {
    const cleanup = await github.deleteBranch(change.repo, change.branch).then(
      () => 'The branch archshift had created was deleted again.',
      (e: Error) => `Deleting the branch failed too (${e.message}); delete ${change.branch} by hand.`,
    );
    throw new GitHubError(`${(err as Error).message}. ${cleanup}`, 500);
  }
}

async function record(
  deps: Pick<OpenPrsNeeds, 'store' | 'clock'>,
  service: string,
  change: PlannedChange,
  pr: NonNullable<ChangeOutcome['pr']>,
  headSha = '',
): Promise<void> {
  await prsSection(deps.store).update((s) => {
    const forService = (s.services[service] ??= {});
    forService[change.kind] = {
      kind: change.kind,
      repo: change.repo,
      branch: change.branch,
      number: pr.number,
      url: pr.url,
      state: pr.state as PrRecord['state'],
      draft: pr.draft,
      headSha,
      updatedAt: deps.clock.now().toISOString(),
    };
  });
}
