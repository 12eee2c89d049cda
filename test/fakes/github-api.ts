// A GitHub REST double with real state: repos, git objects (blobs, trees, commits), refs and pull
// requests, answering the way GitHub does (404 for missing refs, 422 "Reference already exists",
// 409 for an empty repository, 403 for archived repos and read-only tokens, 403/429 rate limits with
// their headers). Octokit talks to it over HTTP; failures can be injected per route. Trees are listed
// (`recursive=1`, truncated past `treeEntryLimit` as GitHub does for huge repos) and blobs read by sha,
// binary content included. GraphQL answers markPullRequestReadyForReview and `repository { object(expression:) }`
// file reads; GitHub Enterprise's /api/v3 and /api/graphql prefixes are served too. Every REST request
// is validated against GitHub's OpenAPI description first (github-openapi.ts), so the double refuses with
// 422 what GitHub refuses. The Checks API (create, update, list check runs, with annotations appended
// per update as GitHub does) only answers GitHub App installation tokens, as GitHub's does; pull
// request files are the paths that differ between the PR's base and head trees.
import { createHash, createVerify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { loadGitHubDescription, validateGitHubRequest } from './github-openapi.ts';
import { closeServer, listenLocal } from './net.ts';

interface Commit {
  tree: string;
  parents: string[];
  message: string;
  author: string;
}

interface FakeRepo {
  owner: string;
  name: string;
  defaultBranch: string;
  archived: boolean;
  blobs: Map<string, string>;
  /** Blobs given as bytes (jars, shared objects); `blobs` holds the text ones. */
  binaryBlobs: Map<string, Buffer>;
  /** Flat trees: full path → blob sha. */
  trees: Map<string, Map<string, string>>;
  commits: Map<string, Commit>;
  refs: Map<string, string>;
  pulls: FakePull[];
  checkRuns: FakeCheckRun[];
}

export interface FakeAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: string;
  message: string;
  title?: string;
}

export interface FakeCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  external_id?: string;
  details_url?: string;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: FakeAnnotation[];
  /** Each create/update request's body, in order. */
  history: Record<string, unknown>[];
}

export interface FakePull {
  number: number;
  node_id: string;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  merged: boolean;
}

export interface Injection {
  method: string;
  path: RegExp;
  status: number;
  message?: string;
  headers?: Record<string, string>;
  /** How many matching requests fail; default 1. */
  times?: number;
  /** Never answer (the client's timeout must fire); `status` is then ignored. */
  hang?: boolean;
}

export interface TokenGrant {
  /** false: reads work, writes answer 403 like a token without contents:write. */
  write: boolean;
  /** App installation tokens: GET /repos omits `permissions`, as GitHub does. */
  app?: boolean;
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

/** A query the double cannot answer; sent back as GraphQL `errors`, not as an HTTP failure. */
class GraphQLError extends Error {}

const GRAPHQL_TEXT_LIMIT = 1_000_000;

export class FakeGitHub {
  readonly repos = new Map<string, FakeRepo>();
  /** Every request as it arrived; `graphqlQuery` marks a POST /graphql that only reads. */
  readonly requests: Array<{ method: string; path: string; at: number; graphqlQuery?: boolean }> = [];
  readonly tokens = new Map<string, TokenGrant>();
  private injections: Injection[] = [];
  private server?: Server;
  private nextPull = 1;
  private nextCheckRun = 1;
  /** Blob size past which GraphQL's `Blob.text` is cut short and `isTruncated` true (GitHub: about 1 MB). */
  graphqlTextLimit = GRAPHQL_TEXT_LIMIT;
  /** Entries a recursive tree listing holds before it answers `truncated: true` (GitHub: about 100,000). */
  treeEntryLimit = Infinity;
  /** PEM public key and installation id that an App JWT must be signed for. */
  app?: { id: string; publicKey: string; installationId: string };
  url = '';

