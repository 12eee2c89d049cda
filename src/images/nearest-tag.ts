// Finding an arm64 alternative for an image that lacks linux/arm64: the closest newer tag of the same
// repository with the same flavour (verified by inspecting it), or the image's known successor from
// src/readiness/knowledge/replaced-images.yml. A tag in a new major version (openjdk 8 -> 11, python 3.8 -> 3.11) is a
// migration, never a silent bump: it is reported as such. Names are seen through registry mirrors and
// pull-through caches (`registry.mirrors`). Ranking and the table are pure; the search takes its lookups
// as arguments.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DOCKER_HUB, familiarImageRef, formatImageRef, parseImageRef, withTag, type ImageRef } from './ref.ts';
import type { Arm64Suggestion, ImageResult } from './types.ts';
import { builtinDir } from '../readiness/knowledge/load.ts';

interface TagVersion {
  prefix: string;
  numbers: number[];
  /** Everything after the version: `-alpine3.19`, `-jdk17`, `-slim-bookworm`. */
  suffix: string;
  /** The suffix with an Alpine release normalised away, so `-alpine3.18` may move to `-alpine3.19`. */
  flavour: string;
}

export function parseTagVersion(tag: string): TagVersion | undefined {
  const match = /^(v?)(\d+(?:\.\d+)*)([-_+].*)?$/.exec(tag);
  if (!match) return undefined;
  const suffix = match[3] ?? '';
  return {
    prefix: match[1]!,
    numbers: match[2]!.split('.').map(Number),
    suffix,
    flavour: suffix.replace(/alpine\d+(?:\.\d+)*/g, 'alpine'),
  };
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Upstream registry -> the prefixes (host[/path]) that mirror it. */
export type Mirrors = Record<string, string[]>;

export interface SeenThrough {
  /** The reference as the upstream registry names it (`docker.io/library/openjdk:8`). */
  upstream: ImageRef;
  /** Writes an upstream name back behind the same mirror prefix, in the input's style. */
  write(target: { registry: string; repository: string; tag?: string }): string | undefined;
}

/** What `ref` stands for upstream when it is pulled through a configured mirror; itself otherwise. */
export function seeThroughMirrors(ref: ImageRef, mirrors: Mirrors = {}): SeenThrough {
  const name = `${ref.registry}/${ref.repository}`;
  for (const [upstreamRegistry, prefixes] of Object.entries(mirrors)) {
    for (const raw of prefixes) {
      const prefix = raw.toLowerCase().replace(/\/+$/, '');
      if (!name.startsWith(`${prefix}/`)) continue;
      const rest = name.slice(prefix.length + 1);
      let upstream: ImageRef;
      try {
        upstream = parseImageRef(`${upstreamRegistry}/${rest}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`);
      } catch {
        continue;
      }
      // The prefix as written (case kept), and whether the input spelled Docker Hub's `library/`.
      const writtenPrefix = ref.writtenName.slice(0, ref.writtenName.length - rest.length - 1);
      const spellsLibrary = rest.startsWith('library/');
      return {
        upstream,
        write: (t) => {
          if (t.registry !== upstream.registry) return undefined;
          const path = spellsLibrary || t.registry !== DOCKER_HUB ? t.repository : t.repository.replace(/^library\//, '');
          return `${writtenPrefix}/${path}${t.tag ? `:${t.tag}` : ''}`;
        },
      };
    }
  }
  return { upstream: ref, write: (t) => (ref.registryWritten ? formatImageRef(t) : familiarImageRef(t)) };
}

// Images whose release line is more than the first number: python 3.8 -> 3.11 is a new language version.
const releaseLineDepth: Record<string, number> = {
  'docker.io/library/python': 2,
  'docker.io/library/pypy': 2,
};

/** How many leading numbers of a tag name the release line of this (upstream) image. */
export function releaseDepth(upstream: ImageRef): number {
  return releaseLineDepth[`${upstream.registry}/${upstream.repository}`] ?? 1;
}

function lineOf(numbers: number[], depth: number): string {
  return numbers.slice(0, depth).join('.');
}

/**
 * Tags worth trying instead of `current`, best first: same prefix and flavour, version at or above the
 * current one (never a downgrade); same release line (major, or major.minor for python) before a new
 * one; a tag as precise as the current one (pinned stays pinned, floating stays floating) before others;
 * then the closest version.
 */
export function rankTagCandidates(current: string, tags: string[], depth = 1): string[] {
  const base = parseTagVersion(current);
  if (!base) return [];
  const ranked: { tag: string; v: TagVersion }[] = [];
  for (const tag of new Set(tags)) {
    const v = parseTagVersion(tag);
    if (!v || tag === current || v.prefix !== base.prefix || v.flavour !== base.flavour) continue;
    if (compareVersions(v.numbers, base.numbers) < 0) continue;
    ranked.push({ tag, v });
  }
  const key = (v: TagVersion) => [
    lineOf(v.numbers, depth) === lineOf(base.numbers, depth) ? 0 : 1,
    v.numbers.length === base.numbers.length ? 0 : 1,
  ];
  return ranked
    .sort((a, b) => {
      const [ka, kb] = [key(a.v), key(b.v)];
      return (
        ka[0]! - kb[0]! ||
        ka[1]! - kb[1]! ||
        compareVersions(a.v.numbers, b.v.numbers) ||
        Number(a.v.suffix !== base.suffix) - Number(b.v.suffix !== base.suffix) ||
        a.tag.localeCompare(b.tag)
      );
    })
    .map((r) => r.tag);
}

export interface NearestTagLookups {
  listTags(reference: string): Promise<string[]>;
  inspect(reference: string): Promise<ImageResult>;
}

export interface NearestTagResult {
  /** A tag of the current release line that publishes linux/arm64. */
  tag?: string;
  /** Only newer release lines publish linux/arm64: a migration, with the tags found, best first. */
  migration?: { from: string; to: string; candidates: string[] };
  /** Tags inspected, in order, with what was found. */
  tried: { tag: string; status: ImageResult['status'] }[];
  reason: string;
}

export async function findNearestArm64Tag(
  reference: string,
  lookups: NearestTagLookups,
  maxCandidates = 5,
  mirrors: Mirrors = {},
): Promise<NearestTagResult> {
  const ref = parseImageRef(reference);
  const base = `${ref.registry}/${ref.repository}`;
  const current = ref.tag ? parseTagVersion(ref.tag) : undefined;
  if (!ref.tag || !current) {
    return { tried: [], reason: `tag "${ref.tag ?? ref.digest}" is not a version, so there is no "nearest" newer tag` };
  }
  const depth = releaseDepth(seeThroughMirrors(ref, mirrors).upstream);
  const currentLine = lineOf(current.numbers, depth);
  const ranked = rankTagCandidates(ref.tag, await lookups.listTags(reference), depth);
  if (ranked.length === 0) {
    return { tried: [], reason: `${base} has no tag at or above ${ref.tag} with the same flavour` };
  }
  const line = (tag: string) => lineOf(parseTagVersion(tag)!.numbers, depth);
  // The same line first (best first, up to the budget); then the best tag of each newer line, so the
  // migration names its candidates. One at a time: registries such as Docker Hub count every manifest GET.
  const sameLine = ranked.filter((t) => line(t) === currentLine).slice(0, maxCandidates);
  const newerLines = [...new Map(ranked.filter((t) => line(t) !== currentLine).map((t) => [line(t), t])).values()];
  const candidates = [...sameLine, ...newerLines].slice(0, maxCandidates);
  const tried: NearestTagResult['tried'] = [];
  const found: string[] = [];
  for (const tag of candidates) {
    const { status } = await lookups.inspect(`${base}:${tag}`);
    tried.push({ tag, status });
    if (status !== 'multi-arch-with-arm64') continue;
    if (line(tag) === currentLine) return { tag, tried, reason: `${base}:${tag} publishes linux/arm64` };
    found.push(tag);
  }
  if (found.length) {
    const to = line(found[0]!);
    return {
      migration: { from: currentLine, to, candidates: found },
      tried,
      reason: `no ${currentLine}.x tag publishes linux/arm64; only newer release lines do (${found.join(', ')})`,
    };
  }
  return { tried, reason: `none of the ${candidates.length} closest tags (${candidates.join(', ')}) publishes linux/arm64` };
}

const replacementTableSchema = z
  .object({
    replacements: z.array(
      z
        .object({
          image: z.string().min(1),
          replacement: z.string().min(1),
          why: z.string().min(1),
          source: z.url(),
          tags: z.array(z.object({ match: z.string().min(1), tag: z.string().min(1) }).strict()).default([]),
        })
        .strict(),
    ),
  })
  .strict();

export type ReplacementTable = z.infer<typeof replacementTableSchema>;

export function loadReplacementTable(file: string | URL = `${builtinDir}replaced-images.yml`): ReplacementTable {
  const text = readFileSync(file, 'utf8');
  const parsed = replacementTableSchema.safeParse(parseYaml(text));
  if (!parsed.success) {
    throw new Error(`replaced-images table ${String(file)} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

let builtinTable: ReplacementTable | undefined;
const compiledTable = `${builtinDir}replaced-images.json`;

/** The built-in table: replaced-images.json where the build wrote it (checked then), else the YAML. */
function builtinReplacementTable(): ReplacementTable {
  builtinTable ??= existsSync(compiledTable)
    ? (JSON.parse(readFileSync(compiledTable, 'utf8')) as ReplacementTable)
    : loadReplacementTable();
  return builtinTable;
}

/** `npm run build`: the built-in table, checked and parsed, written beside it as replaced-images.json. */
export function compileReplacementTable(): void {
  writeFileSync(compiledTable, JSON.stringify(loadReplacementTable()));
}

type ReplacementEntry = ReplacementTable['replacements'][number];
const entriesByName = new WeakMap<ReplacementTable, Map<string, ReplacementEntry>>();

/** A table's entries by registry/repository (the first entry for a name wins), parsed once per table. */
function replacementEntry(table: ReplacementTable, ref: ImageRef): ReplacementEntry | undefined {
  let byName = entriesByName.get(table);
  if (!byName) {
    byName = new Map();
    for (const e of table.replacements) {
      const from = parseImageRef(e.image);
      if (!byName.has(`${from.registry}/${from.repository}`)) byName.set(`${from.registry}/${from.repository}`, e);
    }
    entriesByName.set(table, byName);
  }
  return byName.get(`${ref.registry}/${ref.repository}`);
}

export interface Replacement {
  /** The successor, written in the same style as the input (short form stays short). */
  image: string;
  /** False when no tag rule matched: the successor is known but a human must choose its tag. */
  tagMapped: boolean;
  why: string;
  source: string;
}

/** The known successor of a replaced image (seen through mirrors), or undefined when the image is not in the table. */
export function suggestReplacement(
  ref: ImageRef,
  table: ReplacementTable = builtinReplacementTable(),
  mirrors: Mirrors = {},
): Replacement | undefined {
  const seen = seeThroughMirrors(ref, mirrors);
  const up = seen.upstream;
  const entry = replacementEntry(table, up);
  if (!entry) return undefined;
  const to = parseImageRef(entry.replacement);
  let tag: string | undefined;
  for (const rule of entry.tags) {
    const match = new RegExp(rule.match).exec(up.tag ?? '');
    if (match) {
      tag = rule.tag.replace(/\$(\d)/g, (_, n: string) => match[Number(n)] ?? '');
      break;
    }
  }
  const target = { registry: to.registry, repository: to.repository, tag };
  // A successor on another registry than the mirror serves is written as its upstream name.
  const image = seen.write(target) ?? formatImageRef(target);
  return { image, tagMapped: tag !== undefined, why: entry.why, source: entry.source };
}

/** A replacement from the table first (the old image is dead), else the nearest arm64 tag. */
export async function suggestArm64Image(
  reference: string,
  lookups: NearestTagLookups,
  maxCandidates = 5,
  mirrors: Mirrors = {},
): Promise<Arm64Suggestion> {
  let ref: ImageRef;
  try {
    ref = parseImageRef(reference);
  } catch (err) {
    return { kind: 'none', prApplicable: false, reason: (err as Error).message };
  }
  const replacement = suggestReplacement(ref, undefined, mirrors);
  if (replacement) {
    return {
      kind: 'replacement',
      image: replacement.image,
      prApplicable: replacement.tagMapped,
      reason:
        `${familiarImageRef(ref)} was replaced: ${replacement.why} (${replacement.source})` +
        (replacement.tagMapped ? '' : `; no rule maps tag "${ref.tag}", pick the successor's tag by hand`),
    };
  }
  try {
    const nearest = await findNearestArm64Tag(reference, lookups, maxCandidates, mirrors);
    if (nearest.tag) return { kind: 'tag-bump', image: withTag(ref, nearest.tag), prApplicable: true, reason: nearest.reason };
    if (nearest.migration) {
      const { from, to, candidates } = nearest.migration;
      return {
        kind: 'tag-bump',
        image: withTag(ref, candidates[0]!),
        prApplicable: true,
        majorUpgrade: { from, to, candidates: candidates.map((t) => withTag(ref, t)) },
        reason: nearest.reason,
      };
    }
    return { kind: 'none', prApplicable: false, reason: nearest.reason };
  } catch (err) {
    return {
      kind: 'none',
      prApplicable: false,
      reason: `could not list tags of ${ref.registry}/${ref.repository}: ${(err as Error).message}`,
    };
  }
}
