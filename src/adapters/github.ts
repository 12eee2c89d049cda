// The one GitHub adapter. Octokit with the retry plugin (5xx and network errors) and the throttling
// plugin (primary and secondary rate limits: waits for Retry-After instead of failing, and spaces write
// requests by `github.writeIntervalMs`, PR creations by three times that, as GitHub asks), and under them
// the content-creating budget (80 a minute, 500 an hour: ./github/budget.ts). Every write is checked
// against the `github.allow` list first; nothing outside it is ever written.
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { createAppAuth } from '@octokit/auth-app';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { githubRequests } from '../ops/metrics.ts';
import { ContentBudget, isContentCreating } from './github/budget.ts';
import { GitHubError, RepoNotAllowedError } from './github/errors.ts';
import type { GitHubAuth } from './github/credentials.ts';

const ArchshiftOctokit = Octokit.plugin(retry, throttling);
const REPO_INFO_TTL_MS = 5 * 60_000;
const COMMIT_SHA = /^[0-9a-f]{40}$/;
/** The Checks API takes at most this many annotations per request; more go in later updates. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** GitHub lists at most 3000 files of a pull request. */
const MAX_PULL_FILES = 3000;
type Client = InstanceType<typeof ArchshiftOctokit>;

export interface RepoInfo {
  fullName: string;
  defaultBranch: string;
  archived: boolean;
  /** From the repo's `permissions`; undefined for GitHub App tokens, which GitHub does not describe there. */
  canPush?: boolean;
}

export interface BranchHead {
  sha: string;
  treeSha: string;
}

export interface CommitInfo {
  sha: string;
  treeSha: string;
  message: string;
  parents: string[];
}

export interface TreeFile {
  path: string;
  sha: string;
  size: number;
}

export interface RepoTree {
  files: TreeFile[];
  truncated: boolean;
}

export type PullState = 'open' | 'closed' | 'merged';

export interface PullInfo {
  number: number;
  url: string;
  state: PullState;
  draft: boolean;
  nodeId: string;
  headSha: string;
}

/** One `object(expression:)` answer of readFiles' query; the Blob fields are absent for trees and commits. */
interface GraphQLObject {
  __typename: string;
  oid: string;
  text: string | null;
  isBinary: boolean | null;
  isTruncated: boolean;
}

export interface PullFile {
  path: string;
  status: string;
  /** A renamed file's old path. */
  previousPath?: string;
}

export type CheckConclusion = 'failure' | 'neutral' | 'success';

export interface CheckAnnotation {
  path: string;
  startLine: number;
  endLine: number;
  level: 'failure' | 'warning' | 'notice';
  title: string;
  message: string;
}

export interface CheckOutput {
  title: string;
  summary: string;
  text?: string;
  annotations: CheckAnnotation[];
}

export interface FileChange {
  path: string;
  content: string;
}

export interface GitHubClientOptions {
  baseUrl: string;
  allow: string[];
  writeIntervalMs: number;
  auth: GitHubAuth;
  /** Per attempt; a hung GitHub must not hold a command forever. */
  timeoutMs?: number;
  retries?: number;
  /** Longest Retry-After (seconds) we wait for; longer limits fail with a clear message instead. */
  maxRateLimitWaitSeconds?: number;
  /** Milliseconds per "second" of Retry-After and per retry step; 1000 in production, 1 in tests. */
  timeScaleMs?: number;
  logger?: Logger;
}

/** The composition root's factory, once credentials are found (githubAuthFromEnv). */
export function createGitHubClient(config: Config['github'], logger: Logger, auth: GitHubAuth): GitHubClient {
  return new GitHubClient({
    baseUrl: config.baseUrl,
    allow: config.allow,
    writeIntervalMs: config.writeIntervalMs,
    timeoutMs: config.timeoutMs,
    auth,
    logger,
  });
}

