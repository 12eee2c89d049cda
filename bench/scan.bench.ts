// Benchmark: the dependency scan (`scanCheckout`, what `archshift check <path>` runs over a checkout) on
// generated trees of 1k / 5k / 20k / 80k files shaped like real repositories (services with Go, Node,
// Python, JVM and C sources, lockfiles from 100 KB to a few MB, Dockerfiles, manifests, vendored
// `node_modules`/`vendor` folders, docs), beside a plain recursive read of the same tree (every file read
// once: the floor for time). Each side runs in its own child process (plain `node` on the built JS, no
// loader) so its peak RSS (`process.resourceUsage().maxRSS`) is its own; the sides alternate, pairs are
// repeated and medians reported with the spread. Goals: scan peak RSS ≤ 120 MB at 20k files and
// ≤ 200 MB at 80k; scan wall within 1.3× the plain read.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const builtScan = path.join(here, '../dist/src/readiness/scan.js');
const SIZES = [1_000, 5_000, 20_000, 80_000];
const PAIRS: Record<number, number> = { 1000: 5, 5000: 5, 20000: 3, 80000: 3 };
const GOALS_MB: Record<number, number> = { 20000: 120, 80000: 200 };
const WALL_GOAL = 1.3;

/** Deterministic pseudo-random numbers, so every run scans the same tree. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

const repeat = (line: (i: number) => string, bytes: number): string => {
  const parts: string[] = [];
  for (let i = 0, n = 0; n < bytes; i++) {
    const l = line(i);
    parts.push(l);
    n += l.length;
  }
  return parts.join('');
};

/** An npm v3 lockfile of `n` packages (a few of them natives the knowledge base knows), pretty-printed as npm writes it. */
function packageLock(n: number, seed: number): string {
  const packages: Record<string, unknown> = { '': { name: `svc-${seed}`, version: '1.0.0', dependencies: { express: '^4.18.2' } } };
  for (let i = 0; i < n; i++) {
    const name = i === 7 ? 'sharp' : i === 11 ? 'bcrypt' : `pkg-${seed}-${i}`;
    const version = i === 7 ? '0.29.3' : i === 11 ? '5.0.0' : `1.${i % 30}.${i % 7}`;
    packages[`node_modules/${name}`] = {
      version,
      resolved: `https://registry.npmjs.org/${name}/-/${name}-${version}.tgz`,
      integrity: `sha512-${Buffer.from(`${name}${version}${seed}`).toString('base64').repeat(3).slice(0, 86)}==`,
      dependencies: { [`pkg-${seed}-${(i + 1) % n}`]: '^1.0.0' },
      engines: { node: '>=14' },
    };
  }
  return JSON.stringify({ name: `svc-${seed}`, version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2);
}

function yarnLock(n: number, seed: number): string {
  return repeat(
    (i) =>
      `"yarn-${seed}-${i}@^2.${i % 9}.0":\n  version "2.${i % 9}.${i % 5}"\n  resolved "https://registry.yarnpkg.com/yarn-${seed}-${i}/-/yarn-${seed}-${i}-2.${i % 9}.${i % 5}.tgz#${'ab'.repeat(20)}"\n  integrity sha512-${'Q'.repeat(86)}==\n\n`,
    n * 220,
  );
}

const goSum = (n: number, seed: number) =>
  repeat(
    (i) =>
      `github.com/org${seed}/mod${i} v1.${i % 20}.0 h1:${'A'.repeat(43)}=\ngithub.com/org${seed}/mod${i} v1.${i % 20}.0/go.mod h1:${'B'.repeat(43)}=\n`,
    n * 180,
  );
const cargoLock = (n: number) =>
  repeat(
    (i) =>
      `[[package]]\nname = "crate-${i}"\nversion = "0.${i % 12}.3"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "${'c'.repeat(64)}"\n\n`,
    n * 170,
  );

interface Service {
  files: [string, string][];
}

/** One service of the monorepo: its ecosystem follows its index; about 1 in 12 carries a multi-MB lockfile. */
function service(i: number, budget: number): Service {
  const r = rng(i + 1);
  const files: [string, string][] = [];
  const add = (rel: string, text: string) => files.push([`services/svc-${i}/${rel}`, text]);
  const kind = ['go', 'node', 'python', 'jvm', 'node', 'go', 'native', 'python'][i % 8]!;
  const big = i % 12 === 5;
  add(
    'Dockerfile',
    `FROM ${kind === 'go' ? 'golang:1.22' : kind === 'node' ? 'node:20-alpine' : kind === 'python' ? 'python:3.12-slim' : 'eclipse-temurin:21'} AS build\nWORKDIR /src\nCOPY . .\nRUN make build\nFROM gcr.io/distroless/base-debian12\nCOPY --from=build /src/out /app\nENTRYPOINT ["/app/run"]\n`,
  );
  add(
    'k8s/deployment.yaml',
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-${i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/team/svc-${i}:1.${i}.0\n`,
  );
  add(
    'README.md',
    repeat((l) => `Notes on svc-${i}, line ${l}: how to run it locally and what it talks to.\n`, 3000),
  );
  add('Makefile', `build:\n\tgo build -o out/run ./...\n`);
  if (kind === 'go') {
    add(
      'go.mod',
      `module example.com/svc${i}\n\ngo 1.22\n\nrequire (\n\tgithub.com/klauspost/compress v1.17.0\n\tgolang.org/x/sys v0.20.0\n)\n`,
    );
    add('go.sum', goSum(big ? 6000 : 400, i));
  } else if (kind === 'node') {
    add(
      'package.json',
      JSON.stringify({ name: `svc-${i}`, version: '1.0.0', dependencies: { express: '^4.18.2', sharp: '^0.29.0' } }, null, 2),
    );
    add('package-lock.json', packageLock(big ? 9000 : 300, i));
    if (i % 3 === 0) add('web/yarn.lock', yarnLock(big ? 8000 : 400, i));
    if (i % 5 === 0)
      add(
        'tools/pnpm-lock.yaml',
        repeat((l) => `  /pnpm-${l}@1.0.${l % 9}:\n    resolution: {integrity: sha512-${'P'.repeat(40)}}\n`, 60_000),
      );
  } else if (kind === 'python') {
    add('requirements.txt', 'numpy==1.26.4\nrequests==2.31.0\ngrpcio==1.62.0\n');
    add('pyproject.toml', `[project]\nname = "svc-${i}"\nversion = "1.0.0"\ndependencies = ["requests>=2.31", "pydantic>=2"]\n`);
    add(
      'poetry.lock',
      repeat(
        (l) =>
          `[[package]]\nname = "py-${i}-${l}"\nversion = "1.${l % 10}.0"\ndescription = "a library"\noptional = false\npython-versions = ">=3.8"\n\n`,
        big ? 900_000 : 40_000,
      ),
    );
  } else if (kind === 'jvm') {
    add(
      'pom.xml',
      `<project>\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>com.example</groupId>\n  <artifactId>svc-${i}</artifactId>\n  <version>1.0.0</version>\n  <dependencies>\n    <dependency><groupId>io.netty</groupId><artifactId>netty-transport-native-epoll</artifactId><version>4.1.100.Final</version></dependency>\n  </dependencies>\n</project>\n`,
    );
  } else {
    add('CMakeLists.txt', `cmake_minimum_required(VERSION 3.20)\nproject(svc${i} C)\nadd_executable(run main.c)\n`);
    add('Cargo.lock', cargoLock(big ? 5000 : 300));
  }
  const ext = { go: 'go', node: 'ts', python: 'py', jvm: 'java', native: 'c' }[kind]!;
  const src = (n: number) =>
    kind === 'go'
      ? `package mod${n % 7}\n\n${repeat((l) => `func helper${n}x${l}(x int) int { return x*${l} + 1 }\n`, 600 + Math.floor(r() * 3000))}`
      : kind === 'jvm'
        ? `class F${n} {\n${repeat((l) => `    public int m${l}(int x) { return x + ${l}; }\n`, 600 + Math.floor(r() * 3000))}}\n`
        : kind === 'native'
          ? repeat((l) => `static inline int add_${n}_${l}(int a, int b) { return a + b + ${l}; }\n`, 600 + Math.floor(r() * 3000))
          : repeat((l) => `export function handler${n}x${l}(event) { return { id: ${l}, ok: true }; }\n`, 600 + Math.floor(r() * 3000));
  // The rest: own sources (about 60 %), vendored code (about 30 %: skipped by the scan, read by the plain read), config.
  for (let n = 0; files.length < budget; n++) {
    const x = r();
    if (x < 0.6) add(`${kind === 'jvm' ? 'src/main/java/com/example' : 'src'}/m${n % 9}/f${n}.${ext}`, src(n));
    else if (x < 0.9)
      add(`${kind === 'go' ? 'vendor/github.com/dep' : 'node_modules/dep'}${n % 13}/f${n}.${kind === 'go' ? 'go' : 'js'}`, src(n));
    else add(`config/c${n}.json`, JSON.stringify({ key: n, value: 'x'.repeat(200 + Math.floor(r() * 800)) }));
  }
  return { files };
}

/** Writes a tree of about `count` files; returns its size. */
export async function generateTree(root: string, count: number): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const dirs = new Set<string>();
  for (let i = 0; files < count; i++) {
    const svc = service(i, Math.min(200, count - files));
    const pending: Promise<void>[] = [];
    for (const [rel, text] of svc.files) {
      const dir = path.join(root, path.dirname(rel));
      if (!dirs.has(dir)) {
        dirs.add(dir);
        await mkdir(dir, { recursive: true });
      }
      pending.push(writeFile(path.join(root, rel), text));
      files++;
      bytes += text.length;
    }
    await Promise.all(pending);
  }
  return { files, bytes };
}

/** The children: plain node over the built JS; each prints its wall (from the first file operation) and peak RSS. */
const plainReadChild = `
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
const start = performance.now();
let total = 0;
const walk = async (dir) => {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await walk(p);
    else if (e.isFile()) total += (await readFile(p)).length;
  }
};
await walk(process.argv[1]);
process.stdout.write(JSON.stringify({ ms: performance.now() - start, maxRssMB: process.resourceUsage().maxRSS / 1024, detail: total }));
`;
// The knowledge base is loaded before the clock starts, like the modules: a fixed start-up cost, not the scan's.
const scanChild = `
const { scanCheckout } = await import(${JSON.stringify(pathToFileURL(builtScan).href)});
const { builtinKnowledge } = await import(${JSON.stringify(pathToFileURL(path.join(here, '../dist/src/readiness/knowledge/load.js')).href)});
builtinKnowledge();
const start = performance.now();
const findings = await scanCheckout(process.argv[1]);
process.stdout.write(JSON.stringify({ ms: performance.now() - start, maxRssMB: process.resourceUsage().maxRSS / 1024, detail: findings.length }));
`;

interface Sample {
  ms: number;
  maxRssMB: number;
  detail: number;
}

async function measure(mode: 'scan' | 'read', root: string): Promise<Sample> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', mode === 'scan' ? scanChild : plainReadChild, root],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as Sample;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r1 = (n: number) => Math.round(n * 10) / 10;
const spread = (xs: number[]) => `${r1(Math.min(...xs))}–${r1(Math.max(...xs))}`;

export interface ScanSizeResult {
  files: number;
  megabytes: number;
  pairs: number;
  findings: number;
  scan: { medianMs: number; msSpread: string; medianPeakRssMB: number; rssSpread: string };
  plainRead: { medianMs: number; msSpread: string; medianPeakRssMB: number };
  /** Median of the per-pair ratios scan wall / plain-read wall. */
  wallRatio: number;
  wallRatioSpread: string;
  goals: { peakRssMB?: number; wallRatio: number; pass: boolean };
  load: { before: number; after: number };
}

async function runSize(count: number): Promise<ScanSizeResult> {
  const root = await mkdtemp(path.join(tmpdir(), 'archshift-scan-bench-'));
  try {
    const tree = await generateTree(root, count);
    const before = loadavg()[0]!;
    const scans: Sample[] = [];
    const reads: Sample[] = [];
    // A first plain read warms the page cache, so neither side pays for the disk.
    await measure('read', root);
    for (let i = 0; i < PAIRS[count]!; i++) {
      // Alternate which side goes first, so drift in the machine's load falls on both.
      if (i % 2 === 0) {
        reads.push(await measure('read', root));
        scans.push(await measure('scan', root));
      } else {
        scans.push(await measure('scan', root));
        reads.push(await measure('read', root));
      }
    }
    const ratios = scans.map((s, i) => s.ms / reads[i]!.ms);
    const wallRatio = Math.round(median(ratios) * 100) / 100;
    const peak = median(scans.map((s) => s.maxRssMB));
    const goalMB = GOALS_MB[count];
    return {
      files: tree.files,
      megabytes: Math.round(tree.bytes / 1048576),
      pairs: scans.length,
      findings: scans[0]!.detail,
      scan: {
        medianMs: Math.round(median(scans.map((s) => s.ms))),
        msSpread: spread(scans.map((s) => s.ms)),
        medianPeakRssMB: Math.round(peak),
        rssSpread: spread(scans.map((s) => s.maxRssMB)),
      },
      plainRead: {
        medianMs: Math.round(median(reads.map((s) => s.ms))),
        msSpread: spread(reads.map((s) => s.ms)),
        medianPeakRssMB: Math.round(median(reads.map((s) => s.maxRssMB))),
      },
      wallRatio,
      wallRatioSpread: spread(ratios.map((x) => Math.round(x * 100) / 100)),
      goals: { peakRssMB: goalMB, wallRatio: WALL_GOAL, pass: (goalMB === undefined || peak <= goalMB) && wallRatio <= WALL_GOAL },
      load: { before: r1(before), after: r1(loadavg()[0]!) },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export async function run(): Promise<ScanSizeResult[]> {
  if (!existsSync(builtScan)) throw new Error(`${builtScan} is missing: run \`npm run build\` first (\`npm run bench\` does)`);
  const wanted = process.env.SCAN_BENCH_SIZES?.split(',').map(Number) ?? SIZES;
  const results: ScanSizeResult[] = [];
  for (const count of wanted) {
    const result = await runSize(count);
    console.log(
      `scan ${count} files: wall ${result.scan.medianMs} ms vs plain read ${result.plainRead.medianMs} ms (×${result.wallRatio}), peak RSS ${result.scan.medianPeakRssMB} MB (plain read ${result.plainRead.medianPeakRssMB} MB)`,
    );
    results.push(result);
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await run(), null, 2));
