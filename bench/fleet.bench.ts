// `archshift check --all` over 150 catalog services, run as users run it: the compiled CLI in its own
// process, files from the GitHub REST double, images from a real docker-registry behind a proxy adding
// 50 ms to every request, the live Deployments from the Kubernetes API double. Cold = empty store
// (no registry cache), warm = the same again (cache in the store file). Beside it, what a user did
// before: a shell loop of `archshift check <service>`, timed on 10 services and scaled to 150.
// Goals (issue 19): cold < 60 s, warm < 10 s.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeGitHub } from '../test/fakes/github-api.ts';
import { FakeKubeApi } from '../test/fakes/kube-api.ts';
import { startFaultProxy, startRegistry } from '../test/fakes/registry.ts';

const SERVICES = 150;
const LATENCY_MS = 50;
const LOOP_SAMPLE = Number(process.env.FLEET_BENCH_LOOP ?? 10);
const cli = fileURLToPath(new URL('../dist/cli/archshift.js', import.meta.url));

const amd64 = { architecture: 'amd64' };
const arm64 = { architecture: 'arm64', variant: 'v8' };
/** Base images as a fleet uses them: a few shared by many services, some amd64-only. */
const BASES: Array<[string, string, boolean]> = [
  ['library/golang', '1.22', true],
  ['library/node', '20-alpine', true],
  ['library/python', '3.12-slim', true],
  ['library/eclipse-temurin', '21-jre', true],
  ['library/openjdk', '8-jre', false],
  ['distroless/static', 'nonroot', true],
  ['vendor/legacy-runtime', '5.2', false],
];

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    // FLEET_BENCH_PROFILE=DIR writes a CPU profile of every run there (to see where the time goes).
    const prof = process.env.FLEET_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.FLEET_BENCH_PROFILE] : [];
    const p = spawn(process.execPath, [...prof, cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ ms: Math.round(performance.now() - t0), code, stdout, stderr }));
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'archshift-fleet-bench-'));
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.url);
  const [github, kube] = await Promise.all([new FakeGitHub().start(), new FakeKubeApi().start()]);
  try {
    for (const [repo, tag, multi] of BASES) {
      if (multi) await registry.pushIndex(repo, tag, [amd64, arm64]);
      else await registry.pushSingle(repo, tag, amd64);
    }
    const names = Array.from({ length: SERVICES }, (_, i) => `svc${String(i).padStart(3, '0')}`);
    for (const [i, n] of names.entries()) {
      // Two thirds of the services already publish arm64.
      if (i % 3) await registry.pushIndex(`shop/${n}`, '1.0.0', [amd64, arm64]);
      else await registry.pushSingle(`shop/${n}`, '1.0.0', amd64);
    }
    const host = proxy.host;
    for (const [i, n] of names.entries()) {
      const [repo, tag] = BASES[i % BASES.length]!;
      const files: Record<string, string> = {
        Dockerfile: `FROM ${host}/library/golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /app ./cmd/${n}\n\nFROM ${host}/${repo}:${tag}\nCOPY --from=build /app /app\nENTRYPOINT ["/app"]\n`,
        'go.mod': `module example.com/acme/${n}\n\ngo 1.22\n\nrequire github.com/prometheus/client_golang v1.19.0\n`,
      };
      github.addRepo(`acme/${n}`, files);
    }
    github.addRepo(
      'acme/pipelines',
      Object.fromEntries(
        names.map((n, i) => [
          `services/${n}.yml`,
          `/pipeline:\n  docker-build:\n    uses: docker-build@master\n    with:\n      repository: ${n}\n      mustBuildARM64: ${i % 2 === 0}\n`,
        ]),
      ),
    );
    const deployment = (n: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: n, namespace: 'shop', labels: { app: n } },
      spec: {
        selector: { matchLabels: { app: n } },
        template: { metadata: { labels: { app: n } }, spec: { containers: [{ name: n, image: `${host}/shop/${n}:1.0.0` }] } },
      },
    });
    github.addRepo(
      'acme/k8s',
      Object.fromEntries(
        names.map((n) => [
          `shop/${n}.yaml`,
          `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${n}\nspec:\n  selector:\n    matchLabels: {app: ${n}}\n  template:\n    metadata:\n      labels: {app: ${n}}\n    spec:\n      containers:\n        - name: ${n}\n          image: ${host}/shop/${n}:1.0.0\n`,
        ]),
      ),
    );
    for (const node of ['x86-1', 'x86-2', 'graviton-1', 'graviton-2'])
      kube.put('/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: node, labels: { 'kubernetes.io/arch': node.startsWith('x86') ? 'amd64' : 'arm64' } },
      });
    for (const n of names) {
      const d = deployment(n);
      kube.put('/apis/apps/v1/namespaces/shop/deployments', d);
      for (const p of [1, 2])
        kube.put('/api/v1/namespaces/shop/pods', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `${n}-${p}`, namespace: 'shop', labels: { app: n } },
          spec: { nodeName: `x86-${p}`, containers: d.spec.template.spec.containers },
        });
    }
    github.tokens.set('ghp_bench', { write: false });
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'bench', cluster: { server: kube.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'bot', user: { token: kube.token } }],
        contexts: [{ name: 'bench', context: { cluster: 'bench', user: 'bot' } }],
        'current-context': 'bench',
      }),
    );
    const config = (store: string) =>
      JSON.stringify({
        github: { baseUrl: github.url },
        kubernetes: { kubeconfig, contexts: ['bench'] },
        store: { file: store },
        catalog: {
          defaults: {
            repo: 'acme/{service}',
            dockerfiles: ['Dockerfile'],
            image: `${host}/shop/{service}`,
            pipeline: { repo: 'acme/pipelines', file: 'services/{service}.yml' },
            manifests: { repo: 'acme/k8s', files: ['shop/{service}.yaml'] },
            namespace: 'shop',
          },
          services: Object.fromEntries(names.map((n, i) => [n, { team: `S0TEAM${i % 5}` }])),
        },
      });
    const fleetConfig = join(dir, 'fleet.yml');
    const loopConfig = join(dir, 'loop.yml');
    await writeFile(fleetConfig, config(join(dir, 'fleet-store.json')));
    await writeFile(loopConfig, config(join(dir, 'loop-store.json')));
    const env: NodeJS.ProcessEnv = { ...process.env, GITHUB_TOKEN: 'ghp_bench', LOG_LEVEL: 'silent', CI: '1' };
    delete env.KUBECONFIG;

    proxy.latencyMs = LATENCY_MS;
    const measure = async (label: string) => {
      const before = proxy.log.length;
      const ghBefore = github.requests.length;
      const r = await runCli(
        [
          'check',
          '--all',
          '--format',
          'json',
          '--config',
          fleetConfig,
          ...(process.env.FLEET_BENCH_CONCURRENCY ? ['--concurrency', process.env.FLEET_BENCH_CONCURRENCY] : []),
        ],
        env,
      );
      if (r.code !== 1 && r.code !== 0 && r.code !== 2) throw new Error(`${label}: exit ${r.code}: ${r.stderr.slice(0, 2000)}`);
      const out = JSON.parse(r.stdout) as {
        summary: {
          total: number;
          verdicts: Record<string, number>;
          topUnknowns: { id: string; title: string; services: string[] }[];
          topBlockers: { id: string; services: string[] }[];
        };
      };
      if (out.summary.total !== SERVICES) throw new Error(`${label}: ${out.summary.total} services checked`);
      return {
        seconds: r.ms / 1000,
        exitCode: r.code,
        verdicts: out.summary.verdicts,
        unknowns: out.summary.topUnknowns.map((u) => `${u.services.length} ${u.id}: ${u.title}`),
        blockers: out.summary.topBlockers.map((u) => `${u.services.length} ${u.id}`),
        registryRequests: proxy.log.length - before,
        githubRequests: github.requests.length - ghBefore,
      };
    };
    const cold = await measure('cold');
    const warm = await measure('warm');

    let loopMs = 0;
    for (const n of names.slice(0, LOOP_SAMPLE)) {
      const r = await runCli(['check', n, '--config', loopConfig], env);
      if (r.code === null || r.code > 2) throw new Error(`loop ${n}: exit ${r.code}: ${r.stderr.slice(0, 1000)}`);
      loopMs += r.ms;
    }
    const loop150 = ((loopMs / LOOP_SAMPLE) * SERVICES) / 1000;
    return {
      services: SERVICES,
      addedRegistryLatencyMs: LATENCY_MS,
      cold: { ...cold, goalSeconds: 60, met: cold.seconds < 60 },
      warm: { ...warm, goalSeconds: 10, met: warm.seconds < 10 },
      shellLoop: {
        sampleServices: LOOP_SAMPLE,
        secondsPerService: +(loopMs / LOOP_SAMPLE / 1000).toFixed(2),
        estimatedSecondsFor150: Math.round(loop150),
      },
      ratios: { shellLoopOverCold: +(loop150 / cold.seconds).toFixed(1), shellLoopOverWarm: +(loop150 / warm.seconds).toFixed(1) },
    };
  } finally {
    await Promise.all([proxy.close(), registry.stop(), github.stop(), kube.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}
