// The guard's test harness, shared by the webhook test and `npm run bench guard`: the running bot with
// GITHUB_WEBHOOK_SECRET, a GitHub App on the GitHub double, images on the real docker-registry, and the
// Kubernetes API double. Service `api` runs on arm64 (moved), `web` on amd64 (not moved); both repos hold
// Dockerfile (alpine:3.19, which publishes arm64), pipeline.yml and k8s/deployment.yaml.
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { FakeGitHub, type FakeCheckRun } from '../fakes/github-api.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { until } from '../fakes/until.ts';

export const SECRET = 'webhook-secret-for-tests';
export const INSTALLATION = '4242';
const amd64 = { architecture: 'amd64' };
const arm64 = { architecture: 'arm64', variant: 'v8' };

/** A Deployment `api` in namespace shop running `image`; `onArm64` adds the arm64 nodeSelector and toleration. */
export const deploymentYaml = (image: string, onArm64 = false) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: { app: api }
  template:
    metadata:
      labels: { app: api }
    spec:
${
  onArm64
    ? `      nodeSelector:
        kubernetes.io/arch: arm64
      tolerations:
        - key: kubernetes.io/arch
          operator: Equal
          value: arm64
          effect: NoExecute
`
    : ''
}      containers:
        - name: api
          image: ${image}
`;

export function sign(body: string, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface PullShas {
  number: number;
  headSha: string;
  baseSha: string;
}

export interface GuardHarness {
  registry: RunningRegistry;
  github: FakeGitHub;
  bot: TestBot;
  /** POST /github/events on the bot's ops server. */
  hooks: string;
  /** A `pull_request` payload as GitHub sends it (the fields archshift reads, and a few more). */
  pullEvent(repo: string, pr: PullShas, action?: string): Record<string, unknown>;
  deliver(event: string, payload: unknown, opts?: { delivery?: string; signature?: string; body?: string }): Promise<Response>;
  /** Waits for the completed run on `sha` (the `nth` one, from 1). */
  completedRun(repo: string, sha: string, nth?: number): Promise<FakeCheckRun>;
  stop(): Promise<void>;
}

export async function startGuardHarness(): Promise<GuardHarness> {
  const [registry, github, kube] = await Promise.all([startRegistry(), new FakeGitHub().start(), new FakeKubeApi().start()]);
  await registry.pushIndex('library/alpine', '3.19', [amd64, arm64]);
  await registry.pushSingle('library/alpine', '3.8', amd64);
  await registry.pushIndex('shop/api', '1.0.0', [amd64, arm64]);
  await registry.pushIndex('shop/web', '1.0.0', [amd64, arm64]);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  github.app = { id: '99', publicKey, installationId: INSTALLATION };
  for (const svc of ['api', 'web']) {
    github.addRepo(`acme/${svc}`, {
      Dockerfile: `FROM ${registry.host}/library/alpine:3.19\nCOPY app /app\n`,
      'k8s/deployment.yaml': deploymentYaml(`${registry.host}/shop/${svc}:1.0.0`),
      'pipeline.yml': 'steps:\n  docker-build:\n    mustBuildARM64: true\n',
    });
  }
  kube.put('/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'graviton-1', labels: { 'kubernetes.io/arch': 'arm64' } },
  });
  kube.put('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'x86-1', labels: { 'kubernetes.io/arch': 'amd64' } } });
  for (const [name, node] of [
    ['api', 'graviton-1'],
    ['web', 'x86-1'],
  ] as const) {
    const containers = [{ name, image: `${registry.host}/shop/${name}:1.0.0` }];
    kube.put('/apis/apps/v1/namespaces/shop/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'shop' },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers } } },
    });
    kube.put('/api/v1/namespaces/shop/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${name}-1`, namespace: 'shop', labels: { app: name } },
      spec: { nodeName: node, containers },
    });
  }
  const entry = (svc: string) => ({
    repo: `acme/${svc}`,
    dockerfiles: ['Dockerfile'],
    image: `${registry.host}/shop/${svc}`,
    pipeline: { repo: `acme/${svc}`, file: 'pipeline.yml' },
    manifests: { repo: `acme/${svc}`, files: ['k8s/deployment.yaml'] },
    namespace: 'shop',
    deployment: svc,
    channel: `#team-${svc}`,
  });
  const bot = await startTestBot(
    {
      catalog: { services: { api: entry('api'), web: entry('web') } },
      github: { baseUrl: github.url, allow: ['acme/*'], writeIntervalMs: 0 },
      guard: { reportUrl: 'https://archshift.example/services/{service}', maxPayloadBytes: 256 * 1024 },
    },
    {
      kubeConfig: kube.kubeConfig(),
      githubWebhookSecret: SECRET,
      env: { GITHUB_APP_ID: '99', GITHUB_APP_PRIVATE_KEY: privateKey, GITHUB_APP_INSTALLATION_ID: INSTALLATION },
    },
  );
  const hooks = `${bot.opsUrl}/github/events`;
  return {
    registry,
    github,
    bot,
    hooks,
    pullEvent: (repo, pr, action = 'opened') => ({
      action,
      number: pr.number,
      pull_request: {
        number: pr.number,
        html_url: `https://github.example/${repo}/pull/${pr.number}`,
        head: { sha: pr.headSha, ref: `b${pr.number}` },
        base: { sha: pr.baseSha, ref: 'main' },
      },
      repository: { full_name: repo, name: repo.split('/')[1], html_url: `https://github.example/${repo}`, owner: { login: 'acme' } },
      installation: { id: Number(INSTALLATION) },
    }),
    deliver: (event, payload, opts = {}) => {
      const body = opts.body ?? JSON.stringify(payload);
      return fetch(hooks, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': event,
          'x-github-delivery': opts.delivery ?? randomUUID(),
          'x-hub-signature-256': opts.signature ?? sign(body),
        },
      });
    },
    async completedRun(repo, sha, nth = 1) {
      const done = () => github.checkRuns(repo).filter((r) => r.head_sha === sha && r.status === 'completed');
      await until(() => done().length >= nth, 60_000, `completed check run ${nth} on ${sha.slice(0, 7)}`);
      return done()[nth - 1]!;
    },
    async stop() {
      await bot.stop();
      await Promise.all([registry.stop(), github.stop(), kube.stop()]);
    },
  };
}
