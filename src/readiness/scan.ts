// Walks a checkout and hands each file to the analyser for its kind. Only files some analyser reads are
// opened; dependency directories and VCS metadata are skipped; symlinks are never followed into
// directories (no loops); oversized, binary and malformed files become a "could not read" warning and
// the rest of the report stands. Every finding carries its ecosystem, for grouping in reports.
// The selection (isScanCandidate) and the per-file dispatch (NativeScan) are shared with the scan of a
// GitHub repository (scan-github.ts), so both read the same files the same way.
import { constants, readSync } from 'node:fs';
import { open, realpath, stat, readdir } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { LocalFileRefused, readRegularFile } from './local-file.ts';
import path from 'node:path';
import type { Finding } from './report.ts';
import { builtinKnowledge, type KnowledgeBase } from './knowledge/load.ts';
import { scannedInfo, unreadable, type DeclaredFile, type SourceFile } from './analysers/native-deps.ts';
import { analyseJarEntries, analyseJvm, extractJvmSource, isJvmFile, isJvmSource, type JvmSources } from './analysers/jvm.ts';
import { isPythonFile, judgePython, pythonFileDeclarations, requirementIncludes } from './analysers/python.ts';
import { isNodeFile, judgeNode, nodeFileDeclarations, npmLockFileDeclarations, type ChunkedFile } from './analysers/node.ts';
import { PRUNED_JSON_FROM_BYTES } from './analysers/json-fields.ts';
import {
  analyseGo,
  extractGoBuildFile,
  extractGoFile,
  GoSources,
  isGoBuildFile,
  type GoBuildFacts,
  type GoFileFacts,
} from './analysers/go.ts';
import {
  analyseAsmSource,
  analyseNativeBuildFile,
  contextualiseNative,
  hasArm64Twin,
  nativeFileFacts,
  type NativeFileFacts,
  analyseNativeSource,
  analysePrebuiltBinaries,
  isAsmSource,
  isNativeBuildFile,
  isNativeSource,
} from './analysers/native.ts';
import { analyseManifest } from './analysers/system.ts';
import { transitiveJvmFindings, type TransitiveOptions } from './transitive.ts';
import type { Mirrors } from '../images/nearest-tag.ts';

export interface ScanOptions {
  knowledge?: KnowledgeBase;
  /** Larger text files are reported as unreadable instead of read (default 16 MiB). */
  maxFileBytes?: number;
  /** Files read at once (default 32). */
  concurrency?: number;
  /** Resolve the JVM dependency tree through a Maven repository (maven.transitive). */
  maven?: TransitiveOptions;
  /** Paths left out (`readiness.exclude`, `.archshiftignore`); an excluded directory is not entered. */
  excluded?: (rel: string, isDir?: boolean) => boolean;
  /** Told every regular file the walk meets (candidate or not, not excluded), so a caller needs no walk of its own. */
  listed?: (rel: string) => void;
}

/** Larger text files are reported as unreadable instead of read. */
export const MAX_SCANNED_FILE_BYTES = 16 * 1024 * 1024;

/** Directories that hold installed or generated code, not the service's own. */
const skippedDirs = new Set([
  '.git',
  '.hg',
  '.svn',
  'CVS',
  'node_modules',
  'bower_components',
  'vendor',
  '.venv',
  'venv',
  '__pycache__',
  '.tox',
  '.nox',
  '.mypy_cache',
  '.pytest_cache',
  '.gradle',
  '.idea',
  '.vscode',
  'target',
  'build',
  'dist',
  '.terraform',
  '.next',
  '.cache',
  'site-packages',
]);

export type ScanKind =
  | 'jvm'
  | 'jvm-source'
  | 'python'
  | 'node'
  | 'go-mod'
  | 'go-source'
  | 'go-build'
  | 'native'
  | 'native-build'
  | 'asm'
  | 'yaml'
  | 'jar'
  | 'elf'
  | 'unanalysed';

/**
 * Dependency files archshift finds but does not read. Never passed over in silence: each is named as
 * not analysed, and while nothing beside it was analysed either, the verdict cannot be ready.
 */
