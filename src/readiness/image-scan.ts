// Looks inside the service's own container image for what a checkout cannot show: jars (copied in by
// the build, pulled by Maven at build time) that bundle native code for x86-64 only. Layers are streamed
// (gunzip, then a minimal tar reader), never written to disk; only candidate files are buffered, and
// they go to the same NativeScan as the checkout's files. Whatever cannot be read is said: a failed
// download is "unknown" (never "ready"), an unreadable or skipped layer is a warning naming it.
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Platform } from '../images/types.ts';
import type { Finding } from './report.ts';
import { unreadable } from './analysers/native-deps.ts';
import { analyseJarEntries } from './analysers/jvm.ts';
import { NativeScan, elfMachineOf, kindsOf, zipEntryNamesOf, type Machine } from './scan.ts';

export interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size?: number;
}

/** What the image config says the container runs (OCI config `Entrypoint`, `Cmd`, `Env`, `WorkingDir`). */
export interface ImageRunConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
}

export interface ImageLayers {
  /** Digest of the image manifest whose layers these are. */
  digest: string;
  platform: Platform;
  /** Bottom layer first. */
  layers: LayerDescriptor[];
  /** Read when a non-amd64 variant was asked for (the arm64 binary check needs the entrypoint). */
  config?: ImageRunConfig;
}

/** What the scan needs from the registry adapter (RegistryClient implements it). */
export interface ImageLayerReader {
  /**
   * The linux/amd64 (or only) image of `reference`, or with `architecture` that variant (with its run
   * config); throws with a reason, with `noVariant: true` when the index lists no such platform.
   */
  imageLayers(reference: string, architecture?: string): Promise<ImageLayers>;
  /** Streams one blob; throws with a reason when it cannot start. */
  openBlob(reference: string, digest: string): Promise<Readable>;
  /**
   * What a scan learnt from content named by a digest (a layer, an image manifest), kept across runs:
   * those bytes never change. Optional: without it every scan reads the layers again.
   */
  contentFact?<T>(kind: string, digest: string): T | undefined;
  rememberContentFact?(kind: string, digest: string, fact: unknown): Promise<void>;
}

export function isImageLayerReader(value: unknown): value is ImageLayerReader {
  const v = value as Partial<ImageLayerReader> | undefined;
  return typeof v?.imageLayers === 'function' && typeof v.openBlob === 'function';
}

export interface ImageScanLimits {
  /** Layer bytes downloaded (compressed), all layers together. */
  maxTotalBytes: number;
  /** Tar entries read, all layers together. */
  maxEntries: number;
  /** Larger jars are skipped (their central directory needs the whole file in memory). */
  maxArchiveBytes: number;
}

export const defaultImageScanLimits: ImageScanLimits = {
  maxTotalBytes: 2 * 1024 ** 3,
  maxEntries: 1_000_000,
  maxArchiveBytes: 64 * 1024 ** 2,
};

/** Enough of an ELF file for its machine (elfMachineOf reads 20 bytes). */
const ELF_HEAD_BYTES = 64;

type Found = { kind: 'jar'; findings: Finding[] } | { kind: 'elf'; machine: Machine | undefined } | { kind: 'problem'; finding: Finding };

/** What one fully read layer holds for this scan: kept by its digest, so a layer is read once. */
interface LayerFacts {
  bytes: number;
  entries: number;
  /** Candidate files it adds or replaces; null: replaced by something not read (a link, a skipped jar). */
  changes: Array<[path: string, found: Found | null]>;
  whiteouts: string[];
  opaqueDirs: string[];
  skipped: string[];
}

/** Bumped when what a layer's facts hold changes, so facts of an older archshift are not read. */
const FACTS_VERSION = 1;

class LimitReached extends Error {}

/**
 * Scans the layers of `reference` (the image that runs today, linux/amd64) for jars bundling x86-64-only
 * native code. Loose ELF libraries are judged only in a non-amd64 image: in an amd64 image they are
 * expected to be x86-64 and are rebuilt by the arm64 build. Never throws.
 */