/** Spaces jobs by a fixed interval, one at a time; stands in for the throttling plugin's Bottleneck groups. */
class Pacer {
  private last = 0;
  private chain: Promise<unknown> = Promise.resolve();
  constructor(private readonly intervalMs: number) {}

  key(): { schedule: <T>(options: unknown, fn: () => Promise<T>) => Promise<T> } {
    return { schedule: (_options, fn) => this.run(fn) };
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => {
      const wait = this.last + this.intervalMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.last = Date.now();
    });
    this.chain = next.catch(() => undefined);
    return next.then(fn);
  }
}

export function allowedBy(allow: string[], fullName: string): boolean {
  const [owner] = fullName.split('/');
  return allow.some((a) => a.toLowerCase() === fullName.toLowerCase() || a.toLowerCase() === `${owner.toLowerCase()}/*`);
}

function split(fullName: string): { owner: string; repo: string } {
  const [owner, repo] = fullName.split('/');
  if (!owner || !repo) throw new GitHubError(`"${fullName}" is not an owner/repo name`);
  return { owner, repo };
}

export class GitHubClient {
  readonly octokit: Client;
  /** HTTP requests actually sent (retries included), for the benchmark and the request budget. */
  requestCount = 0;
  /** GitHub's secondary limits for content-creating requests, shared by everything this client sends. */
  readonly budget: ContentBudget;
  private readonly repos = new Map<string, { info: RepoInfo; at: number }>();