const unanalysedFiles: Array<{ name: RegExp; ecosystem: 'jvm' | 'python' | 'node'; what: string }> = [
  { name: /^build\.sbt$/, ecosystem: 'jvm', what: 'sbt builds' },
  { name: /^ivy\.xml$/, ecosystem: 'jvm', what: 'Ivy module files' },
  { name: /^project\.clj$/, ecosystem: 'jvm', what: 'Leiningen projects' },
  { name: /^deps\.edn$/, ecosystem: 'jvm', what: 'Clojure deps.edn files' },
  { name: /^setup\.py$/, ecosystem: 'python', what: 'setup.py install_requires' },
  { name: /^setup\.cfg$/, ecosystem: 'python', what: 'setup.cfg install_requires' },
  { name: /^Pipfile$/, ecosystem: 'python', what: 'a Pipfile without its Pipfile.lock' },
  { name: /^(uv|pdm)\.lock$/, ecosystem: 'python', what: 'uv and PDM lockfiles' },
  { name: /^environment\.ya?ml$/, ecosystem: 'python', what: 'conda environment files' },
  { name: /^pnpm-lock\.yaml$/, ecosystem: 'node', what: 'pnpm lockfiles' },
  { name: /^bun\.lockb?$/, ecosystem: 'node', what: 'Bun lockfiles' },
];

/** Kinds whose files declare dependencies: one that cannot be read leaves the verdict open. */
const dependencyKinds: ReadonlySet<ScanKind> = new Set(['jvm', 'python', 'node', 'go-mod']);

/** JVM build files: C/C++ under their folder is a component of the JVM project (contextualiseNative). */
const jvmBuildFile = /(^|\/)(pom\.xml|build\.gradle(\.kts)?|build\.sbt)$/;

/** The analysers that read a file, by its path alone; a file with none is never opened. */
export function kindsOf(rel: string): ScanKind[] {
  const base = path.posix.basename(rel);
  const kinds: ScanKind[] = [];
  if (isJvmFile(rel)) kinds.push('jvm');
  if (isJvmSource(rel)) kinds.push('jvm-source');
  if (unanalysedFiles.some((u) => u.name.test(base))) kinds.push('unanalysed');
  if (isPythonFile(rel)) kinds.push('python');
  if (isNodeFile(rel)) kinds.push('node');
  if (base === 'go.mod') kinds.push('go-mod');
  if (rel.endsWith('.go')) kinds.push('go-source');
  if (isGoBuildFile(rel)) kinds.push('go-build');
  if (isNativeSource(rel)) kinds.push('native');
  if (isNativeBuildFile(rel)) kinds.push('native-build');
  if (isAsmSource(rel)) kinds.push('asm');
  if (/\.ya?ml$/i.test(base) && !/^(pnpm-lock|\.pre-commit|mkdocs|codecov|\.gitlab-ci)/.test(base) && !rel.includes('.github/'))
    kinds.push('yaml');
  if (/\.(jar|war|ear)$/i.test(base)) kinds.push('jar');
  if (/\.(so(\.\d+)*|node)$/.test(base)) kinds.push('elf');
  return kinds;
}

/** Whether a repository path (from a walk or a git tree) is one the scan reads: some analyser wants it and no directory on the way is skipped. */
export function isScanCandidate(rel: string): boolean {
  const dirs = rel.split('/').slice(0, -1);
  return !dirs.some((d) => skippedDirs.has(d)) && kindsOf(rel).length > 0;
}

/** What the walk hands its caller, directory by directory. */
interface WalkVisitor {
  /** A directory's candidate files, before any of them is read (so facts about neighbours are known in time). */
  directory(rel: string, candidates: string[]): void;
  /** Reads and analyses one candidate (`kinds`: its kindsOf, worked out once by the walk); never throws. */
  file(rel: string, abs: string, kinds: ScanKind[]): Promise<void>;
  /** Every candidate of the directory has been handed to `file` and is done. */
  directoryDone(rel: string): void;
  /** Every regular file met (candidate or not), for a caller that needs other files of the tree. */
  listed?(rel: string): void;
}

/**
 * One pass over the checkout: each directory is listed, its candidates are read (at most `concurrency` at
 * once) while the walk goes on, and nothing is collected: what is kept is the visitor's business.
 */