export async function scanImageLayers(
  reader: ImageLayerReader,
  reference: string,
  limits: ImageScanLimits = defaultImageScanLimits,
): Promise<Finding[]> {
  let image: ImageLayers;
  try {
    image = await reader.imageLayers(reference);
  } catch (err) {
    return [notScanned(reference, (err as Error).message)];
  }
  const judgeLooseBinaries = image.platform.architecture !== 'amd64';
  const files = new Map<string, Found>();
  const skipped: string[] = [];
  const usage = { bytes: 0, entries: 0 };

  for (const [i, layer] of image.layers.entries()) {
    const label = `layer ${i + 1} (${layer.digest.slice(0, 19)})`;
    if (usage.bytes >= limits.maxTotalBytes || usage.entries >= limits.maxEntries) {
      skipped.push(`${label}: the scan limit was already reached`);
      continue;
    }
    const compression = compressionOf(layer.mediaType);
    if (compression !== 'gzip' && compression !== 'none') {
      skipped.push(
        compression === 'zstd'
          ? `${label} is zstd-compressed, which archshift cannot read`
          : `${label} has media type ${layer.mediaType || '(none)'}, not a filesystem layer archshift reads`,
      );
      continue;
    }
    const factKind = `jar-scan.v${FACTS_VERSION}.${limits.maxArchiveBytes}${judgeLooseBinaries ? '+elf' : ''}`;
    const known = reader.contentFact?.<LayerFacts>(factKind, layer.digest);
    if (known && usage.bytes + known.bytes <= limits.maxTotalBytes && usage.entries + known.entries <= limits.maxEntries) {
      usage.bytes += known.bytes;
      usage.entries += known.entries;
      skipped.push(...known.skipped);
      apply(files, known.whiteouts, known.opaqueDirs, known.changes);
      continue;
    }
    let source: Readable;
    try {
      source = await reader.openBlob(reference, layer.digest);
    } catch (err) {
      return [notScanned(reference, `${label} could not be downloaded: ${(err as Error).message}`)];
    }
    const start = { bytes: usage.bytes, entries: usage.entries, skipped: skipped.length };
    const changes = new Map<string, Found | null>();
    const whiteouts: string[] = [];
    const opaqueDirs: string[] = [];
    // Which stage failed first: a broken download is "unknown", undecodable bytes are a skipped layer.
    let failed: { at: 'download' | 'decode'; err: Error } | undefined;
    source.once('error', (err) => (failed ??= { at: 'download', err }));
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        usage.bytes += chunk.length;
        done(usage.bytes > limits.maxTotalBytes ? new LimitReached(`more than ${mib(limits.maxTotalBytes)} MiB of layers`) : null, chunk);
      },
    });
    const consume = async (tar: AsyncIterable<Buffer>) => {
      const want = (path: string, size: number): number => {
        const kinds = kindsOf(path);
        if (kinds.includes('jar')) {
          if (size <= limits.maxArchiveBytes) return size;
          skipped.push(`${path}: ${mib(size)} MiB, more than the ${mib(limits.maxArchiveBytes)} MiB read per archive`);
          changes.set(path, null);
        } else if (kinds.includes('elf') && judgeLooseBinaries) return ELF_HEAD_BYTES;
        return 0;
      };
      for await (const { path, type, data } of tarEntries(tar, want)) {
        if (++usage.entries > limits.maxEntries) throw new LimitReached(`more than ${limits.maxEntries} files in layers`);
        const base = path.slice(path.lastIndexOf('/') + 1);
        const dir = path.slice(0, Math.max(0, path.lastIndexOf('/')));
        if (base === '.wh..wh..opq') opaqueDirs.push(dir);
        else if (base.startsWith('.wh.')) whiteouts.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
        else if (!isCandidate(path)) continue;
        else if (type !== 'file' || !data)
          changes.set(path, null); // replaced by something not read
        else if (kindsOf(path).includes('jar')) {
          try {
            changes.set(path, { kind: 'jar', findings: analyseJarEntries(path, await zipEntryNamesOf(data)) });
          } catch (err) {
            changes.set(path, { kind: 'problem', finding: unreadable(path, (err as Error).message) });
          }
        } else changes.set(path, { kind: 'elf', machine: elfMachineOf(data.subarray(0, 20)) });
      }
    };
    const consumeOrFail = async (tar: AsyncIterable<Buffer>) => {
      try {
        await consume(tar);
      } catch (err) {
        failed ??= { at: 'decode', err: err as Error };
        throw err;
      }
    };
    let whole = true;
    try {
      if (compression === 'gzip') {
        const gunzip = createGunzip();
        gunzip.once('error', (err) => (failed ??= { at: 'decode', err }));
        await pipeline(source, meter, gunzip, consumeOrFail);
      } else await pipeline(source, meter, consumeOrFail);
    } catch (err) {
      whole = false;
      if (err instanceof LimitReached) skipped.push(`${label} and later layers: ${err.message}`);
      else if (failed?.at === 'download') return [notScanned(reference, `${label} broke off while downloading: ${failed.err.message}`)];
      else
        skipped.push(
          `${label} is not a readable ${compression === 'gzip' ? 'tar.gz' : 'tar'} (${(failed?.err ?? (err as Error)).message})`,
        );
    }
    apply(files, whiteouts, opaqueDirs, changes);
    if (whole && reader.rememberContentFact) {
      const facts: LayerFacts = {
        bytes: usage.bytes - start.bytes,
        entries: usage.entries - start.entries,
        changes: [...changes],
        whiteouts,
        opaqueDirs,
        skipped: skipped.slice(start.skipped),
      };
      await reader.rememberContentFact(factKind, layer.digest, facts);
    }
  }

  const scan = new NativeScan();
  for (const [file, found] of [...files.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (found.kind === 'jar') scan.report(...found.findings);
    else if (found.kind === 'elf') scan.addBinary(file, found.machine);
    else scan.report(found.finding);
  }
  // Renderers show `file` alone, so the title says the file is inside the image, not in the checkout.
  const findings = (await scan.finish(async () => ({}))).map((f) => ({
    ...f,
    title: `${f.title} (in image ${reference})`,
    evidence: { ...f.evidence, image: reference },
  }));
  if (skipped.length) {
    findings.push({
      id: 'native.image-scan-partial',
      severity: 'warning',
      ecosystem: 'native',
      title: `Part of image ${reference} was not scanned for x86-only native code: ${skipped.slice(0, 5).join('; ')}${skipped.length > 5 ? `; and ${skipped.length - 5} more` : ''}`,
      evidence: { image: reference, digest: image.digest },
      fix: 'Check the skipped files by hand, or rebuild the image with gzip layers; the rest of the report stands.',
    });
  }
  return findings;
}

