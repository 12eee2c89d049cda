// Walks a checkout and hands each file to the analyser for its kind. Only files some analyser reads are
// opened; dependency directories and VCS metadata are skipped; symlinks are never followed into
// directories (no loops); oversized, binary and malformed files become a "could not read" warning and
// the rest of the report stands. Every finding carries its ecosystem, for grouping in reports.
import { lstat, open, readFile, realpath, stat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Finding } from './report.ts';
import { builtinKnowledge, type KnowledgeBase } from './knowledge/load.ts';
import { scannedInfo, unreadable, type SourceFile } from './analysers/deps.ts';
import { analyseJarEntries, analyseJvm, isJvmFile } from './analysers/jvm.ts';
import { analysePython, isPythonFile, requirementIncludes } from './analysers/python.ts';
import { analyseNode, isNodeFile } from './analysers/node.ts';
import { analyseGo, extractGoFile, isGoBuildFile, type GoFileFacts } from './analysers/go.ts';
import {
  analyseAsmSource,
  analyseNativeBuildFile,
  analyseNativeSource,
  analysePrebuiltBinaries,
  isAsmSource,
  isNativeBuildFile,
  isNativeSource,
} from './analysers/native.ts';
import { analyseManifest } from './analysers/system.ts';

export interface ScanOptions {
  knowledge?: KnowledgeBase;
  /** Larger text files are reported as unreadable instead of read (default 16 MiB). */
  maxFileBytes?: number;
  /** Files read at once (default 32). */
  concurrency?: number;
}

/** Directories that hold installed or generated code, not the service's own. */
const skippedDirs = new Set([
  '.git', '.hg', '.svn', 'CVS', 'node_modules', 'bower_components', 'vendor', '.venv', 'venv', '__pycache__',
  '.tox', '.nox', '.mypy_cache', '.pytest_cache', '.gradle', '.idea', '.vscode', 'target', 'build', 'dist', '.terraform',
  '.next', '.cache', 'site-packages',
]);

type Kind = 'jvm' | 'python' | 'node' | 'go-mod' | 'go-source' | 'go-build' | 'native' | 'native-build' | 'asm' | 'yaml' | 'jar' | 'elf';

function kindsOf(rel: string): Kind[] {
  const base = path.posix.basename(rel);
  const kinds: Kind[] = [];
  if (isJvmFile(rel)) kinds.push('jvm');
  if (isPythonFile(rel)) kinds.push('python');
  if (isNodeFile(rel)) kinds.push('node');
  if (base === 'go.mod') kinds.push('go-mod');
  if (rel.endsWith('.go')) kinds.push('go-source');
  if (isGoBuildFile(rel)) kinds.push('go-build');
  if (isNativeSource(rel)) kinds.push('native');
  if (isNativeBuildFile(rel)) kinds.push('native-build');
  if (isAsmSource(rel)) kinds.push('asm');
  if (/\.ya?ml$/i.test(base) && !/^(pnpm-lock|\.pre-commit|mkdocs|codecov|\.gitlab-ci)/.test(base) && !rel.includes('.github/')) kinds.push('yaml');
  if (/\.(jar|war|ear)$/i.test(base)) kinds.push('jar');
  if (/\.(so(\.\d+)*|node)$/.test(base)) kinds.push('elf');
  return kinds;
}

interface Walked {
  files: { rel: string; abs: string }[];
  problems: Finding[];
}