async function walk(
  root: string,
  opts: { maxEntries: number; concurrency: number; excluded: NonNullable<ScanOptions['excluded']> },
  visit: WalkVisitor,
): Promise<Finding[]> {
  const problems: Finding[] = [];
  const rootReal = await realpath(root);
  const queue: string[] = [''];
  let seen = 0;
  let running = 0;
  let wake: (() => void) | undefined;
  const slot = async () => {
    while (running >= opts.concurrency) await new Promise<void>((r) => (wake = r));
    running++;
  };
  const outstanding = new Map<string, number>();
  const settle = (dir: string) => {
    const left = outstanding.get(dir)! - 1;
    if (left > 0) return void outstanding.set(dir, left);
    outstanding.delete(dir);
    visit.directoryDone(dir);
  };
  walking: while (queue.length > 0) {
    const relDir = queue.pop()!;
    let entries;
    try {
      entries = await readdir(path.join(root, relDir), { withFileTypes: true });
    } catch (err) {
      problems.push(unreadable(relDir || '.', `cannot list directory (${(err as NodeJS.ErrnoException).code ?? err})`));
      continue;
    }
    const files: { rel: string; abs: string; kinds: ScanKind[] }[] = [];
    let full = false;
    for (const e of entries) {
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!skippedDirs.has(e.name) && !opts.excluded(rel, true)) queue.push(rel);
        continue;
      }
      if (opts.excluded(rel)) continue;
      if (e.isFile()) visit.listed?.(rel);
      if (!e.isFile() && !e.isSymbolicLink()) continue;
      // Worked out once per file: the walk meets every file of the tree, and most are not candidates.
      const kinds = kindsOf(rel);
      if (kinds.length === 0) continue;
      const abs = path.join(root, rel);
      if (e.isSymbolicLink()) {
        try {
          const target = await stat(abs);
          const real = await realpath(abs);
          // Directories behind links are not entered (that is how loops happen); files outside the checkout are not ours.
          if (!target.isFile() || !(real + path.sep).startsWith(rootReal + path.sep)) continue;
          files.push({ rel, abs: real, kinds });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          problems.push(unreadable(rel, code === 'ELOOP' ? 'symlink loop' : `broken symlink (${code ?? err})`));
        }
        continue;
      }
      files.push({ rel, abs, kinds });
      if (++seen > opts.maxEntries) {
        problems.push(unreadable(rel, `more than ${opts.maxEntries} candidate files; the rest were not scanned`));
        full = true;
        break;
      }
    }
    visit.directory(
      relDir,
      files.map((f) => f.rel),
    );
    outstanding.set(relDir, files.length + 1);
    for (const f of files) {
      await slot();
      void visit.file(f.rel, f.abs, f.kinds).finally(() => {
        running--;
        wake?.();
        settle(relDir);
      });
    }
    settle(relDir);
    if (full) break walking;
  }
  while (running > 0) await new Promise<void>((r) => (wake = r));
  return problems;
}

export async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

async function readText(
  abs: string,
  rel: string,
  maxBytes: number,
  admit?: (size: number) => Promise<void>,
): Promise<{ text?: string; problem?: Finding }> {
  try {
    return textOf(rel, await readRegularFile(abs, maxBytes, admit));
  } catch (err) {
    if (err instanceof LocalFileRefused)
      return { problem: err.reason === 'too-large' ? tooLarge(rel, err.size ?? 0, maxBytes) : unreadable(rel, err.message) };
    return { problem: unreadable(rel, `${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`) };
  }
}

export function tooLarge(rel: string, size: number, maxBytes: number): Finding {
  return unreadable(rel, `larger than ${Math.round(maxBytes / 1048576)} MiB (${Math.round(size / 1048576)} MiB)`);
}

/** A file's bytes as text, or why not (NUL bytes near the start mean binary). */
export function textOf(rel: string, buf: Buffer): { text?: string; problem?: Finding } {
  if (buf.subarray(0, 8192).includes(0)) return { problem: unreadable(rel, 'binary content where text was expected') };
  return { text: buf.toString('utf8') };
}

/** Entry names from a zip's central directory (no decompression). */
export async function zipEntryNames(abs: string): Promise<string[]> {
  const fh = await open(abs, 'r');
  try {
    const { size } = await fh.stat();
    return await zipEntryNamesAt(size, async (position, length) => {
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, position);
      return buf;
    });
  } finally {
    await fh.close();
  }
}

