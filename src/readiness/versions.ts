// Version comparison and version-spec reading per ecosystem. Each ecosystem orders versions its own way
// (Maven qualifiers, PEP 440 pre/post/dev, semver pre-releases, Go pseudo-versions), and reading one with
// another's rules is exactly how other scanners end up never firing on `4.1.45.Final`.
import semver from 'semver';

export type VersionScheme = 'maven' | 'pep440' | 'semver' | 'go' | 'tag';

// ---------------------------------------------------------------- Maven (ComparableVersion, simplified)

type MavenItem = number | string;
const mavenQualifierRank: Record<string, number> = { alpha: 0, beta: 1, milestone: 2, rc: 3, snapshot: 4, '': 5, sp: 6 };
const mavenAliases: Record<string, string> = { a: 'alpha', b: 'beta', m: 'milestone', cr: 'rc', ga: '', final: '', release: '' };

function mavenItems(version: string): MavenItem[] {
  const tokens = version.toLowerCase().match(/\d+|[a-z]+/g) ?? [];
  const items: MavenItem[] = tokens.map((t) => (/^\d/.test(t) ? Number(t) : (mavenAliases[t] ?? t)));
  // `1.0.0.Final` and `1` are the same release: trailing zeros and release qualifiers carry no weight.
  while (items.length > 0 && (items[items.length - 1] === 0 || items[items.length - 1] === '')) items.pop();
  return items;
}

function compareMavenItem(a: MavenItem | undefined, b: MavenItem | undefined): number {
  if (a === undefined && b === undefined) return 0;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // A missing item is a plain release: 0 against a number, '' against a qualifier.
  if (a === undefined) return typeof b === 'number' ? -Math.sign(b) : -compareMavenItem(b, undefined);
  if (b === undefined) {
    if (typeof a === 'number') return Math.sign(a);
    return compareQualifier(a, '');
  }
  if (typeof a === 'number') return 1; // 1.0.1 > 1.0-rc1
  if (typeof b === 'number') return -1;
  return compareQualifier(a, b);
}

function compareQualifier(a: string, b: string): number {
  const ra = mavenQualifierRank[a] ?? 7;
  const rb = mavenQualifierRank[b] ?? 7;
  if (ra !== rb) return ra - rb;
  return ra === 7 ? a.localeCompare(b) : 0;
}

function compareMaven(a: string, b: string): number {
  const ia = mavenItems(a);
  const ib = mavenItems(b);
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const c = compareMavenItem(ia[i], ib[i]);
    if (c !== 0) return Math.sign(c);
  }
  return 0;
}

// ---------------------------------------------------------------- PEP 440

interface Pep440 {
  epoch: number;
  release: number[];
  pre?: [number, number];
  post?: number;
  dev?: number;
}

const pep440Pattern =
  /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:(?:-(\d+))|(?:[-_.]?(post|rev|r)[-_.]?(\d*)))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$/i;
const preRank: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

export function parsePep440(version: string): Pep440 | undefined {
  const m = pep440Pattern.exec(version.trim());
  if (!m) return undefined;
  const [, epoch, release, preL, preN, postImplicit, postL, postN, devL, devN] = m;
  return {
    epoch: epoch ? Number(epoch) : 0,
    release: release!.split('.').map(Number),
    pre: preL ? [preRank[preL.toLowerCase()]!, Number(preN || 0)] : undefined,
    post: postImplicit !== undefined ? Number(postImplicit) : postL ? Number(postN || 0) : undefined,
    dev: devL ? Number(devN || 0) : undefined,
  };
}

function comparePep440(a: string, b: string): number {
  const pa = parsePep440(a);
  const pb = parsePep440(b);
  if (!pa || !pb) return compareTag(a, b);
  if (pa.epoch !== pb.epoch) return Math.sign(pa.epoch - pb.epoch);
  const c = compareNumberLists(pa.release, pb.release);
  if (c !== 0) return c;
  // The sort key of `packaging`: a dev-only release sorts before any pre-release of the same version.
  const preKey = (p: Pep440): number[] => (p.pre ? p.pre : p.post === undefined && p.dev !== undefined ? [-Infinity] : [Infinity]);
  const postKey = (p: Pep440): number => (p.post === undefined ? -Infinity : p.post);
  const devKey = (p: Pep440): number => (p.dev === undefined ? Infinity : p.dev);
  return compareNumberLists(preKey(pa), preKey(pb)) || Math.sign(postKey(pa) - postKey(pb)) || Math.sign(devKey(pa) - devKey(pb)) || 0;
}

// ---------------------------------------------------------------- semver and Go