async function walk(root: string, maxEntries: number): Promise<Walked> {
  const files: Walked['files'] = [];
  const problems: Finding[] = [];
  const rootReal = await realpath(root);
  const queue: string[] = [''];
  while (queue.length > 0) {
    const relDir = queue.pop()!;
    let entries;
    try {
      entries = await readdir(path.join(root, relDir), { withFileTypes: true });
    } catch (err) {
      problems.push(unreadable(relDir || '.', `cannot list directory (${(err as NodeJS.ErrnoException).code ?? err})`));
      continue;
    }
    for (const e of entries) {
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      const abs = path.join(root, rel);
      if (e.isDirectory()) {
        if (!skippedDirs.has(e.name)) queue.push(rel);
        continue;
      }
      if (e.isSymbolicLink()) {
        if (kindsOf(rel).length === 0) continue;
        try {
          const target = await stat(abs);
          const real = await realpath(abs);
          // Directories behind links are not entered (that is how loops happen); files outside the checkout are not ours.
          if (!target.isFile() || !(real + path.sep).startsWith(rootReal + path.sep)) continue;
          files.push({ rel, abs: real });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          problems.push(unreadable(rel, code === 'ELOOP' ? 'symlink loop' : `broken symlink (${code ?? err})`));
        }
        continue;
      }
      if (!e.isFile() || kindsOf(rel).length === 0) continue;
      files.push({ rel, abs });
      if (files.length > maxEntries) {
        problems.push(unreadable(rel, `more than ${maxEntries} candidate files; the rest were not scanned`));
        return { files, problems };
      }
    }
  }
  return { files, problems };
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

async function readText(abs: string, rel: string, maxBytes: number): Promise<{ text?: string; problem?: Finding }> {
  try {
    const info = await lstat(abs);
    if (info.size > maxBytes) {
      return { problem: unreadable(rel, `larger than ${Math.round(maxBytes / 1048576)} MiB (${Math.round(info.size / 1048576)} MiB)`) };
    }
    const buf = await readFile(abs);
    if (buf.subarray(0, 8192).includes(0)) return { problem: unreadable(rel, 'binary content where text was expected') };
    return { text: buf.toString('utf8') };
  } catch (err) {
    return { problem: unreadable(rel, `${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`) };
  }
}

/** Entry names from a zip's central directory (no decompression). */
export async function zipEntryNames(abs: string): Promise<string[]> {
  const fh = await open(abs, 'r');
  try {
    const { size } = await fh.stat();
    const tailSize = Math.min(size, 65557);
    const tail = Buffer.alloc(tailSize);
    await fh.read(tail, 0, tailSize, size - tailSize);
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
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
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
  } finally {
    await fh.close();
  }
}

async function elfMachine(abs: string): Promise<'x86-64' | 'aarch64' | 'other' | undefined> {
  const fh = await open(abs, 'r');
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await fh.read(head, 0, 20, 0);
    if (bytesRead < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
    return machine === 0x3e ? 'x86-64' : machine === 0xb7 ? 'aarch64' : 'other';
  } finally {
    await fh.close();
  }
}

export async function scanCheckout(root: string, options: ScanOptions = {}): Promise<Finding[]> {
  const kb = options.knowledge ?? builtinKnowledge();
  const maxBytes = options.maxFileBytes ?? 16 * 1024 * 1024;
  const { files, problems } = await walk(root, 500_000);
  const findings: Finding[] = [...problems];
  const allPaths = new Set(files.map((f) => f.rel));
  const goDirs = new Set(files.filter((f) => f.rel.endsWith('.go')).map((f) => path.posix.dirname(f.rel)));

  const texts: Record<'jvm' | 'python' | 'node' | 'go-mod' | 'go-build', SourceFile[]> = {
    jvm: [], python: [], node: [], 'go-mod': [], 'go-build': [],
  };
  const goFacts: GoFileFacts[] = [];
  const nativeFiles: string[] = [];
  const binaries: { file: string; machine: 'x86-64' | 'aarch64' | 'other' }[] = [];
  const manifests: string[] = [];

  await mapLimit(files, options.concurrency ?? 32, async ({ rel, abs }) => {
    const kinds = kindsOf(rel);
    try {
      if (kinds.includes('jar')) {
        findings.push(...analyseJarEntries(rel, await zipEntryNames(abs)));
        return;
      }
      if (kinds.includes('elf')) {
        const machine = await elfMachine(abs);
        if (machine) binaries.push({ file: rel, machine });
        return;
      }
      const { text, problem } = await readText(abs, rel, maxBytes);
      if (problem || text === undefined) {
        if (problem) findings.push(problem);
        return;
      }
      const file = { path: rel, text };
      for (const k of kinds) {
        if (k === 'jvm' || k === 'python' || k === 'node' || k === 'go-mod' || k === 'go-build') texts[k].push(file);
        else if (k === 'go-source') goFacts.push(extractGoFile(rel, text));
        else if (k === 'asm') {
          if (goDirs.has(path.posix.dirname(rel)) && rel.endsWith('.s')) goFacts.push(extractGoFile(rel, text));
          else {
            nativeFiles.push(rel);
            findings.push(...analyseAsmSource(rel, text, allPaths));
          }
        } else if (k === 'native') {
          nativeFiles.push(rel);
          findings.push(...analyseNativeSource(rel, text));
        } else if (k === 'native-build') {
          findings.push(...analyseNativeBuildFile(rel, text));
        } else if (k === 'yaml') {
          const scan = analyseManifest(rel, text, kb);
          findings.push(...scan.findings);
          if (scan.isManifest) manifests.push(rel);
        }
      }
    } catch (err) {
      findings.push(unreadable(rel, (err as Error).message));
    }
  });

  await addRequirementIncludes(root, texts.python, maxBytes, findings);
  const guarded = (fn: () => Finding[], what: string) => {
    try {
      findings.push(...fn());
    } catch (err) {
      findings.push(unreadable(what, `analysis failed: ${(err as Error).message}`));
    }
  };
  const sorted = (list: SourceFile[]) => list.sort((a, b) => a.path.localeCompare(b.path));
  if (texts.jvm.length) guarded(() => analyseJvm(sorted(texts.jvm), kb), 'JVM build files');
  if (texts.python.length) guarded(() => analysePython(sorted(texts.python), kb), 'Python dependency files');
  if (texts.node.length) guarded(() => analyseNode(sorted(texts.node), kb), 'Node dependency files');
  if (texts['go-mod'].length || goFacts.length) {
    guarded(() => analyseGo({ mods: sorted(texts['go-mod']), sources: goFacts, buildFiles: sorted(texts['go-build']) }, kb), 'Go files');
  }
  findings.push(...analysePrebuiltBinaries(binaries));
  if (nativeFiles.length > 0 && !findings.some((f) => f.ecosystem === 'native' && f.severity !== 'info')) {
    findings.push(scannedInfo('native', `C/C++ sources scanned (${nativeFiles.length} files)`, nativeFiles.sort()));
  }
  if (manifests.length > 0 && !findings.some((f) => f.ecosystem === 'system')) {
    findings.push(scannedInfo('system', `Kubernetes/Compose manifests scanned for system components (${manifests.length} files)`, manifests.sort()));
  }
  return dedupe(findings).sort(byLocation);
}

/** `-r other.txt` may name files the walk did not pick (e.g. `base.txt`); read them too, once. */
async function addRequirementIncludes(root: string, python: SourceFile[], maxBytes: number, findings: Finding[]): Promise<void> {
  const have = new Set(python.map((f) => f.path));
  const rootReal = await realpath(root);
  for (let i = 0; i < python.length; i++) {
    for (const rel of requirementIncludes(python[i]!)) {
      if (have.has(rel)) continue;
      have.add(rel);
      const abs = path.join(root, rel);
      if (rel.startsWith('..')) continue; // outside the checkout
      try {
        const real = await realpath(abs);
        if (!(real + path.sep).startsWith(rootReal + path.sep)) continue;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        findings.push(unreadable(rel, code === 'ELOOP' ? 'symlink loop' : `included by ${python[i]!.path} but missing (${code})`));
        continue;
      }
      const { text, problem } = await readText(abs, rel, maxBytes);
      if (problem) findings.push(problem);
      if (text !== undefined) python.push({ path: rel, text }); // scanned in turn, so nested -r works
    }
  }
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