/** The same, for a zip whose bytes are already in memory (e.g. fetched from GitHub). */
export function zipEntryNamesOf(bytes: Buffer): Promise<string[]> {
  return zipEntryNamesAt(bytes.length, async (position, length) => bytes.subarray(position, position + length));
}

async function zipEntryNamesAt(size: number, readAt: (position: number, length: number) => Promise<Buffer>): Promise<string[]> {
  const tailSize = Math.min(size, 65557);
  const tail = await readAt(size - tailSize, tailSize);
  let eocd = -1;
  for (let i = tailSize - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const count = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || cdSize === 0xffffffff) throw new Error('zip64 archives are not supported');
  if (cdOffset + cdSize > size) throw new Error('central directory points past the end of the file');
  const cd = await readAt(cdOffset, cdSize);
  const names: string[] = [];
  let p = 0;
  for (let n = 0; n < count && p + 46 <= cd.length; n++) {
    if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt central directory');
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    names.push(cd.toString('utf8', p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}

export type Machine = 'x86-64' | 'aarch64' | 'other';

async function elfMachine(abs: string): Promise<Machine | undefined> {
  const fh = await open(abs, 'r');
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await fh.read(head, 0, 20, 0);
    return elfMachineOf(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** The machine an ELF file is built for, from its first 20 bytes; undefined when it is not ELF. */
export function elfMachineOf(head: Buffer): Machine | undefined {
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  return machine === 0x3e ? 'x86-64' : machine === 0xb7 ? 'aarch64' : 'other';
}

/** Names every regular file of the checkout the scan would meet (same skipped and excluded paths), reading none. */
export async function listCheckout(
  root: string,
  excluded: NonNullable<ScanOptions['excluded']>,
  listed: (rel: string) => void,
): Promise<void> {
  await walk(
    root,
    { maxEntries: Infinity, concurrency: 1, excluded },
    { directory() {}, directoryDone() {}, file: async () => {}, listed },
  );
}

/** Bytes read at a time from a big npm lockfile. */
const CHUNK_BYTES = 64 * 1024;

/**
 * A package-lock.json / npm-shrinkwrap.json of PRUNED_JSON_FROM_BYTES or more is handed to `analyse` as
 * chunks read from the file (a reused buffer, synchronously: the analysis is synchronous too), so its text
 * is never whole in memory: a multi-MB string alive across young-generation collections is what made V8
 * grow that generation (and the scan's peak RSS). Returns why it was not read, or 'small' for a file to
 * read whole like any other. Refuses what readRegularFile and textOf refuse, with the same words.
 */
async function readNpmLockInChunks(
  abs: string,
  rel: string,
  maxBytes: number,
  analyse: (f: ChunkedFile) => void,
): Promise<Finding | 'small' | undefined> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await fh.stat();
    if (!info.isFile()) return unreadable(rel, 'not a regular file (a FIFO, socket or device); not read');
    if (info.size > maxBytes) return tooLarge(rel, info.size, maxBytes);
    if (info.size < PRUNED_JSON_FROM_BYTES) return 'small';
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const { bytesRead } = await fh.read(buf, 0, 8192, 0);
    if (buf.subarray(0, bytesRead).includes(0)) return unreadable(rel, 'binary content where text was expected');
    const chunks = function* (): Generator<string> {
      const decoder = new StringDecoder('utf8'); // a character split between two chunks is kept for the next
      for (let at = 0; ;) {
        const n = readSync(fh.fd, buf, 0, CHUNK_BYTES, at);
        if (n === 0) break;
        at += n;
        if (at > maxBytes) throw new Error(`larger than ${Math.round(maxBytes / 1048576)} MiB (it grew while read)`);
        yield decoder.write(buf.subarray(0, n));
      }
      yield decoder.end();
    };
    analyse({ path: rel, chunks });
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Text read at once across the scan's concurrent reads; a larger file waits and is read alone. */
const IN_FLIGHT_TEXT_BYTES = 24 * 1024 * 1024;

export async function scanCheckout(root: string, options: ScanOptions = {}): Promise<Finding[]> {
  const maxBytes = options.maxFileBytes ?? MAX_SCANNED_FILE_BYTES;
  const scan = new NativeScan(options.knowledge);
  const budget = new ByteBudget(IN_FLIGHT_TEXT_BYTES);
  const problems = await walk(
    root,
    { maxEntries: 500_000, concurrency: options.concurrency ?? 32, excluded: options.excluded ?? (() => false) },
    {
      directory: (_dir, candidates) => scan.notePaths(candidates),
      directoryDone: (dir) => scan.directoryRead(dir),
      listed: options.listed,
      file: async (rel, abs, kinds) => {
        if (kinds.every((k) => k === 'unanalysed')) return; // named by finish(), never opened
        let held = 0;
        try {
          if (kinds.includes('jar')) return scan.addJar(rel, await zipEntryNames(abs));
          if (kinds.includes('elf')) return scan.addBinary(rel, await elfMachine(abs));
          if (kinds.length === 1 && kinds[0] === 'node' && /^(package-lock|npm-shrinkwrap)\.json$/.test(path.posix.basename(rel))) {
            const refused = await readNpmLockInChunks(abs, rel, maxBytes, (f) => scan.addNpmLock(f));
            if (refused === undefined) return;
            if (refused !== 'small') return scan.report(refused);
          }
          const { text, problem } = await readText(abs, rel, maxBytes, async (size) => {
            await budget.take(size);
            held = size;
          });
          if (problem) scan.report(problem);
          if (text !== undefined) scan.addText(rel, text, kinds);
        } catch (err) {
          scan.report(unreadable(rel, (err as Error).message));
        } finally {
          budget.give(held);
        }
      },
    },
  );
  scan.report(...problems);
  const rootReal = await realpath(root);
  return scan.finish(async (rel, includedBy) => {
    const abs = path.join(root, rel);
    try {
      const real = await realpath(abs);
      if (!(real + path.sep).startsWith(rootReal + path.sep)) return {};
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { problem: unreadable(rel, code === 'ELOOP' ? 'symlink loop' : `included by ${includedBy} but missing (${code})`) };
    }
    return readText(abs, rel, maxBytes);
  }, options.maven);
}

/** Bytes of text held by reads in flight; one file always gets through, however large (within the file cap). */
class ByteBudget {
  private used = 0;
  private waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async take(bytes: number): Promise<void> {
    while (this.used > 0 && this.used + bytes > this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.used += bytes;
  }

  give(bytes: number): void {
    if (bytes === 0) return;
    this.used -= bytes;
    for (const wake of this.waiting.splice(0)) wake();
  }
}

/** Reads a file that a requirements file includes: its text, why it could not be read, or `{}` to skip it (outside the checkout). */
export type IncludeReader = (rel: string, includedBy: string) => Promise<{ text?: string; problem?: Finding }>;

type DepEcosystem = 'jvm' | 'python' | 'node';

/**
 * One scan's state: every file is handed in once (text, jar entry names or ELF machine), dispatched to
 * the analysers for its kinds and reduced to findings and small facts at once; `finish` runs the
 * analysers that judge a whole ecosystem. Held until then: findings, the declarations the knowledge base
 * knows, JVM build files and go.mod files (small, and read together: Maven parents, Gradle `apply from:`,
 * buildSrc), and a few paths (assembly, JVM build roots, files not analysed); not texts, not a record per
 * source file, not the path set. The checkout walk and the GitHub repository scan both feed it, so they
 * cannot drift apart.
 */
export class NativeScan {
  private readonly kb: KnowledgeBase;
  private readonly findings: Finding[] = [];
  /** Directories holding Go files: a `.s` file there is Go assembly. */
  private readonly goDirs = new Set<string>();
  /** Go files of directories not read to the end yet; judged per package, then let go. */
  private readonly goPending = new Map<string, GoFileFacts[]>();
  private readonly goSources = new GoSources();
  private readonly goMods: SourceFile[] = [];
  private readonly goBuild: GoBuildFacts[] = [];
  private readonly jvmTexts: SourceFile[] = [];
  private readonly declared: Record<'python' | 'node', DeclaredFile[]> = { python: [], node: [] };
  /** Dependency files handed in, by ecosystem (for "found but not analysed" beside them). */
  private readonly handed: Record<DepEcosystem, Set<string>> = { jvm: new Set(), python: new Set(), node: new Set() };
  /** `-r other.txt` of requirements files: read in finish() when not handed in. */
  private readonly includes: { from: string; rels: string[] }[] = [];
  private readonly asmPaths = new Set<string>();
  /** x86 assembly findings, until finish() knows every assembly file (a twin may sit in another folder). */
  private readonly asmFindings: Finding[] = [];
  private readonly jvmBuildPaths = new Set<string>();
  private readonly unanalysedPaths: string[] = [];
  private readonly pipfileLocks = new Set<string>();
  private native = 0;
  private readonly nativeSample: string[] = [];
  private readonly jniFacts: NativeFileFacts[] = [];
  private readonly binaries: { file: string; machine: Machine }[] = [];
  private manifests = 0;
  private readonly manifestSample: string[] = [];
  private readonly jvmSources: JvmSources = { count: 0, epoll: [] };
  /** Some JVM sources were left unread (a GitHub budget): no conclusion may rest on "no source does X". */
  private jvmSourcesPartial = false;

  constructor(
    knowledge: KnowledgeBase = builtinKnowledge(),
    private readonly mirrors: Mirrors = {},
  ) {
    this.kb = knowledge;
  }

  /**
   * Candidate paths, read or not, before the files of their directories are handed in: assembly is
   * judged by its neighbours, and files not analysed are named. Only those few facts are kept.
   */
  notePaths(paths: Iterable<string>): void {
    for (const rel of paths) {
      const base = path.posix.basename(rel);
      if (rel.endsWith('.go')) this.goDirs.add(path.posix.dirname(rel));
      if (isAsmSource(rel)) this.asmPaths.add(rel);
      if (jvmBuildFile.test(rel)) this.jvmBuildPaths.add(rel);
      if (base === 'Pipfile.lock') this.pipfileLocks.add(rel);
      if (unanalysedFiles.some((u) => u.name.test(base))) this.unanalysedPaths.push(rel);
    }
  }

  /** Every file of `dir` has been handed in: its Go package is judged now, and its facts let go. */
  directoryRead(dir: string): void {
    const facts = this.goPending.get(dir);
    if (!facts) return;
    this.goPending.delete(dir);
    this.goSources.addPackages(facts);
  }

  report(...findings: Finding[]): void {
    this.findings.push(...findings);
  }

  /** Says that not every candidate JVM source was handed in. */
  jvmSourcesIncomplete(): void {
    this.jvmSourcesPartial = true;
  }

  addJar(rel: string, entryNames: string[]): void {
    this.findings.push(...analyseJarEntries(rel, entryNames));
  }

  addBinary(rel: string, machine: Machine | undefined): void {
    if (machine) this.binaries.push({ file: rel, machine });
  }

  /** Hands one text file to the analysers its path names (`kinds`: kindsOf(rel), when the caller has it). */
  addText(rel: string, text: string, kinds: readonly ScanKind[] = kindsOf(rel)): void {
    try {
      const file = { path: rel, text };
      for (const k of kinds) {
        if (k === 'jvm') this.jvmTexts.push(file);
        else if (k === 'python') this.addPython(file);
        else if (k === 'node') this.declared.node.push(own(nodeFileDeclarations(file, this.kb)));
        else if (k === 'go-mod') this.goMods.push(file);
        else if (k === 'go-build') {
          const facts = extractGoBuildFile(rel, text);
          if (facts.dockerfile || facts.amd64Only) this.goBuild.push(own(facts));
        } else if (k === 'go-source') this.addGo(extractGoFile(rel, text));
        else if (k === 'jvm-source') {
          const facts = extractJvmSource(rel, text);
          this.jvmSources.count++;
          if (facts.usesEpoll) this.jvmSources.epoll.push(own(facts));
        } else if (k === 'asm') {
          if (this.goDirs.has(path.posix.dirname(rel)) && rel.endsWith('.s')) this.addGo(extractGoFile(rel, text));
          else {
            this.addNative(rel);
            this.asmFindings.push(...own(analyseAsmSource(rel, text, new Set())));
          }
        } else if (k === 'native') {
          this.addNative(rel);
          const facts = nativeFileFacts(rel, text);
          if (facts.jni) this.jniFacts.push(facts);
          this.findings.push(...own(analyseNativeSource(rel, text)));
        } else if (k === 'native-build') {
          this.findings.push(...own(analyseNativeBuildFile(rel, text)));
        } else if (k === 'yaml') {
          const scan = analyseManifest(rel, text, this.kb, this.mirrors);
          this.findings.push(...own(scan.findings));
          if (scan.isManifest) this.manifests = sample(this.manifestSample, rel, this.manifests);
        }
        if (k === 'jvm' || k === 'python' || k === 'node') this.handed[k].add(rel);
      }
    } catch (err) {
      this.findings.push(unreadable(rel, (err as Error).message));
    }
  }

  /** A big npm lockfile read in chunks (the scan of a checkout); what addText does with its text, without it. */
  addNpmLock(file: ChunkedFile): void {
    try {
      this.declared.node.push(own(npmLockFileDeclarations(file, this.kb)));
      this.handed.node.add(file.path);
    } catch (err) {
      this.findings.push(unreadable(file.path, (err as Error).message));
    }
  }

  private addPython(file: SourceFile): void {
    this.declared.python.push(own(pythonFileDeclarations(file, this.kb)));
    const rels = requirementIncludes(file);
    if (rels.length) this.includes.push({ from: file.path, rels });
  }

  /** `facts` hold no slice of the file's text (extractGoFile copies what it keeps), so they need no copy here. */
  private addGo(facts: GoFileFacts): void {
    const dir = path.posix.dirname(facts.path);
    const pending = this.goPending.get(dir);
    if (pending) pending.push(facts);
    else this.goPending.set(dir, [facts]);
  }

  private addNative(rel: string): void {
    this.native = sample(this.nativeSample, rel, this.native);
  }

  /** Reads what requirements files include (`-r base.txt`), then runs the per-ecosystem analysers; findings deduplicated and sorted by place. */
  async finish(readInclude: IncludeReader, maven?: TransitiveOptions): Promise<Finding[]> {
    const { findings, kb } = this;
    await this.addRequirementIncludes(readInclude);
    for (const facts of this.goPending.values()) this.goSources.addPackages(facts);
    this.goPending.clear();
    findings.push(...this.asmFindings.filter((f) => !hasArm64Twin(f.evidence.file!, this.asmPaths)));
    const guarded = (fn: () => Finding[], what: string) => {
      try {
        findings.push(...fn());
      } catch (err) {
        findings.push(unreadable(what, `analysis failed: ${(err as Error).message}`));
      }
    };
    const jvm = this.jvmTexts.sort((a, b) => a.path.localeCompare(b.path));
    const jvmSources = this.jvmSourcesPartial
      ? undefined
      : { count: this.jvmSources.count, epoll: this.jvmSources.epoll.sort((a, b) => a.file.localeCompare(b.file)) };
    if (jvm.length) guarded(() => analyseJvm(jvm, kb, jvmSources), 'JVM build files');
    if (jvm.length && maven) {
      const below = await transitiveJvmFindings(jvm, kb, maven, jvmSources);
      // "Nothing known to break" spoke of the build files alone; a culprit below them takes it back.
      // A version "not known here" that the tree's management settles is replaced by the settled finding.
      const settled = (f: Finding) =>
        f.severity === 'warning' &&
        below.some((b) => b.id === f.id && b.evidence.file === f.evidence.file && b.evidence.line === f.evidence.line);
      const culprit = below.some((f) => f.severity !== 'info');
      findings.splice(0, findings.length, ...findings.filter((f) => !settled(f) && !(culprit && f.id === 'jvm.scanned')));
      findings.push(...below);
    }
    if (this.declared.python.length) guarded(() => judgePython(this.declared.python, kb), 'Python dependency files');
    if (this.declared.node.length) guarded(() => judgeNode(this.declared.node, kb), 'Node dependency files');
    if (this.goMods.length || this.goSources.files) {
      const mods = this.goMods.sort((a, b) => a.path.localeCompare(b.path));
      const buildFiles = this.goBuild.sort((a, b) => a.path.localeCompare(b.path));
      guarded(() => analyseGo({ mods, sources: this.goSources, buildFiles }, kb), 'Go files');
    }
    findings.push(...analysePrebuiltBinaries(this.binaries));
    // Native code outside the service (tests, vendored code, a C client of a JVM project) is grouped apart.
    findings.splice(0, findings.length, ...contextualiseNative(findings, this.jniFacts, this.jvmBuildPaths));
    if (this.native > 0 && !findings.some((f) => f.ecosystem === 'native' && f.severity !== 'info')) {
      findings.push(scannedInfo('native', `C/C++ sources scanned (${this.native} files)`, this.nativeSample, this.native));
    }
    if (this.manifests > 0 && !findings.some((f) => f.ecosystem === 'system')) {
      findings.push(
        scannedInfo(
          'system',
          `Kubernetes/Compose manifests scanned for system components (${this.manifests} files)`,
          this.manifestSample,
          this.manifests,
        ),
      );
    }
    findings.push(...this.unanalysed());
    return dedupe(findings.map((f) => this.asDependencyGap(f))).sort(byLocation);
  }

  /** A dependency file that could not be read leaves its dependencies unknown, so the verdict waits for it. */
  private asDependencyGap(f: Finding): Finding {
    if (f.id !== 'file.unreadable' || !f.evidence.file || !kindsOf(f.evidence.file).some((k) => dependencyKinds.has(k))) return f;
    return {
      ...f,
      severity: 'unknown',
      fix: 'Fix the file or make it readable: until it is analysed, the dependencies it declares are unknown and the verdict cannot be ready.',
    };
  }

  /** Found but never read (unanalysedFiles): unknown unless a file beside it was analysed for the same ecosystem. */
  private unanalysed(): Finding[] {
    const out: Finding[] = [];
    const analysed = (ecosystem: DepEcosystem, dir: string) => [...this.handed[ecosystem]].some((f) => path.posix.dirname(f) === dir);
    for (const rel of [...new Set(this.unanalysedPaths)].sort()) {
      const base = path.posix.basename(rel);
      const u = unanalysedFiles.find((x) => x.name.test(base))!;
      const dir = path.posix.dirname(rel);
      // An analyser that learns to read the file takes it over (isPythonFile etc. then select it).
      if (this.handed[u.ecosystem].has(rel)) continue;
      if (base === 'Pipfile' && this.pipfileLocks.has(path.posix.join(dir, 'Pipfile.lock').replace(/^\.\//, ''))) continue;
      const beside = analysed(u.ecosystem, dir);
      out.push({
        id: `${u.ecosystem}.not-analysed`,
        severity: beside ? 'warning' : 'unknown',
        ecosystem: u.ecosystem,
        title: `${rel} was found but not analysed (archshift does not read ${u.what})${beside ? '; the dependency files beside it were' : ', so the dependencies it declares are unknown'}`,
        evidence: { file: rel },
        fix: "Check the dependencies it declares by hand (the built image's layers show native code: `archshift check --image`), or add a file archshift reads (a lockfile, requirements.txt).",
      });
    }
    return out;
  }

  /** `-r other.txt` may name files the selection did not pick (e.g. `base.txt`); read them too, once. */
  private async addRequirementIncludes(readInclude: IncludeReader): Promise<void> {
    const have = new Set(this.handed.python);
    for (let i = 0; i < this.includes.length; i++) {
      const { from, rels } = this.includes[i]!;
      for (const rel of rels) {
        if (have.has(rel)) continue;
        have.add(rel);
        if (rel.startsWith('..')) continue; // outside the checkout
        const { text, problem } = await readInclude(rel, from);
        if (problem) this.findings.push(problem);
        if (text !== undefined) {
          this.handed.python.add(rel);
          this.addPython({ path: rel, text }); // its own includes join the list, so nested -r works
        }
      }
    }
  }
}

/**
 * A deep copy of what the scan keeps from a file. Strings cut from a text (an excerpt, a name matched in
 * it) are slices that hold the whole text alive in V8; the copy lets the text go.
 */
function own<T>(kept: T): T {
  return structuredClone(kept);
}

/** Keeps the first few paths (in path order) of a set only counted; returns the new count. */
function sample(kept: string[], rel: string, count: number): number {
  if (kept.length < 5 || rel < kept[kept.length - 1]!) {
    kept.push(rel);
    kept.sort().splice(5);
  }
  return count + 1;
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.id}\u0000${f.evidence.file}\u0000${f.evidence.line}\u0000${f.title}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function byLocation(a: Finding, b: Finding): number {
  return (
    a.ecosystem.localeCompare(b.ecosystem) ||
    (a.evidence.file ?? '').localeCompare(b.evidence.file ?? '') ||
    (a.evidence.line ?? 0) - (b.evidence.line ?? 0) ||
    a.id.localeCompare(b.id)
  );
}