  async start(): Promise<this> {
    loadGitHubDescription();
    this.server = createServer((req, res) => void this.handle(req, res));
    this.url = await listenLocal(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  inject(i: Injection): void {
    this.injections.push({ times: 1, ...i });
  }

  clearInjections(): void {
    this.injections = [];
  }

  /** Forgets repos, recorded requests, injected failures and the GraphQL text limit (tokens stay), for the next test. */
  reset(): void {
    this.repos.clear();
    this.requests.length = 0;
    this.clearInjections();
    this.graphqlTextLimit = GRAPHQL_TEXT_LIMIT;
  }

  addRepo(
    fullName: string,
    files: Record<string, string | Buffer>,
    opts: { defaultBranch?: string; archived?: boolean; empty?: boolean } = {},
  ): void {
    const [owner, name] = fullName.split('/');
    const repo: FakeRepo = {
      owner,
      name,
      defaultBranch: opts.defaultBranch ?? 'main',
      archived: opts.archived ?? false,
      blobs: new Map(),
      binaryBlobs: new Map(),
      trees: new Map(),
      commits: new Map(),
      refs: new Map(),
      pulls: [],
      checkRuns: [],
    };
    this.repos.set(fullName, repo);
    if (opts.empty) return;
    const sha = this.commitFiles(repo, files, [], 'initial commit', 'seed');
    repo.refs.set(`refs/heads/${repo.defaultBranch}`, sha);
  }

  /** A person pushing to a branch, as `git push` would. */
  pushAsHuman(fullName: string, branch: string, files: Record<string, string>, message = 'tweak by hand'): string {
    const repo = this.repos.get(fullName)!;
    const parent = repo.refs.get(`refs/heads/${branch}`)!;
    const base = repo.trees.get(repo.commits.get(parent)!.tree)!;
    const sha = this.commitFiles(repo, files, [parent], message, 'a-human', base);
    repo.refs.set(`refs/heads/${branch}`, sha);
    return sha;
  }

  /** Merges a PR: the base branch moves to the PR head, as a fast-forward merge would. */
  merge(fullName: string, number: number): void {
    const repo = this.repos.get(fullName)!;
    const pr = repo.pulls.find((p) => p.number === number)!;
    repo.refs.set(`refs/heads/${pr.base}`, repo.refs.get(`refs/heads/${pr.head}`)!);
    pr.state = 'closed';
    pr.merged = true;
  }

  /** A person opening a PR from a new branch holding `files` on top of the base branch; returns its number and head sha. */
  openPullAsHuman(
    fullName: string,
    opts: { branch: string; base?: string; files: Record<string, string | Buffer>; title?: string },
  ): { number: number; headSha: string; baseSha: string } {
    const repo = this.repos.get(fullName)!;
    const base = opts.base ?? repo.defaultBranch;
    const baseSha = repo.refs.get(`refs/heads/${base}`)!;
    const headSha = this.commitFiles(
      repo,
      opts.files,
      [baseSha],
      opts.title ?? 'change by hand',
      'a-human',
      repo.trees.get(repo.commits.get(baseSha)!.tree)!,
    );
    repo.refs.set(`refs/heads/${opts.branch}`, headSha);
    const pr: FakePull = {
      number: this.nextPull++,
      node_id: `PR_${sha1(fullName + this.nextPull).slice(0, 12)}`,
      title: opts.title ?? 'change by hand',
      body: '',
      head: opts.branch,
      base,
      draft: false,
      state: 'open',
      merged: false,
    };
    repo.pulls.push(pr);
    return { number: pr.number, headSha, baseSha };
  }

  checkRuns(fullName: string): FakeCheckRun[] {
    return this.repos.get(fullName)!.checkRuns;
  }

  file(fullName: string, ref: string, path: string): string | undefined {
    const repo = this.repos.get(fullName)!;
    const sha = repo.refs.get(`refs/heads/${ref}`) ?? ref;
    const blob = repo.trees.get(repo.commits.get(sha)?.tree ?? '')?.get(path);
    return blob === undefined ? undefined : repo.blobs.get(blob);
  }

  branches(fullName: string): string[] {
    return [...this.repos.get(fullName)!.refs.keys()].map((r) => r.replace(/^refs\/heads\//, ''));
  }

  commit(fullName: string, sha: string): Commit | undefined {
    return this.repos.get(fullName)!.commits.get(sha);
  }

  pulls(fullName: string): FakePull[] {
    return this.repos.get(fullName)!.pulls;
  }

  /** Requests that may change something: everything but GETs and GraphQL queries. */
  writeRequests(): FakeGitHub['requests'] {
    return this.requests.filter((r) => r.method !== 'GET' && !r.graphqlQuery);
  }

  writes(): number {
    return this.writeRequests().length;
  }

  private commitFiles(
    repo: FakeRepo,
    files: Record<string, string | Buffer>,
    parents: string[],
    message: string,
    author: string,
    base = new Map<string, string>(),
  ): string {
    const tree = new Map(base);
    for (const [path, content] of Object.entries(files)) tree.set(path, this.blob(repo, content));
    const treeSha = this.storeTree(repo, tree);
    const commit: Commit = { tree: treeSha, parents, message, author };
    const sha = sha1(JSON.stringify(commit) + Math.random());
    repo.commits.set(sha, commit);
    return sha;
  }

  private blob(repo: FakeRepo, content: string | Buffer): string {
    if (typeof content !== 'string') {
      const sha = createHash('sha1').update('blob ').update(content).digest('hex');
      repo.binaryBlobs.set(sha, content);
      return sha;
    }
    const sha = sha1(`blob ${content}`);
    repo.blobs.set(sha, content);
    return sha;
  }

  private blobBytes(repo: FakeRepo, sha: string): Buffer | undefined {
    const text = repo.blobs.get(sha);
    return text === undefined ? repo.binaryBlobs.get(sha) : Buffer.from(text);
  }

  private storeTree(repo: FakeRepo, tree: Map<string, string>): string {
    const sha = sha1(JSON.stringify([...tree].sort()));
    repo.trees.set(sha, tree);
    return sha;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    // GitHub Enterprise Server: REST under /api/v3, GraphQL at /api/graphql (and not at /api/v3/graphql).
    if (url.pathname === '/api/graphql') url.pathname = '/graphql';
    else if (url.pathname.startsWith('/api/v3/') && url.pathname !== '/api/v3/graphql') url.pathname = url.pathname.slice('/api/v3'.length);
    const entry: FakeGitHub['requests'][number] = { method, path: url.pathname, at: Date.now() };
    this.requests.push(entry);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (method === 'POST' && url.pathname === '/graphql') entry.graphqlQuery = /"query"\s*:\s*"\s*query\b/.test(text);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const injected = this.injections.find((i) => i.method === method && i.path.test(url.pathname) && (i.times ?? 1) > 0);
    if (injected) {
      injected.times = (injected.times ?? 1) - 1;
      if (injected.hang) return;
      return send(
        injected.status,
        { message: injected.message ?? 'Injected failure', documentation_url: 'https://docs.github.com/rest' },
        injected.headers,
      );
    }
    try {
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      if (method === 'POST' && /^\/app\/installations\/[^/]+\/access_tokens$/.test(url.pathname))
        return this.installationToken(req, url, send);
      const grant = this.tokens.get((req.headers.authorization ?? '').replace(/^(token|bearer) /i, ''));
      if (!grant) return send(401, { message: 'Bad credentials' });
      if (method === 'POST' && url.pathname === '/graphql') return this.graphql(body, send);
      const refused = validateGitHubRequest(method, url.pathname, url.searchParams, text);
      if (refused) return send(refused.status, refused.body);
      const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
      if (!m) return send(404, { message: 'Not Found' });
      const repo = this.repos.get(`${m[1]}/${m[2]}`);
      if (!repo) return send(404, { message: 'Not Found' });
      if (method !== 'GET') {
        if (repo.archived) return send(403, { message: 'Repository was archived so is read-only.' });
        if (!grant.write) return send(403, { message: 'Resource not accessible by integration' });
      }
      return this.route(repo, grant, method, m[3] ?? '', url, body, send);
    } catch (err) {
      send(500, { message: (err as Error).message });
    }
  }

  private installationToken(req: IncomingMessage, url: URL, send: (s: number, b?: unknown) => void): void {
    const jwt = (req.headers.authorization ?? '').replace(/^bearer /i, '');
    const [h, p, s] = jwt.split('.');
    const app = this.app;
    const valid =
      app &&
      h &&
      p &&
      s &&
      createVerify('RSA-SHA256').update(`${h}.${p}`).verify(app.publicKey, Buffer.from(s, 'base64url')) &&
      String((JSON.parse(Buffer.from(p, 'base64url').toString()) as { iss: unknown }).iss) === app.id &&
      url.pathname.split('/')[3] === app.installationId;
    if (!valid) return send(401, { message: 'A JSON web token could not be decoded' });
    const token = `ghs_${sha1(String(Math.random())).slice(0, 20)}`;
    this.tokens.set(token, { write: true, app: true });
    send(201, {
      token,
      expires_at: new Date(Date.now() + 3600_000).toISOString(),
      permissions: { contents: 'write', pull_requests: 'write' },
      repository_selection: 'all',
    });
  }

  private graphql(body: Record<string, unknown>, send: (s: number, b?: unknown) => void): void {
    const query = String(body.query ?? '');
    const variables = (body.variables ?? {}) as Record<string, unknown>;
    if (/^\s*query\b/.test(query)) return send(200, this.graphqlRepositoryQuery(query, variables));
    const id = variables.id as string | undefined;
    if (!/markPullRequestReadyForReview/.test(query) || !id)
      return send(200, { errors: [{ message: 'the double only knows markPullRequestReadyForReview and repository queries' }] });
    for (const repo of this.repos.values()) {
      const pr = repo.pulls.find((p) => p.node_id === id);
      if (pr) {
        pr.draft = false;
        return send(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } });
      }
    }
    send(200, { data: null, errors: [{ type: 'NOT_FOUND', message: `Could not resolve to a node with the global id of '${id}'` }] });
  }

  /**
   * `query { repository(owner:, name:) { alias: object(expression: "<rev>:<path>") { __typename ... on Blob { … } } … } }`,
   * answered from the repo's real state. Arguments may be `$variables` or string literals; only the fields
   * asked for come back. Like GitHub: a missing object is null, a binary blob has no text, and a blob over
   * `graphqlTextLimit` bytes comes cut short with `isTruncated: true`.
   */
  private graphqlRepositoryQuery(query: string, variables: Record<string, unknown>): unknown {
    const arg = (raw: string): string => {
      if (!raw.startsWith('$')) return JSON.parse(raw) as string;
      const value = variables[raw.slice(1)];
      if (typeof value !== 'string') throw new GraphQLError(`Variable ${raw} of type String! was provided invalid value`);
      return value;
    };
    const STRING = String.raw`(\$\w+|"(?:[^"\\]|\\.)*")`;
    try {
      const repoMatch = new RegExp(String.raw`repository\(\s*owner:\s*${STRING}\s*,\s*name:\s*${STRING}\s*\)\s*\{`).exec(query);
      if (!repoMatch) throw new GraphQLError('the double only answers repository(owner:, name:) queries');
      const fullName = `${arg(repoMatch[1])}/${arg(repoMatch[2])}`;
      const repo = this.repos.get(fullName);
      if (!repo)
        return {
          data: { repository: null },
          errors: [{ type: 'NOT_FOUND', path: ['repository'], message: `Could not resolve to a Repository with the name '${fullName}'.` }],
        };
      const answer: Record<string, unknown> = {};
      const field = new RegExp(String.raw`(\w+)\s*:\s*object\(\s*expression:\s*${STRING}\s*\)\s*\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}`, 'g');
      for (const m of query.slice(repoMatch.index + repoMatch[0].length).matchAll(field)) {
        answer[m[1]] = this.graphqlObject(repo, arg(m[2]), m[3]);
      }
      return { data: { repository: answer } };
    } catch (err) {
      if (err instanceof GraphQLError) return { errors: [{ message: err.message }] };
      throw err;
    }
  }

  /** One `object(expression:)`: `<branch or commit sha>:<path>` resolved through the repo's refs and trees. */
  private graphqlObject(repo: FakeRepo, expression: string, selection: string): Record<string, unknown> | null {
    const colon = expression.indexOf(':');
    if (colon < 0) throw new GraphQLError(`the double only resolves "<rev>:<path>" expressions, not "${expression}"`);
    const rev = expression.slice(0, colon);
    const path = expression.slice(colon + 1);
    const commit = repo.refs.get(`refs/heads/${rev}`) ?? repo.refs.get(rev) ?? (repo.commits.has(rev) ? rev : undefined);
    const tree = commit === undefined ? undefined : repo.trees.get(repo.commits.get(commit)!.tree)!;
    const sha = tree?.get(path);
    const isTree = !sha && !!tree && [...tree.keys()].some((p) => p.startsWith(`${path}/`));
    if (!sha && !isTree) return null;
    const fields: Record<string, unknown> = isTree ? { __typename: 'Tree' } : this.blobFields(repo, sha!);
    const asked = selection.replace(/\.\.\.\s*on\s+(\w+)\s*\{([^}]*)\}/g, (_all, type: string, inner: string) =>
      type === fields.__typename ? inner : '',
    );
    return Object.fromEntries(
      asked
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((name) => [name, fields[name]]),
    );
  }

  private blobFields(repo: FakeRepo, sha: string): Record<string, unknown> {
    const bytes = this.blobBytes(repo, sha)!;
    const binary = repo.binaryBlobs.has(sha);
    const truncated = bytes.length > this.graphqlTextLimit;
    return {
      __typename: 'Blob',
      oid: sha,
      byteSize: bytes.length,
      isBinary: binary,
      isTruncated: truncated,
      text: binary ? null : repo.blobs.get(sha)!.slice(0, this.graphqlTextLimit),
    };
  }

  private pullJson(repo: FakeRepo, pr: FakePull): unknown {
    const full = `${repo.owner}/${repo.name}`;
    return {
      number: pr.number,
      node_id: pr.node_id,
      title: pr.title,
      body: pr.body,
      draft: pr.draft,
      state: pr.state,
      merged_at: pr.merged ? new Date().toISOString() : null,
      html_url: `https://github.example/${full}/pull/${pr.number}`,
      head: { ref: pr.head, sha: repo.refs.get(`refs/heads/${pr.head}`) ?? '', label: `${repo.owner}:${pr.head}` },
      base: { ref: pr.base },
    };
  }

  private route(
    repo: FakeRepo,
    grant: TokenGrant,
    method: string,
    rest: string,
    url: URL,
    body: Record<string, unknown>,
    send: (s: number, b?: unknown) => void,
  ): void {
    const full = `${repo.owner}/${repo.name}`;
    const notFound = () => send(404, { message: 'Not Found' });
    let m: RegExpExecArray | null;
    if (method === 'GET' && rest === '') {
      return send(200, {
        name: repo.name,
        full_name: full,
        default_branch: repo.defaultBranch,
        archived: repo.archived,
        ...(grant.app ? {} : { permissions: { admin: false, push: grant.write, pull: true } }),
      });
    }
    if (method === 'GET' && (m = /^\/branches\/(.+)$/.exec(rest))) {
      const sha = repo.refs.get(`refs/heads/${decodeURIComponent(m[1])}`);
      if (!sha) return send(404, { message: 'Branch not found' });
      return send(200, {
        name: decodeURIComponent(m[1]),
        commit: { sha, commit: { tree: { sha: repo.commits.get(sha)!.tree } } },
        protected: false,
      });
    }
    if (method === 'GET' && (m = /^\/contents\/(.+)$/.exec(rest))) {
      const path = decodeURIComponent(m[1]);
      const ref = url.searchParams.get('ref') ?? repo.defaultBranch;
      const sha = repo.refs.get(`refs/heads/${ref}`) ?? (repo.commits.has(ref) ? ref : undefined);
      if (!sha) return send(404, { message: `No commit found for the ref ${ref}` });
      const blob = repo.trees.get(repo.commits.get(sha)!.tree)!.get(path);
      if (!blob) return notFound();
      const bytes = this.blobBytes(repo, blob)!;
      return send(200, {
        type: 'file',
        encoding: 'base64',
        path,
        name: path.split('/').pop(),
        sha: blob,
        size: bytes.length,
        content: bytes.toString('base64'),
      });
    }
    if (method === 'GET' && (m = /^\/git\/trees\/(.+)$/.exec(rest))) {
      // A tree sha, or (as GitHub also accepts) a branch name or commit sha.
      const key = decodeURIComponent(m[1]);
      const commit = repo.refs.get(`refs/heads/${key}`) ?? key;
      const treeSha = repo.trees.has(key) ? key : repo.commits.get(commit)?.tree;
      const tree = treeSha === undefined ? undefined : repo.trees.get(treeSha);
      if (!tree || treeSha === undefined) return notFound();
      const recursive = url.searchParams.has('recursive');
      const entries = new Map<string, { path: string; mode: string; type: 'blob' | 'tree'; sha: string; size?: number }>();
      for (const [path, blob] of tree) {
        const parts = path.split('/');
        for (let i = 1; i < parts.length && (recursive || i === 1); i++) {
          const dir = parts.slice(0, i).join('/');
          entries.set(dir, { path: dir, mode: '040000', type: 'tree', sha: sha1(`tree ${treeSha} ${dir}`) });
        }
        if (recursive || parts.length === 1)
          entries.set(path, { path, mode: '100644', type: 'blob', sha: blob, size: this.blobBytes(repo, blob)!.length });
      }
      const all = [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
      const truncated = all.length > this.treeEntryLimit;
      return send(200, { sha: treeSha, tree: truncated ? all.slice(0, this.treeEntryLimit) : all, truncated });
    }
    if (method === 'GET' && (m = /^\/git\/blobs\/([0-9a-f]+)$/.exec(rest))) {
      const bytes = this.blobBytes(repo, m[1]);
      if (!bytes) return notFound();
      // GitHub wraps the base64 at 60 characters.
      return send(200, { sha: m[1], size: bytes.length, encoding: 'base64', content: bytes.toString('base64').replace(/.{60}/g, '$&\n') });
    }
    if (method === 'GET' && (m = /^\/git\/ref\/(.+)$/.exec(rest))) {
      const ref = `refs/${decodeURIComponent(m[1])}`;
      const sha = repo.refs.get(ref);
      if (!sha) return notFound();
      return send(200, { ref, object: { sha, type: 'commit' } });
    }
    if (method === 'GET' && (m = /^\/git\/commits\/([0-9a-f]+)$/.exec(rest))) {
      const c = repo.commits.get(m[1]);
      if (!c) return notFound();
      return send(200, {
        sha: m[1],
        tree: { sha: c.tree },
        message: c.message,
        parents: c.parents.map((sha) => ({ sha })),
        author: { name: c.author },
      });
    }
    if (method === 'POST' && rest === '/git/trees') {
      if (!repo.refs.size) return send(409, { message: 'Git Repository is empty.' });
      const baseSha = body.base_tree as string | undefined;
      const base = baseSha ? repo.trees.get(baseSha) : new Map<string, string>();
      if (!base) return send(422, { message: 'Invalid tree info', errors: ['base_tree is not a valid tree'] });
      if (!Array.isArray(body.tree)) return send(422, { message: 'Invalid request.\n\n"tree" wasn\'t supplied.' });
      const tree = new Map(base);
      for (const e of body.tree as Array<{ path: string; content?: string; sha?: string | null }>) {
        if (e.sha === null) tree.delete(e.path);
        else if (typeof e.content === 'string') tree.set(e.path, this.blob(repo, e.content));
        else if (e.sha && repo.blobs.has(e.sha)) tree.set(e.path, e.sha);
        else return send(422, { message: 'tree.sha is not a valid blob' });
      }
      const sha = this.storeTree(repo, tree);
      return send(201, { sha, tree: [...tree].map(([path, s]) => ({ path, sha: s, type: 'blob', mode: '100644' })) });
    }
    if (method === 'POST' && rest === '/git/commits') {
      const tree = String(body.tree);
      const parents = (body.parents as string[] | undefined) ?? [];
      if (!repo.trees.has(tree) || parents.some((p) => !repo.commits.has(p))) return send(422, { message: 'Tree SHA does not exist' });
      const c: Commit = { tree, parents, message: String(body.message ?? ''), author: 'archshift[bot]' };
      const sha = sha1(JSON.stringify(c) + Math.random());
      repo.commits.set(sha, c);
      return send(201, { sha, tree: { sha: tree }, message: c.message, parents: parents.map((p) => ({ sha: p })) });
    }
    if (method === 'POST' && rest === '/git/refs') {
      const ref = String(body.ref);
      const sha = String(body.sha);
      if (!/^refs\/.+/.test(ref) || ref.split('/').length < 3)
        return send(422, { message: "Reference name must start with 'refs/' and have at least two slashes." });
      if (!repo.commits.has(sha)) return send(422, { message: 'Object does not exist' });
      if (repo.refs.has(ref)) return send(422, { message: 'Reference already exists' });
      repo.refs.set(ref, sha);
      return send(201, { ref, object: { sha, type: 'commit' } });
    }
    if ((method === 'PATCH' || method === 'DELETE') && (m = /^\/git\/refs\/(.+)$/.exec(rest))) {
      const ref = `refs/${decodeURIComponent(m[1])}`;
      if (!repo.refs.has(ref)) return send(422, { message: 'Reference does not exist' });
      if (method === 'DELETE') {
        repo.refs.delete(ref);
        return send(204);
      }
      const sha = String(body.sha);
      if (!repo.commits.has(sha)) return send(422, { message: 'Object does not exist' });
      if (!body.force && !this.isAncestor(repo, repo.refs.get(ref)!, sha)) return send(422, { message: 'Update is not a fast forward' });
      repo.refs.set(ref, sha);
      return send(200, { ref, object: { sha, type: 'commit' } });
    }
    if (method === 'GET' && rest === '/pulls') {
      const head = url.searchParams.get('head');
      const state = url.searchParams.get('state') ?? 'open';
      const list = repo.pulls
        .filter((p) => !head || `${repo.owner}:${p.head}` === head)
        .filter((p) => state === 'all' || p.state === state)
        .sort((a, b) => b.number - a.number);
      return send(
        200,
        list.map((p) => this.pullJson(repo, p)),
      );
    }
    if (method === 'POST' && rest === '/pulls') {
      const head = String(body.head).replace(new RegExp(`^${repo.owner}:`), '');
      const base = String(body.base);
      const headSha = repo.refs.get(`refs/heads/${head}`);
      if (!headSha || !repo.refs.has(`refs/heads/${base}`))
        return send(422, {
          message: 'Validation Failed',
          errors: [{ resource: 'PullRequest', field: headSha ? 'base' : 'head', code: 'invalid' }],
        });
      if (repo.pulls.some((p) => p.head === head && p.state === 'open'))
        return send(422, { message: `Validation Failed: A pull request already exists for ${repo.owner}:${head}.` });
      if (headSha === repo.refs.get(`refs/heads/${base}`))
        return send(422, { message: `Validation Failed: No commits between ${base} and ${head}` });
      const pr: FakePull = {
        number: this.nextPull++,
        node_id: `PR_${sha1(full + this.nextPull).slice(0, 12)}`,
        title: String(body.title),
        body: String(body.body ?? ''),
        head,
        base,
        draft: Boolean(body.draft),
        state: 'open',
        merged: false,
      };
      repo.pulls.push(pr);
      return send(201, this.pullJson(repo, pr));
    }
    if (method === 'GET' && (m = /^\/pulls\/(\d+)$/.exec(rest))) {
      const pr = repo.pulls.find((p) => p.number === Number(m![1]));
      return pr ? send(200, this.pullJson(repo, pr)) : notFound();
    }
    if (method === 'GET' && (m = /^\/pulls\/(\d+)\/files$/.exec(rest))) {
      const pr = repo.pulls.find((p) => p.number === Number(m![1]));
      if (!pr) return notFound();
      const treeOf = (branch: string) =>
        repo.trees.get(repo.commits.get(repo.refs.get(`refs/heads/${branch}`) ?? '')?.tree ?? '') ?? new Map<string, string>();
      const [base, head] = [treeOf(pr.base), treeOf(pr.head)];
      const changed = [...new Set([...base.keys(), ...head.keys()])].filter((p) => base.get(p) !== head.get(p)).sort();
      const perPage = Number(url.searchParams.get('per_page') ?? '30');
      const page = Number(url.searchParams.get('page') ?? '1');
      const files = changed.slice(0, 3000).map((p) => ({
        filename: p,
        status: !base.has(p) ? 'added' : !head.has(p) ? 'removed' : 'modified',
        sha: head.get(p) ?? base.get(p),
      }));
      return send(200, files.slice((page - 1) * Math.min(perPage, 100), page * Math.min(perPage, 100)));
    }
    if (method === 'GET' && (m = /^\/compare\/(.+)\.\.\.(.+)$/.exec(rest))) {
      const resolve = (r: string) => repo.refs.get(`refs/heads/${decodeURIComponent(r)}`) ?? (repo.commits.has(r) ? r : undefined);
      const [base, head] = [resolve(m[1]!), resolve(m[2]!)];
      if (!base || !head) return notFound();
      const ancestors = (sha: string) => {
        const seen = new Set<string>();
        const walk = [sha];
        while (walk.length) {
          const s = walk.pop()!;
          if (!seen.has(s)) walk.push(...(seen.add(s), repo.commits.get(s)?.parents ?? []));
        }
        return seen;
      };
      const ofBase = ancestors(base);
      // Nearest common ancestor: walk the head's history breadth-first.
      const queue = [head];
      const visited = new Set<string>();
      let mergeBase: string | undefined;
      while (queue.length && !mergeBase) {
        const s = queue.shift()!;
        if (visited.has(s)) continue;
        visited.add(s);
        if (ofBase.has(s)) mergeBase = s;
        else queue.push(...(repo.commits.get(s)?.parents ?? []));
      }
      if (!mergeBase) return send(404, { message: `No common ancestor between ${m[1]} and ${m[2]}.` });
      const status = mergeBase === head ? (base === head ? 'identical' : 'behind') : mergeBase === base ? 'ahead' : 'diverged';
      return send(200, { status, merge_base_commit: { sha: mergeBase }, base_commit: { sha: base }, commits: [], files: [] });
    }
    if (rest.startsWith('/check-runs') || /^\/commits\/[^/]+\/check-runs$/.test(rest))
      return this.checks(repo, grant, method, rest, body, send);
    if (method === 'PATCH' && (m = /^\/pulls\/(\d+)$/.exec(rest))) {
      const pr = repo.pulls.find((p) => p.number === Number(m![1]));
      if (!pr) return notFound();
      if (typeof body.title === 'string') pr.title = body.title;
      if (typeof body.body === 'string') pr.body = body.body;
      return send(200, this.pullJson(repo, pr));
    }
    notFound();
  }

  /**
   * The Checks API as GitHub serves it: only an App installation may write; the head commit must exist;
   * a completed run needs a conclusion; each update appends its annotations (at most 50 per request,
   * which the OpenAPI description already enforces); GitHub's prose limits on annotations (title 255
   * characters, message 64 KB, lines from 1) are refused too.
   */
  private checks(
    repo: FakeRepo,
    grant: TokenGrant,
    method: string,
    rest: string,
    body: Record<string, unknown>,
    send: (s: number, b?: unknown) => void,
  ): void {
    const json = (run: FakeCheckRun) => ({
      id: run.id,
      name: run.name,
      head_sha: run.head_sha,
      status: run.status,
      conclusion: run.conclusion,
      external_id: run.external_id ?? '',
      details_url: run.details_url ?? null,
      output: { ...run.output, annotations_count: run.annotations.length },
      pull_requests: [],
    });
    const listed = /^\/commits\/([^/]+)\/check-runs$/.exec(rest);
    if (method === 'GET' && listed) {
      const runs = repo.checkRuns.filter((r) => r.head_sha === decodeURIComponent(listed[1]!));
      return send(200, { total_count: runs.length, check_runs: runs.map(json) });
    }
    if (method !== 'GET' && !grant.app)
      return send(403, {
        message: 'You must authenticate via a GitHub App.',
        documentation_url: 'https://docs.github.com/rest/checks/runs#create-a-check-run',
      });
    const invalid = (errors: string[]) =>
      send(422, { message: 'Validation Failed', errors, documentation_url: 'https://docs.github.com/rest/checks/runs' });
    const apply = (run: FakeCheckRun): string[] => {
      const errors: string[] = [];
      const output = body.output as { title?: string; summary?: string; text?: string; annotations?: FakeAnnotation[] } | undefined;
      for (const a of output?.annotations ?? []) {
        if (a.start_line < 1 || a.end_line < a.start_line) errors.push(`annotation lines ${a.start_line}-${a.end_line} are invalid`);
        if ((a.title ?? '').length > 255) errors.push('annotation title is longer than 255 characters');
        if (Buffer.byteLength(a.message) > 64 * 1024) errors.push('annotation message is larger than 64 KB');
      }
      const status = (body.conclusion ? 'completed' : (body.status as string | undefined)) ?? run.status;
      if (status === 'completed' && !body.conclusion && !run.conclusion) errors.push('conclusion is required when status is completed');
      if (errors.length) return errors;
      run.status = status;
      if (body.conclusion) run.conclusion = String(body.conclusion);
      if (output)
        run.output = {
          title: output.title ?? run.output.title,
          summary: output.summary ?? run.output.summary,
          text: output.text ?? run.output.text,
        };
      run.annotations.push(...(output?.annotations ?? []));
      run.history.push(body);
      return [];
    };
    if (method === 'POST' && rest === '/check-runs') {
      if (!repo.commits.has(String(body.head_sha)))
        return send(422, {
          message: `No commit found for SHA: ${String(body.head_sha)}`,
          documentation_url: 'https://docs.github.com/rest/checks/runs#create-a-check-run',
        });
      const run: FakeCheckRun = {
        id: this.nextCheckRun++,
        name: String(body.name),
        head_sha: String(body.head_sha),
        status: 'queued',
        conclusion: null,
        ...(body.external_id ? { external_id: String(body.external_id) } : {}),
        ...(body.details_url ? { details_url: String(body.details_url) } : {}),
        output: { title: null, summary: null, text: null },
        annotations: [],
        history: [],
      };
      const errors = apply(run);
      if (errors.length) return invalid(errors);
      repo.checkRuns.push(run);
      return send(201, json(run));
    }
    const one = /^\/check-runs\/(\d+)$/.exec(rest);
    const run = one ? repo.checkRuns.find((r) => r.id === Number(one[1])) : undefined;
    if (!run) return send(404, { message: 'Not Found' });
    if (method === 'GET') return send(200, json(run));
    if (method !== 'PATCH') return send(404, { message: 'Not Found' });
    const errors = apply(run);
    return errors.length ? invalid(errors) : send(200, json(run));
  }

  private isAncestor(repo: FakeRepo, ancestor: string, sha: string): boolean {
    const seen = new Set<string>();
    const walk = [sha];
    while (walk.length) {
      const s = walk.pop()!;
      if (s === ancestor) return true;
      if (seen.has(s)) continue;
      seen.add(s);
      walk.push(...(repo.commits.get(s)?.parents ?? []));
    }
    return false;
  }
}
