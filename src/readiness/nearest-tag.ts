// Finding an arm64 alternative for an image that lacks linux/arm64: the closest newer tag of the same
// repository with the same flavour (verified by inspecting it), or the image's known successor from
// knowledge/replaced-images.yml. Ranking and the table are pure; the search takes its lookups as arguments.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { familiarImageRef, formatImageRef, parseImageRef, withTag, type ImageRef } from './image-ref.ts';
import type { Arm64Suggestion, ImageResult } from './image-types.ts';

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

/**
 * Tags worth trying instead of `current`, best first: same prefix and flavour, version at or above the
 * current one (never a downgrade); same major before a new major; a tag as precise as the current
 * one (pinned stays pinned, floating stays floating) before others; then the closest version.
 */
export function rankTagCandidates(current: string, tags: string[]): string[] {
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
    v.numbers[0] === base.numbers[0] ? 0 : 1,
    v.numbers.length === base.numbers.length ? 0 : 1,
  ];
  return ranked
    .sort((a, b) => {
      const [ka, kb] = [key(a.v), key(b.v)];
      return ka[0]! - kb[0]! || ka[1]! - kb[1]! || compareVersions(a.v.numbers, b.v.numbers) ||
        Number(a.v.suffix !== base.suffix) - Number(b.v.suffix !== base.suffix) || a.tag.localeCompare(b.tag);
    })
    .map((r) => r.tag);
}

export interface NearestTagLookups {
  listTags(reference: string): Promise<string[]>;
  inspect(reference: string): Promise<ImageResult>;
}

export interface NearestTagResult {
  tag?: string;
  /** Tags inspected, in order, with what was found. */
  tried: { tag: string; status: ImageResult['status'] }[];
  reason: string;
}

export async function findNearestArm64Tag(
  reference: string,
  lookups: NearestTagLookups,
  maxCandidates = 5,
): Promise<NearestTagResult> {
  const ref = parseImageRef(reference);
  const base = `${ref.registry}/${ref.repository}`;
  if (!ref.tag || !parseTagVersion(ref.tag)) {
    return { tried: [], reason: `tag "${ref.tag ?? ref.digest}" is not a version, so there is no "nearest" newer tag` };
  }
  const candidates = rankTagCandidates(ref.tag, await lookups.listTags(reference)).slice(0, maxCandidates);
  if (candidates.length === 0) {
    return { tried: [], reason: `${base} has no tag at or above ${ref.tag} with the same flavour` };
  }
  // One at a time, best first: the first hit usually comes early, and registries such as Docker Hub
  // count every manifest GET against a pull quota.
  const tried: NearestTagResult['tried'] = [];
  for (const tag of candidates) {
    const { status } = await lookups.inspect(`${base}:${tag}`);
    tried.push({ tag, status });
    if (status === 'multi-arch-with-arm64') return { tag, tried, reason: `${base}:${tag} publishes linux/arm64` };
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

export function loadReplacementTable(file: string | URL = new URL('./knowledge/replaced-images.yml', import.meta.url)): ReplacementTable {
  const text = readFileSync(file, 'utf8');
  const parsed = replacementTableSchema.safeParse(parseYaml(text));
  if (!parsed.success) {
    throw new Error(`replaced-images table ${String(file)} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

let builtinTable: ReplacementTable | undefined;

export interface Replacement {
  /** The successor, written in the same style as the input (short form stays short). */
  image: string;
  /** False when no tag rule matched: the successor is known but a human must choose its tag. */
  tagMapped: boolean;
  why: string;
  source: string;
}

/** The known successor of a replaced image, or undefined when the image is not in the table. */
export function suggestReplacement(ref: ImageRef, table: ReplacementTable = (builtinTable ??= loadReplacementTable())): Replacement | undefined {
  const entry = table.replacements.find((e) => {
    const from = parseImageRef(e.image);
    return from.registry === ref.registry && from.repository === ref.repository;
  });
  if (!entry) return undefined;
  const to = parseImageRef(entry.replacement);
  let tag: string | undefined;
  for (const rule of entry.tags) {
    const match = new RegExp(rule.match).exec(ref.tag ?? '');
    if (match) {
      tag = rule.tag.replace(/\$(\d)/g, (_, n: string) => match[Number(n)] ?? '');
      break;
    }
  }
  const target = { registry: to.registry, repository: to.repository, tag };
  const image = ref.registryWritten ? formatImageRef(target) : familiarImageRef(target);
  return { image, tagMapped: tag !== undefined, why: entry.why, source: entry.source };
}

/** A replacement from the table first (the old image is dead), else the nearest arm64 tag. */
export async function suggestArm64Image(reference: string, lookups: NearestTagLookups, maxCandidates = 5): Promise<Arm64Suggestion> {
  let ref: ImageRef;
  try {
    ref = parseImageRef(reference);
  } catch (err) {
    return { kind: 'none', prApplicable: false, reason: (err as Error).message };
  }
  const replacement = suggestReplacement(ref);
  if (replacement) {
    return {
      kind: 'replacement',
      image: replacement.image,
      prApplicable: replacement.tagMapped,
      reason: `${familiarImageRef(ref)} was replaced: ${replacement.why} (${replacement.source})` +
        (replacement.tagMapped ? '' : `; no rule maps tag "${ref.tag}", pick the successor's tag by hand`),
    };
  }
  try {
    const nearest = await findNearestArm64Tag(reference, lookups, maxCandidates);
    if (nearest.tag) return { kind: 'tag-bump', image: withTag(ref, nearest.tag), prApplicable: true, reason: nearest.reason };
    return { kind: 'none', prApplicable: false, reason: nearest.reason };
  } catch (err) {
    return { kind: 'none', prApplicable: false, reason: `could not list tags of ${ref.registry}/${ref.repository}: ${(err as Error).message}` };
  }
}
