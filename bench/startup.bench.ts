// Start-up: from spawning `archshift check <path>` (the compiled CLI, as `npm install -g` runs it) to the
// first request reaching the registry, timed at a proxy in front of a real docker-registry, relative to
// the spawn. Also the process's CPU time to that point. Medians of STARTUP_BENCH_RUNS runs (default 9).
// Goal (issue 15): under 300 ms. Figures on a loaded 2-core machine are printed with the load average.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startFaultProxy, startRegistry } from '../test/fakes/registry.ts';

const RUNS = Number(process.env.STARTUP_BENCH_RUNS ?? 9);
const GOAL_MS = 300;
export const CLI = fileURLToPath(new URL('../dist/cli/archshift.js', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => Math.round(loadavg()[0] * 10) / 10;

export interface StartupBenchResult {
  runs: number;
  firstRequestMs: { median: number; min: number; max: number };
  exitMs: { median: number };
  cpuToExitMs: { median: number };
  goalMs: number;
  pass: boolean;
  load: { before: number; after: number };
}

/** Spawns the CLI; resolves when it exits, with its wall time and user+system CPU. */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ startedAt: number; ms: number; cpuMs: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const p = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const ms = performance.now() - t0;
      resolve({ startedAt, ms, cpuMs: childCpuMs(), code, stderr });
    });
  });
}

let lastChildTicks = 0;
/** CPU (user + system) of the children waited for since the last call: cutime + cstime of /proc/self/stat. */
export function childCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]);
  const delta = ticks - lastChildTicks;
  lastChildTicks = ticks;
  return delta * 10; // USER_HZ is 100 on Linux
}

export async function run(): Promise<StartupBenchResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm run bench does)`);
  const before = load();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-startup-'));
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.url);
  try {
    await registry.pushIndex('base/runtime', '1.0', [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
    const checkout = join(dir, 'svc');
    await mkdir(checkout);
    await writeFile(join(checkout, 'Dockerfile'), `FROM ${proxy.host}/base/runtime:1.0\nCOPY app /app\n`);
    const config = join(dir, 'archshift.yml');
    // No store file is shared between runs: every run is cold, so it really asks the registry.
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', CI: '1', KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };
    delete env.GITHUB_TOKEN;
    const first: number[] = [];
    const exit: number[] = [];
    const cpu: number[] = [];
    childCpuMs();
    for (let i = 0; i < RUNS; i++) {
      await writeFile(config, `store:\n  file: ${join(dir, `store-${i}.json`)}\n`);
      const seen = proxy.log.length;
      const r = await spawnCli(['check', checkout, '--config', config], env);
      if (r.code === null || r.code > 2) throw new Error(`check exited ${r.code}: ${r.stderr.slice(0, 1000)}`);
      const req = proxy.log[seen];
      if (!req) throw new Error('the check sent no registry request');
      first.push(req.at - r.startedAt);
      exit.push(r.ms);
      cpu.push(r.cpuMs);
    }
    const result: StartupBenchResult = {
      runs: RUNS,
      firstRequestMs: { median: median(first), min: Math.min(...first), max: Math.max(...first) },
      exitMs: { median: Math.round(median(exit)) },
      cpuToExitMs: { median: median(cpu) },
      goalMs: GOAL_MS,
      pass: median(first) < GOAL_MS,
      load: { before, after: load() },
    };
    console.log(
      `startup: spawn -> first registry request median ${result.firstRequestMs.median} ms (min ${result.firstRequestMs.min}, max ${result.firstRequestMs.max}; ${RUNS} runs), ` +
        `exit ${result.exitMs.median} ms, CPU ${result.cpuToExitMs.median} ms; goal < ${GOAL_MS} ms -> ${result.pass ? 'PASS' : 'FAIL'} (load ${before} -> ${result.load.after})`,
    );
    return result;
  } finally {
    await proxy.close();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
