// Is the arm64 variant of an image really arm64? A mislabelled build can list linux/arm64 in its index
// and ship x86-64 binaries under it (exec format error at start). This reads the arm64 variant's config
// (entrypoint, cmd, PATH, working dir), then streams its layers from the top down (never to disk) and
// reads the ELF header of the program the container starts (following symlinks and a script's
// interpreter) and of shared objects under the usual library paths, until the program is found.
// Bounded: the layers down to the one holding the program, and a byte cap; past it, "unknown" with why.
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Finding } from './report.ts';
import { compressionOf, tarEntries, type ImageLayerReader, type ImageLayers } from './image-scan.ts';
import { elfMachineOf } from './scan.ts';

export interface ArchVerifyLimits {
  /** Compressed layer bytes read in all (default 512 MiB). */
  maxTotalBytes: number;
  /** x86-64 files named one by one; the rest are counted (default 10). */
  maxListed: number;
}

export const defaultArchVerifyLimits: ArchVerifyLimits = { maxTotalBytes: 512 * 1024 ** 2, maxListed: 10 };

/** Head bytes kept per candidate: an ELF header is 64 bytes; a `#!` line needs a little more. */
const HEAD_BYTES = 128;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const LIB_DIRS = ['lib', 'lib64', 'usr/lib', 'usr/lib64', 'usr/local/lib'];
const SHARED_OBJECT = /\.so(\.\d+)*$/;
const MAX_LINK_HOPS = 8;

type Seen = { kind: 'file'; head: Buffer } | { kind: 'link'; target: string } | { kind: 'gone' };

class CapReached extends Error {}

/** `/usr/lib/x/libc.so.6` and friends: shared objects the program may load. */
function isLibrary(path: string): boolean {
  return SHARED_OBJECT.test(path) && LIB_DIRS.some((d) => path.startsWith(`${d}/`));
}