/** A layer's whiteouts hide what lower layers put there; its own files then land on top. */
function apply(files: Map<string, Found>, whiteouts: string[], opaqueDirs: string[], changes: Iterable<[string, Found | null]>): void {
  const hidden = (p: string) =>
    whiteouts.some((w) => p === w || p.startsWith(`${w}/`)) || opaqueDirs.some((d) => !d || p.startsWith(`${d}/`));
  for (const p of [...files.keys()]) if (hidden(p)) files.delete(p);
  for (const [p, found] of changes) {
    if (found) files.set(p, found);
    else files.delete(p);
  }
}

function notScanned(reference: string, reason: string): Finding {
  return {
    id: 'native.image-not-scanned',
    severity: 'unknown',
    ecosystem: 'native',
    title: `The layers of image ${reference} could not be scanned for x86-only native code: ${reason}`,
    evidence: { image: reference },
    fix: 'Give archshift pull access to the image (registry credentials), or set readiness.scanImageLayers: false to skip this check.',
  };
}

export function compressionOf(mediaType: string): 'gzip' | 'none' | 'zstd' | 'other' {
  if (/zstd/.test(mediaType)) return 'zstd';
  if (/tar[.+]gzip$|tar\.gz$/.test(mediaType)) return 'gzip';
  if (/\.tar$|layer\.v1\.tar$/.test(mediaType)) return 'none';
  return 'other';
}

const isCandidate = (path: string) => kindsOf(path).some((k) => k === 'jar' || k === 'elf');

const mib = (bytes: number) => Math.round(bytes / 1024 ** 2);

export interface TarEntry {
  /** Without a leading `./` or `/`. */
  path: string;
  type: 'file' | 'other';
  /** A symbolic or hard link's target, as written. */
  link?: string;
  /** The first `want(path, size)` bytes of a regular file, when it wanted any. */
  data?: Buffer;
}

/** Long names and pax records are small; anything bigger is not a header extension we need. */
const MAX_META_BYTES = 1024 * 1024;

