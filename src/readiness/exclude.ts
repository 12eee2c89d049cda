// What a local checkout's check leaves out: `readiness.exclude` globs from the config and the lines of
// a `.archshiftignore` at the checkout's root, both in .gitignore syntax (the `ignore` package implements
// it): test fixtures, examples and docs that hold Dockerfiles, manifests or lock files that are not the service's.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore from 'ignore';

export const IGNORE_FILE = '.archshiftignore';

/** `rel` is `/`-separated and relative to the checkout; directories are asked with `isDir`. */
export type Excluded = (rel: string, isDir?: boolean) => boolean;

export interface Exclusions {
  excluded: Excluded;
  /** Every pattern in force, for the report's note. */
  patterns: string[];
}

export async function exclusionsOf(root: string, globs: readonly string[] = []): Promise<Exclusions> {
  const fromFile = await readFile(join(root, IGNORE_FILE), 'utf8').then(
    (text) =>
      text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    () => [] as string[],
  );
  const patterns = [...globs, ...fromFile];
  const ig = ignore().add(patterns);
  return { patterns, excluded: (rel, isDir) => patterns.length > 0 && rel !== '' && ig.ignores(isDir ? `${rel}/` : rel) };
}