/** The program a container starts: the entrypoint's first word, else the cmd's; a shell's `-c` command too. */
export function programsOf(config: NonNullable<ImageLayers['config']>): string[] {
  const argv = [...(config.entrypoint ?? []), ...(config.entrypoint?.length ? [] : (config.cmd ?? []))];
  const first = argv[0];
  if (!first) return [];
  const out = [first];
  // `sh -c "exec /app/server --flag"`: the shell starts the server.
  if (/(^|\/)(ba|da)?sh$/.test(first) && argv[1] === '-c' && argv[2]) {
    const word = argv[2]
      .trim()
      .replace(/^exec\s+/, '')
      .split(/\s+/)[0];
    if (word && !/[$`|;&<>]/.test(word)) out.push(word);
  }
  return out;
}

/** Candidate paths (no leading `/`) for a program name: as given, or through PATH. */
function candidates(program: string, config: NonNullable<ImageLayers['config']>): string[] {
  if (program.includes('/')) return [posix.resolve('/', config.workingDir || '/', program).slice(1)];
  const path = config.env?.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  return path
    .split(':')
    .filter(Boolean)
    .map((d) => posix.join(d, program).replace(/^\/+/, ''));
}

export async function verifyArm64Binaries(
  reader: ImageLayerReader,
  reference: string,
  limits: ArchVerifyLimits = defaultArchVerifyLimits,
): Promise<Finding[]> {
  let image: ImageLayers;
  try {
    image = await reader.imageLayers(reference, 'arm64');
  } catch (err) {
    // No arm64 variant is the registry check's finding, not this one's.
    if ((err as { noVariant?: boolean }).noVariant) return [];
    return [unverified(reference, 'unknown', `its arm64 variant could not be read: ${(err as Error).message}`)];
  }
  if (image.platform.architecture !== 'arm64') return [];
  // The verdict on an image digest never changes; one that could not be reached (unknown) is not kept.
  const kind = `arm64-verify.v1.${limits.maxTotalBytes}.${limits.maxListed}`;
  const known = reader.contentFact?.<{ reference: string; findings: Finding[] }>(kind, image.digest);
  if (known?.reference === reference) return known.findings;
  const findings = await verifyLayers(reader, reference, image, limits);
  if (!findings.some((f) => f.severity === 'unknown')) await reader.rememberContentFact?.(kind, image.digest, { reference, findings });
  return findings;
}

async function verifyLayers(reader: ImageLayerReader, reference: string, image: ImageLayers, limits: ArchVerifyLimits): Promise<Finding[]> {
  const config = image.config ?? {};
  const programs = programsOf(config);
  if (!programs.length)
    return [unverified(reference, 'warning', 'its arm64 variant names no entrypoint or cmd, so no program was checked', image.digest)];

  // The effective file system, read from the top layer down: the first sight of a path wins.
  const seen = new Map<string, Seen>();
  const hidden: string[] = [];
  const wanted = new Set<string>();
  const want = (p: string) => {
    if (!seen.has(p)) wanted.add(p);
  };
  for (const program of programs) for (const c of candidates(program, config)) want(c);
  const isHidden = (p: string) => hidden.some((h) => p === h || p.startsWith(`${h}/`));
  let bytes = 0;
  let layersRead = 0;

  /** Follows links and interpreters; returns the resolved file, or what is still needed. */
  const resolve = (start: string): { file?: string; head?: Buffer; missing?: string } => {
    let p = start;
    for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
      const s = seen.get(p);
      if (!s) return { missing: p };
      if (s.kind === 'gone') return {};
      if (s.kind === 'file') return { file: p, head: s.head };
      p = posix.resolve('/', posix.dirname(`/${p}`), s.target).slice(1);
    }
    return {};
  };
  /** The file a program name runs: links followed, and a script's interpreter in its place. */
  const resolveProgram = (program: string): { file: string; head: Buffer } | undefined => {
    const r = candidates(program, config)
      .map(resolve)
      .find((x) => x.file);
    if (!r?.head) return undefined;
    const interpreter = shebangOf(r.head);
    if (!interpreter) return { file: r.file!, head: r.head };
    const inner = candidates(interpreter, config)
      .map(resolve)
      .find((x) => x.file);
    return inner?.head && !shebangOf(inner.head) ? { file: inner.file!, head: inner.head } : undefined;
  };
  // The last program is the one that runs in the end (the server a shell starts).
  const found = () => resolveProgram(programs.at(-1)!) !== undefined;

  for (let i = image.layers.length - 1; i >= 0 && !found(); i--) {
    const layer = image.layers[i]!;
    const compression = compressionOf(layer.mediaType);
    if (compression !== 'gzip' && compression !== 'none') {
      return [
        unverified(
          reference,
          'unknown',
          `layer ${i + 1} (${layer.digest.slice(0, 19)}) is ${compression === 'zstd' ? 'zstd-compressed' : `of media type ${layer.mediaType}`}, which archshift cannot read`,
          image.digest,
        ),
      ];
    }
    let source: Readable;
    try {
      source = await reader.openBlob(reference, layer.digest);
    } catch (err) {
      return [unverified(reference, 'unknown', `layer ${i + 1} could not be downloaded: ${(err as Error).message}`, image.digest)];
    }
    const layerSeen = new Map<string, Seen>();
    const layerHidden: string[] = [];
    const meter = new Transform({
      transform(chunk: Buffer, _e, done) {
        bytes += chunk.length;
        done(bytes > limits.maxTotalBytes ? new CapReached() : null, chunk);
      },
    });
    const consume = async (tar: AsyncIterable<Buffer>) => {
      // Executables too: a link's target may sit in the same layer, after it.
      const keep = (path: string, _size: number, mode: number) =>
        !seen.has(path) && !isHidden(path) && (wanted.has(path) || isLibrary(path) || (mode & 0o111) !== 0) ? HEAD_BYTES : 0;
      for await (const entry of tarEntries(tar, keep)) {
        const base = posix.basename(entry.path);
        const dir = posix.dirname(entry.path);
        if (base === '.wh..wh..opq') layerHidden.push(dir === '.' ? '' : dir);
        else if (base.startsWith('.wh.')) layerSeen.set(posix.join(dir, base.slice(4)), { kind: 'gone' });
        else if (entry.link !== undefined) layerSeen.set(entry.path, { kind: 'link', target: entry.link });
        else if (entry.type === 'file' && entry.data) layerSeen.set(entry.path, { kind: 'file', head: entry.data });
      }
    };
    try {
      if (compression === 'gzip') await pipeline(source, meter, createGunzip(), consume);
      else await pipeline(source, meter, consume);
    } catch (err) {
      const why =
        err instanceof CapReached
          ? `more than ${Math.round((limits.maxTotalBytes / 1024 ** 2) * 10) / 10} MiB of layers would have to be read`
          : `layer ${i + 1} could not be read (${(err as Error).message})`;
      return [unverified(reference, 'unknown', why, image.digest)];
    }
    layersRead++;
    for (const [p, s] of layerSeen) if (!seen.has(p) && !isHidden(p)) seen.set(p, s);
    hidden.push(...layerHidden);
    // Links and scripts name further files, maybe in lower layers.
    for (const program of programs) {
      for (const c of candidates(program, config)) {
        const r = resolve(c);
        if (r.missing) want(r.missing);
        const interpreter = r.head && shebangOf(r.head);
        if (interpreter) for (const p of candidates(interpreter, config)) want(p);
      }
    }
  }

  const programFiles = programs.map(resolveProgram).filter((f): f is { file: string; head: Buffer } => f !== undefined);
  if (!found()) {
    return [unverified(reference, 'warning', `the program it starts (${programs.at(-1)}) was not found in its arm64 layers`, image.digest)];
  }
  const libraries = [...seen.entries()]
    .filter(([p, s]) => s.kind === 'file' && isLibrary(p))
    .map(([file, s]) => ({ file, head: (s as { head: Buffer }).head }));
  const x86 = [...programFiles, ...libraries].filter((f) => elfMachineOf(f.head.subarray(0, 20)) === 'x86-64');
  const unique = [...new Map(x86.map((f) => [f.file, f])).values()];
  if (!unique.length) {
    return [
      {
        id: 'image.arm64-verified',
        severity: 'info',
        ecosystem: 'image',
        title: `The arm64 variant of ${reference} starts an arm64 program (/${programFiles[0]!.file}; ${libraries.length} shared object${libraries.length === 1 ? '' : 's'} read, ${layersRead} of ${image.layers.length} layer${image.layers.length === 1 ? '' : 's'})`,
        evidence: { image: reference, digest: image.digest },
      },
    ];
  }
  const listed = unique.slice(0, limits.maxListed).map((f) => ({
    id: 'image.arm64-mislabelled',
    severity: 'blocker' as const,
    ecosystem: 'image' as const,
    title: `The linux/arm64 variant of ${reference} holds an x86-64 binary, /${f.file}: pods on arm64 nodes fail with "exec format error"`,
    evidence: { image: reference, digest: image.digest, excerpt: `/${f.file}: ELF e_machine x86-64 (0x3e) under platform linux/arm64` },
    fix: 'Rebuild the arm64 image natively or with the right --platform/TARGETARCH (a cross-build copied the amd64 artefact), then push the index again.',
  }));
  if (unique.length > limits.maxListed) listed[listed.length - 1]!.title += ` (and ${unique.length - limits.maxListed} more x86-64 files)`;
  return listed;
}

/** The interpreter a `#!` script names (`/usr/bin/env python3` gives `python3`). */
function shebangOf(head: Buffer): string | undefined {
  if (head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  const words = head.toString('utf8', 2).split('\n')[0]!.trim().split(/\s+/);
  return posix.basename(words[0] ?? '') === 'env' ? words.find((w, i) => i > 0 && !w.startsWith('-')) : words[0];
}

function unverified(reference: string, severity: 'unknown' | 'warning', why: string, digest?: string): Finding {
  return {
    id: 'image.arm64-unverified',
    severity,
    ecosystem: 'image',
    title: `Whether the linux/arm64 variant of ${reference} really holds arm64 binaries is ${severity === 'unknown' ? 'unknown' : 'not verified'}: ${why}`,
    evidence: { image: reference, ...(digest ? { digest } : {}) },
    fix: 'Check the arm64 image by hand (`docker run --platform linux/arm64 <image> uname -m`), or set readiness.scanImageLayers: false to skip this check.',
  };
}
