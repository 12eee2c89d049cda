import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';

const DEPLOYMENTS = (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`;
const deployment = (
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
  image = `reg.acme.io/${name}:1.0.0`,
) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels, annotations },
  spec: { template: { spec: { containers: [{ name: 'app', image }] } } },
});

let kube: FakeKubeApi;
let t: TestBot;

before(async () => {
  kube = await new FakeKubeApi().start();
  kube.put(
    DEPLOYMENTS('search'),
    deployment(
      'search-api',
      { 'archshift.io/service': 'search' },
      { 'archshift.io/team': 'S0SEARCH', 'archshift.io/repo': 'acme/search-api' },
    ),
  );
  kube.put(DEPLOYMENTS('orders'), deployment('orders', { 'archshift.io/service': 'orders' }));
  kube.put(DEPLOYMENTS('kube-system'), deployment('coredns', { 'k8s-app': 'kube-dns' }));
  t = await startTestBot(
    {
      kubernetes: { contexts: ['fake'] },
      catalog: {
        defaults: {
          repo: 'acme/{service}',
          dockerfiles: ['Dockerfile'],
          image: 'reg.acme.io/{service}',
          pipeline: { repo: 'acme/cd', file: '{service}.yml' },
          manifests: { repo: 'acme/k8s', files: ['{service}.yaml'] },
        },
        services: { payments: {} },
        discovery: { enabled: true },
      },
    },
    { kubeConfig: kube.kubeConfig('fake') },
  );
});
after(async () => {
  await t.stop();
  await kube.stop();
});

async function services(): Promise<string> {
  const n = t.slack.responses.length;
  await t.command('services');
  await t.slack.waitFor(() => t.slack.responses.length > n);
  return String(t.slack.responses.at(-1)!.text);
}

test('labelled Deployments in the cluster become services, annotations override catalog keys', async () => {
  const text = await services();
  assert.match(text, /3 services/);
  assert.match(
    text,
    /`search` {2}repo acme\/search-api {2}image reg\.acme\.io\/search-api:1\.0\.0 {2}deploy fake\/search\/search-api {2}team S0SEARCH {2}\(discovered\)/,
  );
  assert.match(text, /`orders` {2}repo acme\/orders .* deploy fake\/orders\/orders .*\(discovered\)/);
  assert.match(text, /`payments` {2}.*\(config\)/);
  assert.doesNotMatch(text, /coredns/);
  const lists = kube.requests.filter((r) => r.path === '/apis/apps/v1/deployments');
  assert.equal(lists.at(-1)!.query.get('labelSelector'), 'archshift.io/service');
});

test('a cluster that cannot be listed is named; configured services stay', async () => {
  kube.fail({ method: 'GET', path: /^\/apis\/apps\/v1\/deployments$/, status: 503, message: 'apiserver is shutting down' });
  const text = await services();
  assert.match(text, /`payments`/);
  assert.match(text, /Discovery could not read every cluster: cluster fake: list deployments failed with 503: apiserver is shutting down/);
});
