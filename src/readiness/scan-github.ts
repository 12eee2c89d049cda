// The native-dependency scan of a GitHub repository, without a clone: one recursive tree listing, the
// same selection and analysers as the checkout walk (isScanCandidate, NativeScan in scan.ts), and the
// selected blobs fetched a few at a time within a file and byte budget. Dependency manifests are fetched
// first, so a budget cut drops sources before lockfiles. Whatever the budget or a truncated listing leaves
// out is named in a `native.scan-partial` finding: a partial scan is never shown as a complete one.
import type { Finding } from './report.ts';
import { builtinKnowledge, type KnowledgeBase } from './knowledge/load.ts';
import type { TransitiveOptions } from './transitive.ts';
import type { Mirrors } from '../images/nearest-tag.ts';
import { unreadable } from './analysers/native-deps.ts';
import {
  elfMachineOf,
  isScanCandidate,
  kindsOf,
  mapLimit,
  MAX_SCANNED_FILE_BYTES,
  NativeScan,
  textOf,
  tooLarge,
  zipEntryNamesOf,
  type ScanKind,
} from './scan.ts';

/** The reads the scan needs from the GitHub adapter (GitHubClient satisfies it). */
export interface RepoFiles {
  repoInfo(repo: string): Promise<{ defaultBranch: string }>;
  listFiles(repo: string, branch: string): Promise<{ files: { path: string; sha: string; size: number }[]; truncated: boolean }>;
  readBlob(repo: string, sha: string): Promise<Buffer>;
}

export interface RepoScanOptions {
  knowledge?: KnowledgeBase;
  /** `registry.mirrors`: system components in manifests are recognised through them. */
  mirrors?: Mirrors;
  /** Most files fetched (default 400). */
  maxFiles?: number;
  /** Most bytes fetched in all (default 32 MiB). */
  maxTotalBytes?: number;
  /** Larger text files are reported as unreadable (default as the checkout scan: 16 MiB). */
  maxFileBytes?: number;
  /** Jars and shared objects are fetched whole, so only up to this size (default 2 MiB). */
  maxBinaryBytes?: number;
  /** Blobs fetched at once (default 8). */
  concurrency?: number;
  /** Resolve the JVM dependency tree through a Maven repository (maven.transitive). */
  maven?: TransitiveOptions;
}

/** Fetch order: what decides most first (dependency declarations), then build files, sources, binaries. */
function rank(kinds: ScanKind[]): number {
  if (kinds.some((k) => k === 'jvm' || k === 'python' || k === 'node' || k === 'go-mod')) return 0;
  if (kinds.some((k) => k === 'go-build' || k === 'native-build' || k === 'yaml')) return 1;
  if (kinds.some((k) => k === 'jar' || k === 'elf')) return 3;
  return 2;
}

const mib = (bytes: number) => `${Math.round((bytes / 1048576) * 10) / 10} MiB`;

