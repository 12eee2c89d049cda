// The arm64 knowledge base: which package versions break on arm64, why, and what fixes them. It is data
// (YAML next to this file, one per ecosystem), so operators extend or override it from config
// (`knowledge.files`) without a release. Later files override earlier ones per ecosystem + package.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const KNOWLEDGE_SCHEMA_VERSION = 1;
export const knowledgeEcosystems = ['jvm', 'python', 'node', 'go', 'system'] as const;
export type KnowledgeEcosystem = (typeof knowledgeEcosystems)[number];

/**
 * fails: does not load or run on arm64 (UnsatisfiedLinkError, exec format error, crash, wrong output).
 * source-build: no prebuilt arm64 artifact, so the install compiles from source (needs compilers, slow).
 * degrades: works, but falls back to a slower path (pure Java/Go, NIO instead of epoll).
 * investigate: depends on how it is used; a person should look.
 */
const impactSchema = z.enum(['fails', 'source-build', 'degrades', 'investigate']);
export type Impact = z.infer<typeof impactSchema>;

const affectedSchema = z
  .object({
    /** First affected version (inclusive); absent: every version older than `below`. */
    from: z.string().min(1).optional(),
    /** First version that is fine again; absent: no fixed version exists. */
    below: z.string().min(1).optional(),
    impact: impactSchema,
    breaks: z.string().min(1),
    source: z.url().optional(),
  })
  .strict();

const entrySchema = z
  .object({
    package: z.string().min(1),
    /** Stable finding id suffix; default derived from the package name. */
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .optional(),
    /** Other names that mean the same thing (image repositories for system components). */
    aliases: z.array(z.string().min(1)).default([]),
    /** Shorthand for one affected range: every version below `fixedIn` (absent: every version). */
    fixedIn: z.string().min(1).optional(),
    impact: impactSchema.optional(),
    breaks: z.string().min(1).optional(),
    affected: z.array(affectedSchema).min(1).optional(),
    /** Version to recommend instead of the first fixed one (e.g. past a later regression). */
    upgradeTo: z.string().min(1).optional(),
    /** Package to move to when no version works (node-sass → sass). */
    replacement: z.string().min(1).optional(),
    fix: z.string().min(1).optional(),
    source: z.url(),
  })
  .strict()
  .refine((e) => e.affected !== undefined || (e.impact !== undefined && e.breaks !== undefined), {
    message: 'give either `affected` ranges or `impact` + `breaks` (with optional `fixedIn`)',
  })
  .refine((e) => e.affected === undefined || (e.fixedIn === undefined && e.impact === undefined), {
    message: '`fixedIn`/`impact` are shorthand for one range; do not mix them with `affected`',
  });

const fileSchema = z
  .object({
    version: z.literal(KNOWLEDGE_SCHEMA_VERSION),
    ecosystem: z.enum(knowledgeEcosystems),
    entries: z.array(z.unknown()),
  })
  .strict();

export interface AffectedRange {
  from?: string;
  below?: string;
  impact: Impact;
  breaks: string;
  source?: string;
}

export interface KnowledgeEntry {
  ecosystem: KnowledgeEcosystem;
  package: string;
  id: string;
  aliases: string[];
  affected: AffectedRange[];
  upgradeTo?: string;
  replacement?: string;
  fix?: string;
  source: string;
  /** The file the entry came from, for messages. */
  origin: string;
}

export class KnowledgeError extends Error {}

/** Names compare the way the ecosystem's installer compares them. */
export function normalizePackageName(ecosystem: KnowledgeEcosystem, name: string): string {
  const n = name.trim();
  if (ecosystem === 'python') return n.toLowerCase().replace(/[-_.]+/g, '-'); // PEP 503
  if (ecosystem === 'go') return n;
  return n.toLowerCase();
}

function defaultId(pkg: string): string {
  const last = pkg.split(/[:/]/).filter(Boolean).pop() ?? pkg;
  return (
    last
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'package'
  );
}