  constructor(private readonly options: GitHubClientOptions) {
    const scale = options.timeScaleMs ?? 1000;
    this.budget = new ContentBudget(undefined, scale / 1000);
    const maxWait = options.maxRateLimitWaitSeconds ?? 120;
    const log = options.logger;
    const onLimit = (kind: string) => (retryAfter: number, opts: { method: string; url: string }, _o: unknown, retryCount: number) => {
      log?.warn({ kind, retryAfter, method: opts.method, url: opts.url, retryCount }, 'GitHub rate limit hit');
      return retryCount < 3 && retryAfter <= maxWait;
    };
    // Below the retry and throttling plugins, so every attempt is counted with the status it got.
    const countingFetch: typeof fetch = async (input, init) => {
      const method = (init?.method ?? 'GET').toUpperCase();
      if (isContentCreating(method, input instanceof Request ? input.url : String(input), init?.body)) await this.budget.acquire();
      this.requestCount++;
      try {
        const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
        const res = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
        githubRequests.inc({ method, status: String(res.status) });
        return res;
      } catch (err) {
        githubRequests.inc({ method, status: 'error' });
        throw err;
      }
    };
    const authOptions =
      options.auth.kind === 'token'
        ? { auth: options.auth.token }
        : {
            authStrategy: createAppAuth,
            auth: { appId: options.auth.appId, privateKey: options.auth.privateKey, installationId: options.auth.installationId },
          };
    this.octokit = new ArchshiftOctokit({
      ...authOptions,
      baseUrl: options.baseUrl.replace(/\/$/, ''),
      userAgent: 'archshift',
      request: { fetch: countingFetch },
      retry: { retries: options.retries ?? 3, retryAfterBaseValue: scale, doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451] },
      throttle: {
        onRateLimit: onLimit('primary'),
        onSecondaryRateLimit: onLimit('secondary'),
        retryAfterBaseValue: scale,
        // The plugin's shared Bottleneck groups are fixed at 1 s / 3 s; ours follow the config.
        write: new Pacer(options.writeIntervalMs) as never,
        notifications: new Pacer(options.writeIntervalMs * 3) as never,
      },
      log: { debug() {}, info() {}, warn: (m: string) => log?.warn(m), error() {} },
    });
  }

  isAllowed(fullName: string): boolean {
    return allowedBy(this.options.allow, fullName);
  }

  assertAllowed(fullName: string): void {
    if (!this.isAllowed(fullName)) {
      throw new RepoNotAllowedError(
        `archshift may not write to ${fullName}: it is not in github.allow (${this.options.allow.join(', ') || 'empty'})`,
      );
    }
  }

  /** Default branch, archived flag and push permission; cached for a few minutes, so a batch asks once per repo. */
  async repoInfo(fullName: string): Promise<RepoInfo> {
    const cached = this.repos.get(fullName);
    if (cached && Date.now() - cached.at < REPO_INFO_TTL_MS) return cached.info;
    const { data } = await this.call(`read ${fullName}`, () => this.octokit.repos.get(split(fullName)));
    const info: RepoInfo = { fullName, defaultBranch: data.default_branch, archived: data.archived, canPush: data.permissions?.push };
    this.repos.set(fullName, { info, at: Date.now() });
    return info;
  }

  async branchHead(fullName: string, branch: string): Promise<BranchHead | undefined> {
    try {
      const { data } = await this.octokit.repos.getBranch({ ...split(fullName), branch });
      return { sha: data.commit.sha, treeSha: data.commit.commit.tree.sha };
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw this.describe(err, `read branch ${branch} of ${fullName}`);
    }
  }

  /** A file's text at `ref`, or undefined when it does not exist. */
  async readFile(fullName: string, path: string, ref: string): Promise<string | undefined> {
    try {
      const { data } = await this.octokit.repos.getContent({ ...split(fullName), path, ref });
      if (Array.isArray(data) || data.type !== 'file') throw new GitHubError(`${fullName}:${path} is not a file`);
      if (!('encoding' in data) || data.encoding !== 'base64')
        throw new GitHubError(`${fullName}:${path} is too large for the contents API`);
      return Buffer.from(data.content, 'base64').toString('utf8');
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw this.describe(err, `read ${path} in ${fullName}`);
    }
  }

  /**
   * Several files' text at `ref` (a commit sha or branch) in one GraphQL request, in the order asked;
   * undefined for a file that does not exist, as readFile. GraphQL gives no text for binary files and
   * cuts very large ones, so those few are read from the blob API by their sha.
   */
  async readFiles(fullName: string, paths: readonly string[], ref: string): Promise<Array<string | undefined>> {
    if (!paths.length) return [];
    const { owner, repo } = split(fullName);
    // Paths travel as variables, never spliced into the query text.
    const expressions = Object.fromEntries(paths.map((p, i) => [`e${i}`, `${ref}:${p}`]));
    const query =
      `query($owner: String!, $name: String!, ${paths.map((_, i) => `$e${i}: String!`).join(', ')}) { repository(owner: $owner, name: $name) { ` +
      paths.map((_, i) => `f${i}: object(expression: $e${i}) { __typename ... on Blob { oid text isBinary isTruncated } }`).join(' ') +
      ' } }';
    const data = await this.call(`read ${paths.join(', ')} in ${fullName}`, () =>
      this.octokit.graphql<{ repository: Record<string, GraphQLObject | null> }>(query, { owner, name: repo, ...expressions }),
    );
    return Promise.all(
      paths.map(async (path, i) => {
        const object = data.repository[`f${i}`];
        if (!object) return undefined;
        if (object.__typename !== 'Blob') throw new GitHubError(`${fullName}:${path} is not a file`);
        if (object.text !== null && !object.isBinary && !object.isTruncated) return object.text;
        return (await this.readBlob(fullName, object.oid)).toString('utf8');
      }),
    );
  }

  /**
   * Every file of `branch` (or of a commit, by its sha) with its blob sha and size, in one listing
   * (`recursive=1`); `truncated` when GitHub cut a very large tree short.
   */
  async listFiles(fullName: string, branch: string): Promise<RepoTree> {
    // The trees API takes a commit sha for the tree; a branch name is resolved first (it may not exist).
    let treeSha = branch;
    if (!COMMIT_SHA.test(branch)) {
      const head = await this.branchHead(fullName, branch);
      if (!head) throw new GitHubError(`cannot list the files of ${fullName}: branch ${branch} does not exist`, 404);
      treeSha = head.treeSha;
    }
    const { data } = await this.call(`list the files of ${fullName}@${branch}`, () =>
      this.octokit.git.getTree({ ...split(fullName), tree_sha: treeSha, recursive: '1' }),
    );
    // Symlinks (mode 120000) are blobs holding the link target, not the file; submodules are commits.
    const files = data.tree
      .filter((e) => e.type === 'blob' && e.mode !== '120000' && e.path && e.sha)
      .map((e) => ({ path: e.path, sha: e.sha, size: e.size ?? 0 }));
    return { files, truncated: data.truncated };
  }

  /** A blob's bytes by sha (the git data API serves files the contents API refuses as too large). */
  async readBlob(fullName: string, sha: string): Promise<Buffer> {
    const { data } = await this.call(`read blob ${sha.slice(0, 7)} in ${fullName}`, () =>
      this.octokit.git.getBlob({ ...split(fullName), file_sha: sha }),
    );
    return Buffer.from(data.content, data.encoding === 'base64' ? 'base64' : 'utf8');
  }

  /** One commit holding every file change, on top of `base` (git data API: one tree, one commit). */
  async createCommit(fullName: string, base: BranchHead, files: FileChange[], message: string): Promise<{ sha: string; treeSha: string }> {
    this.assertAllowed(fullName);
    const repo = split(fullName);
    const tree = await this.call(`write to ${fullName}`, () =>
      this.octokit.git.createTree({
        ...repo,
        base_tree: base.treeSha,
        tree: files.map((f) => ({ path: f.path, mode: '100644' as const, type: 'blob' as const, content: f.content })),
      }),
    );
    const commit = await this.call(`commit to ${fullName}`, () =>
      this.octokit.git.createCommit({ ...repo, message, tree: tree.data.sha, parents: [base.sha] }),
    );
    return { sha: commit.data.sha, treeSha: tree.data.sha };
  }

  async commitInfo(fullName: string, sha: string): Promise<CommitInfo> {
    const { data } = await this.call(`read commit ${sha.slice(0, 7)} in ${fullName}`, () =>
      this.octokit.git.getCommit({ ...split(fullName), commit_sha: sha }),
    );
    return { sha: data.sha, treeSha: data.tree.sha, message: data.message, parents: data.parents.map((p) => p.sha) };
  }

  /** Creates `branch` at `sha`; 'exists' when GitHub says the reference already exists. */
  async createBranch(fullName: string, branch: string, sha: string): Promise<'created' | 'exists'> {
    this.assertAllowed(fullName);
    try {
      await this.octokit.git.createRef({ ...split(fullName), ref: `refs/heads/${branch}`, sha });
      return 'created';
    } catch (err) {
      const e = err as { status?: number; message?: string };
      if (e.status === 422 && /already exists/i.test(e.message ?? '')) return 'exists';
      throw this.describe(err, `create branch ${branch} in ${fullName}`);
    }
  }

  async branchSha(fullName: string, branch: string): Promise<string | undefined> {
    try {
      const { data } = await this.octokit.git.getRef({ ...split(fullName), ref: `heads/${branch}` });
      return data.object.sha;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw this.describe(err, `read branch ${branch} of ${fullName}`);
    }
  }

  async moveBranch(fullName: string, branch: string, sha: string): Promise<void> {
    this.assertAllowed(fullName);
    await this.call(`update branch ${branch} in ${fullName}`, () =>
      this.octokit.git.updateRef({ ...split(fullName), ref: `heads/${branch}`, sha, force: true }),
    );
  }

  async deleteBranch(fullName: string, branch: string): Promise<void> {
    this.assertAllowed(fullName);
    await this.call(`delete branch ${branch} in ${fullName}`, () =>
      this.octokit.git.deleteRef({ ...split(fullName), ref: `heads/${branch}` }),
    );
  }

  /** The newest PR (any state) whose head is `branch` in the same repo. */
  async findPull(fullName: string, branch: string): Promise<PullInfo | undefined> {
    const repo = split(fullName);
    const { data } = await this.call(`list pull requests in ${fullName}`, () =>
      this.octokit.pulls.list({ ...repo, head: `${repo.owner}:${branch}`, state: 'all', sort: 'created', direction: 'desc', per_page: 10 }),
    );
    const pr = data[0];
    return pr ? toPull(pr) : undefined;
  }

  async createPull(fullName: string, pr: { head: string; base: string; title: string; body: string; draft: boolean }): Promise<PullInfo> {
    this.assertAllowed(fullName);
    const { data } = await this.call(`open a pull request in ${fullName}`, () => this.octokit.pulls.create({ ...split(fullName), ...pr }));
    return toPull(data);
  }

  async updatePull(fullName: string, number: number, pr: { title: string; body: string }): Promise<PullInfo> {
    this.assertAllowed(fullName);
    const { data } = await this.call(`update pull request #${number} in ${fullName}`, () =>
      this.octokit.pulls.update({ ...split(fullName), pull_number: number, ...pr }),
    );
    return toPull(data);
  }

  /** REST cannot undraft a PR; GraphQL's markPullRequestReadyForReview can. */
  async markReady(fullName: string, pull: PullInfo): Promise<void> {
    this.assertAllowed(fullName);
    await this.call(`mark #${pull.number} ready in ${fullName}`, () =>
      this.octokit.graphql(
        'mutation($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }',
        { id: pull.nodeId },
      ),
    );
  }

  /** The commit `head` branched from `base` at: what a PR's head is compared with (its base branch may have moved on since). */
  async mergeBase(fullName: string, base: string, head: string): Promise<string> {
    const { data } = await this.call(`compare ${base.slice(0, 7)}...${head.slice(0, 7)} in ${fullName}`, () =>
      this.octokit.repos.compareCommitsWithBasehead({ ...split(fullName), basehead: `${base}...${head}`, per_page: 1 }),
    );
    return data.merge_base_commit.sha;
  }

  /** The paths a pull request changes (renames give both paths), up to GitHub's 3000. */
  async pullFiles(fullName: string, number: number): Promise<{ files: PullFile[]; truncated: boolean }> {
    const files: PullFile[] = [];
    for (let page = 1; files.length < MAX_PULL_FILES; page++) {
      const { data } = await this.call(`list the files of pull request #${number} in ${fullName}`, () =>
        this.octokit.pulls.listFiles({ ...split(fullName), pull_number: number, per_page: 100, page }),
      );
      files.push(
        ...data.map((f) => ({ path: f.filename, status: f.status, ...(f.previous_filename ? { previousPath: f.previous_filename } : {}) })),
      );
      if (data.length < 100) return { files, truncated: false };
    }
    return { files, truncated: true };
  }

  /** Opens a check run `in_progress` on `headSha`; returns its id. Only a GitHub App may (checks: write). */
  async createCheckRun(
    fullName: string,
    run: { name: string; headSha: string; externalId?: string; detailsUrl?: string },
  ): Promise<number> {
    this.assertAllowed(fullName);
    const { data } = await this.call(`create check run ${run.name} in ${fullName}`, () =>
      this.octokit.checks.create({
        ...split(fullName),
        name: run.name,
        head_sha: run.headSha,
        status: 'in_progress',
        started_at: new Date().toISOString(),
        ...(run.externalId ? { external_id: run.externalId } : {}),
        ...(run.detailsUrl ? { details_url: run.detailsUrl } : {}),
      }),
    );
    return data.id;
  }

  /**
   * Completes a check run with its conclusion and output. GitHub takes at most 50 annotations per
   * request and appends those of each update, so the rest follow in further updates of 50.
   * Returns the number of requests made.
   */
  async completeCheckRun(fullName: string, id: number, conclusion: CheckConclusion, output: CheckOutput): Promise<number> {
    this.assertAllowed(fullName);
    const batches: CheckAnnotation[][] = [];
    for (let i = 0; i < output.annotations.length; i += ANNOTATIONS_PER_REQUEST)
      batches.push(output.annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
    const base = { title: output.title, summary: output.summary, ...(output.text ? { text: output.text } : {}) };
    const toGitHub = (a: CheckAnnotation) => ({
      path: a.path,
      start_line: a.startLine,
      end_line: a.endLine,
      annotation_level: a.level,
      title: a.title,
      message: a.message,
    });
    let requests = 0;
    for (const [i, batch] of (batches.length ? batches : [[]]).entries()) {
      requests++;
      await this.call(`update check run ${id} in ${fullName}`, () =>
        this.octokit.checks.update({
          ...split(fullName),
          check_run_id: id,
          ...(i === 0 ? { status: 'completed' as const, conclusion, completed_at: new Date().toISOString() } : {}),
          output: { ...base, ...(batch.length ? { annotations: batch.map(toGitHub) } : {}) },
        }),
      );
    }
    return requests;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.describe(err, what);
    }
  }

  /** Turns an Octokit error into a sentence a Slack user can act on. */
  describe(err: unknown, what: string): GitHubError {
    if (err instanceof GitHubError) return err;
    const e = err as {
      status?: number;
      message?: string;
      response?: { data?: { message?: string } };
      errors?: Array<{ type?: string; message: string }>;
    };
    // A GraphQL answer with `errors` arrives as HTTP 200; its error types stand in for the status.
    const graphqlStatus = e.errors?.some((x) => x.type === 'NOT_FOUND')
      ? 404
      : e.errors?.some((x) => x.type === 'FORBIDDEN')
        ? 403
        : undefined;
    const detail = e.errors?.map((x) => x.message).join('; ') ?? e.response?.data?.message ?? e.message ?? String(err);
    const status = e.status ?? graphqlStatus;
    let message: string;
    // Octokit reports a fetch that was aborted by our timeout as a 500 with the abort's message.
    if (/aborted due to timeout/i.test(detail))
      message = `GitHub did not answer within ${this.options.timeoutMs ?? 15_000} ms while trying to ${what} (timeout); try again later`;
    else if (status === 401) message = `GitHub rejected archshift's credentials (401) while trying to ${what}`;
    else if (status === 403 && /archived/i.test(detail)) message = `cannot ${what}: the repository is archived (read-only)`;
    else if ((status === 403 || status === 429) && /rate limit/i.test(detail))
      message = `GitHub rate limit while trying to ${what}; try again later (${detail})`;
    else if (status === 403) message = `archshift's GitHub token may not ${what} (403: ${detail})`;
    else if (status === 404) message = `cannot ${what}: not found (404); check the repo name and that archshift's token can see it`;
    else if (status === 409) message = `cannot ${what}: GitHub reports a conflict (409: ${detail})`;
    else if (status === 422) message = `cannot ${what}: ${detail} (422)`;
    else if (status) message = `GitHub answered ${status} while trying to ${what}: ${detail}`;
    else if (e.errors) message = `GitHub's GraphQL API refused to ${what}: ${detail}`;
    else message = `could not reach GitHub to ${what}: ${detail}`;
    return new GitHubError(message, status);
  }
}

function toPull(pr: {
  number: number;
  html_url: string;
  state: string;
  merged_at?: string | null;
  draft?: boolean;
  node_id: string;
  head: { sha: string };
}): PullInfo {
  return {
    number: pr.number,
    url: pr.html_url,
    state: pr.merged_at ? 'merged' : pr.state === 'open' ? 'open' : 'closed',
    draft: pr.draft ?? false,
    nodeId: pr.node_id,
    headSha: pr.head.sha,
  };
}