function cleanSemver(version: string): string | undefined {
  // Go writes `v1.2.3`, `v2.0.0+incompatible` and pseudo-versions `v0.0.0-20191109021931-daa7c04131f5`;
  // all three are valid semver once the `v` is gone (build metadata is ignored by comparison).
  const v = version.trim().replace(/^v/, '');
  if (semver.valid(v)) return v;
  return semver.coerce(v)?.version;
}

function compareSemver(a: string, b: string): number {
  const ca = cleanSemver(a);
  const cb = cleanSemver(b);
  if (!ca || !cb) return compareTag(a, b);
  return semver.compare(ca, cb);
}

// ---------------------------------------------------------------- image tags and fallbacks

function compareNumberLists(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The leading dotted number of an image tag or loose version: `1.13.4-distroless` → [1, 13, 4]. */
export function tagNumbers(tag: string): number[] | undefined {
  const m = /^v?(\d+(?:\.\d+)*)/.exec(tag.trim());
  return m ? m[1]!.split('.').map(Number) : undefined;
}

function compareTag(a: string, b: string): number {
  const na = tagNumbers(a);
  const nb = tagNumbers(b);
  if (!na || !nb) return a.localeCompare(b);
  return compareNumberLists(na, nb);
}

export function compareVersions(scheme: VersionScheme, a: string, b: string): number {
  switch (scheme) {
    case 'maven':
      return compareMaven(a, b);
    case 'pep440':
      return comparePep440(a, b);
    case 'semver':
    case 'go':
      return compareSemver(a, b);
    case 'tag':
      return compareTag(a, b);
  }
}

// ---------------------------------------------------------------- version specs

/**
 * What a manifest's version text allows. `exact` is a pin; otherwise the bounds (either may be absent).
 * `none` means no version was written (any version may be installed).
 */
export type VersionSpec =
  | { kind: 'exact'; version: string }
  | { kind: 'range'; lower?: Bound; upper?: Bound }
  | { kind: 'none' }
  | { kind: 'unreadable'; text: string };

export interface Bound {
  version: string;
  inclusive: boolean;
}

function tightenUpper(current: Bound | undefined, next: Bound, scheme: VersionScheme): Bound {
  if (!current) return next;
  const c = compareVersions(scheme, next.version, current.version);
  return c < 0 || (c === 0 && !next.inclusive) ? next : current;
}

function tightenLower(current: Bound | undefined, next: Bound, scheme: VersionScheme): Bound {
  if (!current) return next;
  const c = compareVersions(scheme, next.version, current.version);
  return c > 0 || (c === 0 && !next.inclusive) ? next : current;
}

/** `1.4.2` with `~=` → `< 1.5`; `1.4` → `< 2`. */
function compatibleUpper(version: string): string {
  const parts = (parsePep440(version)?.release ?? tagNumbers(version) ?? [0]).slice();
  if (parts.length > 1) parts.pop();
  parts[parts.length - 1] = (parts[parts.length - 1] ?? 0) + 1;
  return parts.join('.');
}

/** PEP 440 specifier set: `==1.2.3`, `>=1.0,<2`, `~=1.4.2`, `==1.2.*`, `===x`. */
export function parsePep440Spec(text: string): VersionSpec {
  const t = text.trim();
  if (t === '') return { kind: 'none' };
  let lower: Bound | undefined;
  let upper: Bound | undefined;
  for (const clause of t.split(',')) {
    const m = /^\s*(===|==|~=|!=|<=|>=|<|>)\s*([^\s]+)\s*$/.exec(clause);
    if (!m) return { kind: 'unreadable', text: t };
    const [, op, v] = m as unknown as [string, string, string];
    if (op === '!=') continue;
    if ((op === '==' || op === '===') && !v.includes('*')) {
      if (t.split(',').filter((c) => !c.trim().startsWith('!=')).length === 1) return { kind: 'exact', version: v };
      lower = tightenLower(lower, { version: v, inclusive: true }, 'pep440');
      upper = tightenUpper(upper, { version: v, inclusive: true }, 'pep440');
    } else if (op === '==') {
      const prefix = v.replace(/\.\*$/, '');
      lower = tightenLower(lower, { version: prefix, inclusive: true }, 'pep440');
      upper = tightenUpper(upper, { version: nextPrefix(prefix), inclusive: false }, 'pep440');
    } else if (op === '~=') {
      lower = tightenLower(lower, { version: v, inclusive: true }, 'pep440');
      upper = tightenUpper(upper, { version: compatibleUpper(v), inclusive: false }, 'pep440');
    } else if (op === '>=' || op === '>') {
      lower = tightenLower(lower, { version: v, inclusive: op === '>=' }, 'pep440');
    } else {
      upper = tightenUpper(upper, { version: v, inclusive: op === '<=' }, 'pep440');
    }
  }
  return { kind: 'range', lower, upper };
}

function nextPrefix(prefix: string): string {
  const parts = prefix.split('.').map(Number);
  parts[parts.length - 1] = (parts[parts.length - 1] ?? 0) + 1;
  return parts.join('.');
}

/** Poetry constraints: `^1.2`, `~1.2`, `1.2.3` (exact), `>=1,<2`, `*`, and PEP 440 forms. */
export function parsePoetrySpec(text: string): VersionSpec {
  const t = text.trim();
  if (t === '' || t === '*') return { kind: 'none' };
  if (/^\d[\w.+!-]*$/.test(t)) return { kind: 'exact', version: t };
  const op = /^(\^|~(?!=))\s*(\d+(?:\.\d+)*)$/.exec(t);
  if (op) {
    const parts = op[2]!.split('.').map(Number);
    // ^ bumps the first non-zero component (^0.2.3 → <0.3.0); ~ bumps the minor, or the major if only one is given.
    const bumpAt =
      op[1] === '^'
        ? Math.max(
            0,
            parts.findIndex((n, i) => n !== 0 || i === parts.length - 1),
          )
        : Math.min(1, parts.length - 1);
    const upper = parts.slice(0, bumpAt + 1);
    upper[bumpAt] = upper[bumpAt]! + 1;
    return { kind: 'range', lower: { version: op[2]!, inclusive: true }, upper: { version: upper.join('.'), inclusive: false } };
  }
  return parsePep440Spec(t.replace(/,\s*/g, ','));
}

/** Maven: `1.2.3` (soft requirement, what gets used), `[1.2.3]`, `[1.0,2.0)`, `(,1.5]`, `${prop}` unresolved. */
export function parseMavenSpec(text: string): VersionSpec {
  const t = text.trim();
  if (t === '') return { kind: 'none' };
  if (t.includes('${')) return { kind: 'unreadable', text: t };
  const range = /^([[(])\s*([^,\s]*)\s*(?:,\s*([^\])\s]*)\s*)?([\])])$/.exec(t);
  if (!range) return { kind: 'exact', version: t };
  const [, open, lo, hi, close] = range as unknown as [string, string, string, string | undefined, string];
  if (hi === undefined) return { kind: 'exact', version: lo };
  return {
    kind: 'range',
    lower: lo ? { version: lo, inclusive: open === '[' } : undefined,
    upper: hi ? { version: hi, inclusive: close === ']' } : undefined,
  };
}

