// Where the check reads a service's files from: a local checkout or a GitHub repository. Analysers only
// see text; a source tells "missing" (undefined) apart from "could not read" (throws SourceError), so a
// missing file and an unreachable GitHub become different findings.
import { realpath } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { LocalFileRefused, readRegularFile } from './local-file.ts';

export interface FileSource {
  /** e.g. `./svc` or `acme/api@main`, for messages. */
  readonly label: string;
  /** The file's text, or undefined when it does not exist. Throws SourceError when it cannot be read. */
  read(path: string): Promise<string | undefined>;
  /** A directory on this machine holding the files, when there is one (native scanners need a checkout). */
  readonly root?: string;
}

export class SourceError extends Error {}

/** Files larger than this are not text the check cares about (and may be an attack on memory). */
export const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** Refuses absolute paths and `..` so a catalog entry cannot read outside the repository. */
export function safeRelative(path: string): string {
  const norm = path.replace(/\\/g, '/').replace(/^\.\//, '');
  if (norm === '' || isAbsolute(norm) || norm.split('/').includes('..')) {
    throw new SourceError(`path "${path}" must be relative to the repository and must not contain ".."`);
  }
  return norm;
}

export function localSource(dir: string): FileSource {
  const root = resolve(dir);
  return {
    label: dir,
    root,
    async read(path) {
      const rel = safeRelative(path);
      const full = join(root, rel);
      try {
        // A symlink may point outside the checkout; follow it only if it stays inside.
        const real = await realpath(full);
        const realRoot = await realpath(root);
        if (real !== realRoot && !real.startsWith(realRoot + sep)) throw new SourceError(`${rel} points outside ${dir}`);
        return (await readRegularFile(real, MAX_FILE_BYTES)).toString('utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        if (err instanceof SourceError) throw err;
        if (err instanceof LocalFileRefused) throw new SourceError(`${rel} in ${dir} is ${err.message}`);
        throw new SourceError(`cannot read ${rel} in ${dir}: ${(err as Error).message}`);
      }
    },
  };
}

/** The two reads the GitHub adapter offers that a source needs (GitHubClient satisfies it). */
export interface GitHubFiles {
  readFile(repo: string, path: string, ref: string): Promise<string | undefined>;
  repoInfo(repo: string): Promise<{ defaultBranch: string }>;
}

/** Files of `repo` at `ref` (default: its default branch) through the GitHub adapter; absent client → every read fails with why. */
export function githubSource(github: GitHubFiles | undefined, repo: string, ref?: string): FileSource {
  const label = `${repo}${ref ? `@${ref}` : ''}`;
  let branch: Promise<string> | undefined;
  return {
    label,
    async read(path) {
      const rel = safeRelative(path);
      if (!github)
        throw new SourceError(
          `no GitHub credentials are configured (set GITHUB_TOKEN or the GitHub App variables), so ${repo} cannot be read`,
        );
      try {
        branch ??= ref ? Promise.resolve(ref) : github.repoInfo(repo).then((r) => r.defaultBranch);
        const text = await github.readFile(repo, rel, await branch);
        if (text !== undefined && Buffer.byteLength(text) > MAX_FILE_BYTES)
          throw new SourceError(`${rel} is larger than ${MAX_FILE_BYTES} bytes`);
        return text;
      } catch (err) {
        if (err instanceof SourceError) throw err;
        branch = undefined; // a failed default-branch lookup is retried by the next read
        throw new SourceError(`cannot read ${rel} from ${label}: ${(err as Error).message}`);
      }
    },
  };
}