/**
 * A streaming tar reader: ustar headers in 512-byte blocks, GNU long names (`././@LongLink`, type L)
 * and pax `path=` records (type x). `want` says how many leading bytes of a regular file to keep.
 */
export async function* tarEntries(
  source: AsyncIterable<Buffer>,
  want: (path: string, size: number, mode: number) => number,
): AsyncGenerator<TarEntry> {
  let pending: Buffer = Buffer.alloc(0);
  let skip = 0; // data not kept plus block padding still to pass over
  let current: { path: string; kind: string; link?: string; remaining: number; keep: number; parts: Buffer[]; padding: number } | undefined;
  let longName: string | undefined;
  let paxPath: string | undefined;
  let paxLink: string | undefined;
  for await (const chunk of source) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    for (;;) {
      if (current) {
        const take = Math.min(current.remaining, pending.length - off);
        const kept = current.parts.reduce((n, p) => n + p.length, 0);
        if (kept < current.keep) current.parts.push(Buffer.from(pending.subarray(off, off + Math.min(take, current.keep - kept))));
        off += take;
        current.remaining -= take;
        if (current.remaining > 0) break;
        const { path, kind, link, parts, padding } = current;
        current = undefined;
        skip = padding;
        const data = Buffer.concat(parts);
        if (kind === 'L') longName = data.toString('utf8').replace(/\0.*$/s, '');
        else if (kind === 'x') {
          const records = paxRecords(data);
          paxPath = records.path ?? paxPath;
          paxLink = records.linkpath ?? paxLink;
        } else if (kind !== 'g')
          yield {
            path,
            type: kind === 'file' ? 'file' : 'other',
            ...(parts.length ? { data } : {}),
            ...(link !== undefined ? { link } : {}),
          };
        continue;
      }
      if (skip > 0) {
        const s = Math.min(skip, pending.length - off);
        off += s;
        skip -= s;
        if (skip > 0) break;
        continue;
      }
      if (pending.length - off < 512) break;
      const header = pending.subarray(off, off + 512);
      off += 512;
      if (header.every((b) => b === 0)) continue; // end-of-archive blocks
      const entry = parseHeader(header);
      const rawPath = paxPath ?? longName ?? entry.name;
      paxPath = longName = undefined;
      const path = rawPath.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
      const kind =
        entry.type === 'L' || entry.type === 'x' || entry.type === 'g'
          ? entry.type
          : entry.type === '0' || entry.type === '\0' || entry.type === '7'
            ? 'file'
            : 'other';
      const keep =
        kind === 'file'
          ? Math.min(entry.size, want(path, entry.size, entry.mode))
          : kind === 'other'
            ? 0
            : Math.min(entry.size, MAX_META_BYTES);
      const link = entry.type === '1' || entry.type === '2' ? (paxLink ?? entry.link) : undefined;
      paxLink = undefined;
      current = { path, kind, link, remaining: entry.size, keep, parts: [], padding: (512 - (entry.size % 512)) % 512 };
    }
    pending = pending.subarray(off);
  }
  if (current || skip > 0) throw new Error('the tar archive ends in the middle of a file');
}

function parseHeader(header: Buffer): { name: string; size: number; type: string; mode: number; link: string } {
  const field = (start: number, length: number) => header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  const checksum = parseInt(field(148, 8).trim(), 8);
  if (checksum !== sum) throw new Error('not a tar archive (bad header checksum)');
  // Sizes of 8 GiB and more are base-256 (high bit set); no jar we read is that big, but skipping must be exact.
  const size = header[124]! & 0x80 ? Number(header.readBigUInt64BE(128)) : parseInt(field(124, 12).trim() || '0', 8);
  const name = field(0, 100);
  const prefix = field(257, 6) === 'ustar' ? field(345, 155) : '';
  return {
    name: prefix ? `${prefix}/${name}` : name,
    size,
    type: String.fromCharCode(header[156]!),
    mode: parseInt(field(100, 8).trim() || '0', 8),
    link: field(157, 100),
  };
}

/** `<length> <key>=<value>\n` records of a pax extended header. */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let p = 0;
  while (p < data.length) {
    const space = data.indexOf(0x20, p);
    const length = parseInt(data.toString('utf8', p, space), 10);
    if (space < 0 || !(length > 0)) break;
    const record = data.toString('utf8', space + 1, p + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    p += length;
  }
  return out;
}