/** Parses one knowledge file; a bad file is an error naming the file and the entry. */
export function parseKnowledgeFile(origin: string, text: string): KnowledgeEntry[] {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new KnowledgeError(`knowledge file ${origin}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const file = fileSchema.safeParse(raw);
  if (!file.success) {
    throw new KnowledgeError(`knowledge file ${origin}: ${describeIssues(file.error)}`);
  }
  const { ecosystem } = file.data;
  return file.data.entries.map((rawEntry, index) => {
    const parsed = entrySchema.safeParse(rawEntry);
    const label = (rawEntry as { package?: unknown } | null)?.package;
    const where = `knowledge file ${origin}, entry ${index + 1}${typeof label === 'string' ? ` (${label})` : ''}`;
    if (!parsed.success) throw new KnowledgeError(`${where}: ${describeIssues(parsed.error)}`);
    const e = parsed.data;
    return {
      ecosystem,
      package: e.package,
      id: `${ecosystem}.${e.id ?? defaultId(e.package)}`,
      aliases: e.aliases,
      affected: e.affected ?? [{ below: e.fixedIn, impact: e.impact!, breaks: e.breaks! }],
      upgradeTo: e.upgradeTo,
      replacement: e.replacement,
      fix: e.fix,
      source: e.source,
      origin,
    };
  });
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('; ');
}

export class KnowledgeBase {
  private readonly byKey = new Map<string, KnowledgeEntry>();
  /** Entries whose package ends in `*` (`org.apache.flink:*`): matched by prefix, longest first. */
  private readonly patterns: { prefix: string; entry: KnowledgeEntry }[] = [];

  constructor(entries: KnowledgeEntry[]) {
    for (const e of entries) this.add(e);
  }

  /** Later entries replace earlier ones with the same ecosystem and package (or alias). */
  private add(entry: KnowledgeEntry): void {
    for (const name of [entry.package, ...entry.aliases]) {
      const key = `${entry.ecosystem}\u0000${normalizePackageName(entry.ecosystem, name)}`;
      const previous = this.byKey.get(key);
      if (previous) this.remove(previous);
    }
    for (const name of [entry.package, ...entry.aliases]) {
      const key = `${entry.ecosystem}\u0000${normalizePackageName(entry.ecosystem, name)}`;
      this.byKey.set(key, entry);
      if (key.endsWith('*')) this.patterns.push({ prefix: key.slice(0, -1), entry });
    }
  }

  private remove(entry: KnowledgeEntry): void {
    for (const [key, value] of this.byKey) if (value === entry) this.byKey.delete(key);
  }

  lookup(ecosystem: KnowledgeEcosystem, name: string): KnowledgeEntry | undefined {
    const exact = this.byKey.get(`${ecosystem}\u0000${normalizePackageName(ecosystem, name)}`);
    if (exact) return exact;
    const key = `${ecosystem}\u0000${normalizePackageName(ecosystem, name)}`;
    let best: { prefix: string; entry: KnowledgeEntry } | undefined;
    for (const p of this.patterns)
      if (key.startsWith(p.prefix) && this.byKey.get(`${p.prefix}*`) === p.entry && (!best || p.prefix.length > best.prefix.length))
        best = p;
    return best?.entry;
  }

  entries(ecosystem?: KnowledgeEcosystem): KnowledgeEntry[] {
    return [...new Set(this.byKey.values())].filter((e) => !ecosystem || e.ecosystem === ecosystem);
  }
}

/** Set by the terminal's bundle (scripts/build.mjs): its code runs from dist/cli, where the files are in knowledge/. */
declare const ARCHSHIFT_KNOWLEDGE_DIR: string | undefined;
/** The folder of the built-in knowledge files (and the replaced-images table), ending in a slash. */
export const builtinDir = fileURLToPath(
  new URL(typeof ARCHSHIFT_KNOWLEDGE_DIR === 'string' ? ARCHSHIFT_KNOWLEDGE_DIR : '.', import.meta.url),
);
export const builtinKnowledgeFiles = knowledgeEcosystems.map((e) => `${builtinDir}${e}.yml`);
/** The built-in files, already checked and parsed by `npm run build`: JSON is read in a few ms, YAML takes ~100. */
const compiledFile = `${builtinDir}builtin.json`;

let builtin: KnowledgeBase | undefined;

const parseBuiltinFiles = (): KnowledgeEntry[] =>
  builtinKnowledgeFiles.flatMap((file) => parseKnowledgeFile(file, readFileSync(file, 'utf8')));

/** The knowledge that ships with archshift (read once; the files are part of the source tree, compiled in dist/). */
export function builtinKnowledge(): KnowledgeBase {
  builtin ??= new KnowledgeBase(
    existsSync(compiledFile)
      ? (JSON.parse(readFileSync(compiledFile, 'utf8')) as KnowledgeEntry[]).map((e) => ({ ...e, origin: builtinDir + e.origin }))
      : parseBuiltinFiles(),
  );
  return builtin;
}

/** `npm run build`: writes the built-in files, checked and parsed, next to them as builtin.json (origins relative). */
export function compileBuiltinKnowledge(): void {
  const entries = parseBuiltinFiles().map((e) => ({ ...e, origin: e.origin.slice(builtinDir.length) }));
  writeFileSync(compiledFile, JSON.stringify(entries));
}

/** Built-ins plus the operator's files from `knowledge.files`, in order. */
export async function loadKnowledgeBase(extraFiles: string[] = []): Promise<KnowledgeBase> {
  const entries = builtinKnowledge().entries();
  for (const file of extraFiles) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new KnowledgeError(`knowledge file ${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    entries.push(...parseKnowledgeFile(file, text));
  }
  return new KnowledgeBase(entries);
}