/** Scans `repo` at `branch` (default: its default branch). Throws when the listing itself cannot be had. */
export async function scanRepository(
  github: RepoFiles | undefined,
  repo: string,
  branch?: string,
  options: RepoScanOptions = {},
): Promise<Finding[]> {
  if (!github)
    throw new Error(`no GitHub credentials are configured (set GITHUB_TOKEN or the GitHub App variables), so ${repo} cannot be scanned`);
  const maxFiles = options.maxFiles ?? 400;
  const maxTotalBytes = options.maxTotalBytes ?? 32 * 1024 * 1024;
  const maxFileBytes = options.maxFileBytes ?? MAX_SCANNED_FILE_BYTES;
  const maxBinaryBytes = options.maxBinaryBytes ?? 2 * 1024 * 1024;
  const ref = branch ?? (await github.repoInfo(repo)).defaultBranch;
  const tree = await github.listFiles(repo, ref);
  const byPath = new Map(tree.files.map((f) => [f.path, f]));

  const candidates = tree.files
    .filter((f) => isScanCandidate(f.path))
    .map((f) => ({ ...f, kinds: kindsOf(f.path) }))
    .sort((a, b) => rank(a.kinds) - rank(b.kinds) || a.path.localeCompare(b.path));
  const scan = new NativeScan(options.knowledge ?? builtinKnowledge(), options.mirrors);
  scan.notePaths(candidates.map((f) => f.path));
  const binary = (kinds: ScanKind[]) => kinds.includes('jar') || kinds.includes('elf');

  const selected: typeof candidates = [];
  const overCount: string[] = [];
  const overBytes: string[] = [];
  const bigBinaries: string[] = [];
  let bytes = 0;
  for (const f of candidates) {
    if (f.kinds.every((k) => k === 'unanalysed')) continue; // named as not analysed by the scan, never fetched
    if (binary(f.kinds) && f.size > maxBinaryBytes) bigBinaries.push(f.path);
    else if (!binary(f.kinds) && f.size > maxFileBytes) scan.report(tooLarge(f.path, f.size, maxFileBytes));
    else if (selected.length >= maxFiles) overCount.push(f.path);
    else if (bytes + f.size > maxTotalBytes) overBytes.push(f.path);
    else {
      selected.push(f);
      bytes += f.size;
    }
  }

  if ([...overCount, ...overBytes].some((p) => kindsOf(p).includes('jvm-source'))) scan.jvmSourcesIncomplete();
  await mapLimit(selected, options.concurrency ?? 8, async (f) => {
    try {
      const buf = await github.readBlob(repo, f.sha);
      if (f.kinds.includes('jar')) return scan.addJar(f.path, await zipEntryNamesOf(buf));
      if (f.kinds.includes('elf')) return scan.addBinary(f.path, elfMachineOf(buf.subarray(0, 20)));
      const { text, problem } = textOf(f.path, buf);
      if (problem) scan.report(problem);
      if (text !== undefined) scan.addText(f.path, text);
    } catch (err) {
      scan.report(unreadable(f.path, (err as Error).message));
    }
  });

  const findings = await scan.finish(async (rel, includedBy) => {
    const f = byPath.get(rel);
    if (!f)
      return {
        problem: unreadable(
          rel,
          `included by ${includedBy} but missing (not in ${repo}@${ref}${tree.truncated ? ' as far as the truncated listing shows' : ''})`,
        ),
      };
    if (f.size > maxFileBytes) return { problem: tooLarge(rel, f.size, maxFileBytes) };
    try {
      return textOf(rel, await github.readBlob(repo, f.sha));
    } catch (err) {
      return { problem: unreadable(rel, (err as Error).message) };
    }
  }, options.maven);

  const gaps = [
    ...(tree.truncated ? [`GitHub truncated the file listing of ${repo}@${ref} (too many files), so files beyond it were not seen`] : []),
    ...(overCount.length ? [`${overCount.length} candidate file(s) beyond the ${maxFiles}-file limit were not read`] : []),
    ...(overBytes.length ? [`${overBytes.length} candidate file(s) beyond the ${mib(maxTotalBytes)} budget were not read`] : []),
    ...(bigBinaries.length
      ? [`${bigBinaries.length} prebuilt binar${bigBinaries.length === 1 ? 'y' : 'ies'} over ${mib(maxBinaryBytes)} were not fetched`]
      : []),
  ];
  if (!gaps.length) return findings;
  // Dependency files left unread (or possibly unseen, past a truncated listing) leave the verdict open.
  const unreadDeps = [...overCount, ...overBytes].filter((p) => rank(kindsOf(p)) === 0);
  const skipped = [...unreadDeps, ...[...overCount, ...overBytes, ...bigBinaries].filter((p) => !unreadDeps.includes(p))];
  const partial: Finding = {
    id: 'native.scan-partial',
    severity: unreadDeps.length || tree.truncated ? 'unknown' : 'warning',
    ecosystem: 'native',
    title: `The native-dependency scan of ${repo}@${ref} through GitHub is partial: ${gaps.join('; ')}${unreadDeps.length ? ` (${unreadDeps.length} of them dependency files)` : ''}`,
    evidence: skipped.length
      ? { excerpt: `not read: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ` and ${skipped.length - 5} more` : ''}` }
      : {},
    fix: `Run \`archshift check <path>\` in a checkout of ${repo} for a complete scan.`,
  };
  return [partial, ...findings];
}