/** npm ranges: the lowest version the range allows stands for it (package.json without a lockfile). */
export function parseNpmSpec(text: string): VersionSpec {
  const t = text.trim();
  if (t === '' || t === '*' || t === 'latest' || t === 'x') return { kind: 'none' };
  if (/^(git|github:|https?:|file:|link:|workspace:|npm:)/.test(t) || t.includes('/')) {
    const alias = /^npm:(?:@?[^@]+)@(.+)$/.exec(t);
    return alias ? parseNpmSpec(alias[1]!) : { kind: 'unreadable', text: t };
  }
  const exact = semver.valid(t.replace(/^[=v]+/, ''));
  if (exact) return { kind: 'exact', version: exact };
  const valid = semver.validRange(t);
  if (!valid) return { kind: 'unreadable', text: t };
  const lowest = semver.minVersion(valid);
  return lowest ? { kind: 'exact', version: lowest.version } : { kind: 'unreadable', text: t };
}

/**
 * Is some version the spec allows outside [from, below)? Package managers that resolve ranges to the
 * newest match (pip, Maven, Poetry) only break when every allowed version is affected.
 */
export function specEscapesRange(scheme: VersionScheme, spec: VersionSpec, range: { from?: string; below?: string }): boolean {
  if (spec.kind === 'exact') return !versionInRange(scheme, spec.version, range);
  if (spec.kind !== 'range') return range.below !== undefined || range.from !== undefined;
  // Newer than the affected range is allowed?
  if (range.below !== undefined) {
    if (!spec.upper) return true;
    const c = compareVersions(scheme, spec.upper.version, range.below);
    if (c > 0 || (c === 0 && spec.upper.inclusive)) return true;
  }
  // Older than the affected range is allowed (and that older version is fine)?
  if (range.from !== undefined) {
    if (!spec.lower) return true;
    if (compareVersions(scheme, spec.lower.version, range.from) < 0) return true;
  }
  return false;
}

export function versionInRange(scheme: VersionScheme, version: string, range: { from?: string; below?: string }): boolean {
  if (range.from !== undefined && compareVersions(scheme, version, range.from) < 0) return false;
  if (range.below !== undefined && compareVersions(scheme, version, range.below) >= 0) return false;
  return true;
}
