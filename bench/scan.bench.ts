// Benchmark: scanCheckout over a generated 20,000-file / ~100 MB checkout, beside a plain recursive read
// of the same tree in the same run. Each side runs in its own child process so peak RSS (maxRSS from
// process.resourceUsage) is measured separately. Target: scan < 5 s and < 300 MB.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const FILES = 20_000;
const TARGET_BYTES = 100 * 1024 * 1024;
const self = fileURLToPath(import.meta.url);

const cLine = 'static inline int add_%(int a, int b) { return a + b + %; } /* plain portable C */\n';
const goLine = 'func helper%(x int) int { return x*% + 1 }\n';
const pyLine = 'def handler_%(event):\n    return {"id": %, "ok": True}\n';
const javaLine = '    public int method%(int x) { return x + %; }\n';
const yamlDoc = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-%\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/team/svc-%:1.%.0\n';

function body(template: string, bytes: number, seed: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const s = template.replaceAll('%', String(seed * 1000 + i));
    parts.push(s);
    size += s.length;
  }
  return parts.join('');
}

/** A tree shaped like a monorepo: C/C++, Go, Python, Java, manifests and docs in nested directories. */
export async function generateTree(root: string): Promise<{ files: number; bytes: number }> {
  const perFile = Math.floor(TARGET_BYTES / FILES);
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const dir = path.join(root, `svc${i % 50}`, `mod${Math.floor(i / 50) % 40}`);
    if (i < 2000) await mkdir(dir, { recursive: true });
    const kind = i % 10;
    let name: string;
    let text: string;
    if (kind < 3) [name, text] = [`f${i}.c`, body(cLine, perFile, i)];
    else if (kind < 5) [name, text] = [`f${i}.go`, `package mod\n\n${body(goLine, perFile, i)}`];
    else if (kind < 7) [name, text] = [`f${i}.py`, body(pyLine, perFile, i)];
    else if (kind === 7) [name, text] = [`F${i}.java`, `class F${i} {\n${body(javaLine, perFile, i)}}\n`];
    else if (kind === 8) [name, text] = [`deploy${i}.yaml`, body(`---\n${yamlDoc}`, Math.min(perFile, 4096), i)];
    else [name, text] = [`notes${i}.md`, body('Some notes about the service %.\n', perFile, i)];
    if (i % 1000 === 0) [name, text] = ['requirements.txt', 'numpy==1.26.4\nrequests==2.31.0\n'];
    if (i % 1000 === 1) [name, text] = ['go.mod', 'module example.com/m\n\ngo 1.21\n'];
    await writeFile(path.join(dir, name), text);
    bytes += text.length;
  }
  return { files: FILES, bytes };
}

async function plainRead(root: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) total += (await readFile(p)).length;
    }
  };
  await walk(root);
  return total;
}

async function child(mode: string, root: string): Promise<void> {
  const start = performance.now();
  let detail: unknown;
  if (mode === 'scan') {
    const { scanCheckout } = await import('../src/readiness/scan.ts');
    detail = (await scanCheckout(root)).length;
  } else {
    detail = await plainRead(root);
  }
  const ms = performance.now() - start;
  // maxRSS is in kilobytes.
  process.stdout.write(JSON.stringify({ ms, maxRssMB: process.resourceUsage().maxRSS / 1024, detail }));
}

async function measure(mode: 'scan' | 'read', root: string): Promise<{ ms: number; maxRssMB: number; detail: unknown }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', self, '--child', mode, root], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout);
}

export interface ScanBenchResult {
  files: number;
  megabytes: number;
  scan: { ms: number; maxRssMB: number; findings: number };
  plainRead: { ms: number; maxRssMB: number };
  withinTarget: boolean;
}

export async function run(): Promise<ScanBenchResult> {
  const root = await mkdtemp(path.join(tmpdir(), 'archshift-bench-'));
  try {
    const tree = await generateTree(root);
    const read = await measure('read', root);
    const scan = await measure('scan', root);
    return {
      files: tree.files,
      megabytes: Math.round(tree.bytes / 1048576),
      scan: { ms: Math.round(scan.ms), maxRssMB: Math.round(scan.maxRssMB), findings: scan.detail as number },
      plainRead: { ms: Math.round(read.ms), maxRssMB: Math.round(read.maxRssMB) },
      withinTarget: scan.ms < 5000 && scan.maxRssMB < 300,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === self) {
  if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!);
  else console.log(JSON.stringify(await run(), null, 2));
}
