// The watch after a move, end to end: moves seen where archshift sees them (a signed GitHub delivery of a
// merged selectors PR into the running bot; a canary record in the store as the controller writes it), pods
// and events in the Kubernetes API double, the Slack Web API double receiving the one notice.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebClient } from '@slack/web-api';
import { KubeCluster, Kubernetes } from '../../src/adapters/kubernetes.ts';
import { SlackPoster } from '../../src/adapters/slack.ts';
import { Store } from '../../src/adapters/store.ts';
import { Catalog } from '../../src/config/catalog.ts';
import { createLogger } from '../../src/logger.ts';
import { afterMoveConfigSchema } from '../../src/nodes/config.ts';
import { moveWatches, MoveWatcher } from '../../src/nodes/move-watch.ts';
import { prsSection } from '../../src/prs/records.ts';
import { moveNoticePoster } from '../../commands/notify/move-notice.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { sign } from '../guard/harness.ts';
import { until } from '../fakes/until.ts';

const SECRET = 'webhook-secret-for-move-tests';
const PODS = '/api/v1/namespaces/shop/pods';
const DEPLOYMENTS = '/apis/apps/v1/namespaces/shop/deployments';

function deployment(kube: FakeKubeApi, name: string): void {
  kube.put(DEPLOYMENTS, {
    metadata: { name, namespace: 'shop' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `acme/${name}:2.0` }] } },
    },
  });
}

const serviceEntry = (name: string) => ({
  repo: `acme/${name}`,
  dockerfiles: ['Dockerfile'],
  image: `acme/${name}`,
  pipeline: { repo: `acme/${name}`, file: 'pipeline.yml' },
  manifests: { repo: 'acme/k8s', files: [`apps/${name}.yaml`] },
  namespace: 'shop',
  deployment: name,
  channel: `#team-${name}`,
});

describe('a merged selectors PR: the running bot watches the pods and tells the channel once', () => {
  let kube: FakeKubeApi;
  let t: TestBot;
  const hooks = () => `${t.opsUrl}/github/events`;
  const deliver = (payload: unknown) => {
    const body = JSON.stringify(payload);
    return fetch(hooks(), {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': sign(body, SECRET),
      },
    });
  };
  const merged = (number: number, repo = 'acme/k8s') => ({
    action: 'closed',
    number,
    pull_request: {
      number,
      merged: true,
      html_url: `https://github.example/${repo}/pull/${number}`,
      head: { sha: 'a'.repeat(40), ref: 'archshift/selectors' },
      base: { sha: 'b'.repeat(40), ref: 'main' },
    },
    repository: { full_name: repo, name: repo.split('/')[1], html_url: `https://github.example/${repo}`, owner: { login: 'acme' } },
  });
  const notices = () => t.slack.callsTo('chat.postMessage').filter((c) => String(c.args.text).includes('after its selectors PR'));

  before(async () => {
    kube = await new FakeKubeApi().start();
    deployment(kube, 'api');
    kube.put(PODS, {
      metadata: { name: 'api-5d8-x1', namespace: 'shop', labels: { app: 'api' } },
      spec: { containers: [{ name: 'app', image: 'acme/api:2.0' }] },
      status: { phase: 'Pending' },
    });
    kube.put('/api/v1/namespaces/shop/events', {
      metadata: { name: 'api-5d8-x1.17a', namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: 'api-5d8-x1', namespace: 'shop' },
      reason: 'NotTriggerScaleUp',
      message: "pod didn't trigger scale-up: 2 node(s) didn't match Pod's node affinity/selector",
    });
    t = await startTestBot(
      { catalog: { services: { api: serviceEntry('api') } }, afterMove: { pollSeconds: 0.05, watchMinutes: 5 } },
      { kubeConfig: kube.kubeConfig(), githubWebhookSecret: SECRET },
    );
    await prsSection(t.bot.deps.store).update((d) => {
      d.services.api = {
        selectors: {
          kind: 'selectors',
          repo: 'acme/k8s',
          branch: 'archshift/selectors',
          number: 40,
          url: 'https://github.example/acme/k8s/pull/40',
          state: 'open',
          draft: false,
          headSha: 'a'.repeat(40),
          updatedAt: new Date().toISOString(),
        },
      };
    });
  });
  after(async () => {
    await t.stop();
    await kube.stop();
  });

  it('names the autoscaler’s refusal, the nodes report and the tag, in the service’s channel', async () => {
    assert.equal((await deliver(merged(40))).status, 202);
    await t.slack.waitFor(() => notices().length > 0, 30_000);
    const [notice] = notices();
    assert.equal(notice!.args.channel, '#team-api');
    const text = String(notice!.args.text);
    assert.match(text, /cluster-autoscaler will not add a node/);
    assert.match(text, /didn't trigger scale-up/);
    assert.match(text, /`\/arm64 nodes`/);
    assert.match(text, /node-template\/label\/kubernetes\.io\/arch=arm64/);
    assert.equal(prsSection(t.bot.deps.store).get().services.api?.selectors?.state, 'merged');
    const [watch] = Object.values(moveWatches(t.bot.deps.store).get());
    assert.equal(watch?.state, 'problem');
    assert.equal(watch?.problem?.kind, 'no-scale-up');
    assert.equal(watch?.problem?.nodes?.verdict, 'no-capacity', 'the watcher read the nodes preflight to name the fix');
    assert.ok(watch?.toldAt);
  });

  it('the same merge delivered again (a new delivery id) and later ticks post nothing more', async () => {
    assert.equal((await deliver(merged(40))).status, 202);
    await t.bot.ops.inFlight.drain(10_000);
    await t.bot.moveWatcher!.tickOnce();
    await t.bot.moveWatcher!.settled();
    assert.equal(notices().length, 1);
    assert.equal(Object.keys(moveWatches(t.bot.deps.store).get()).length, 1);
  });

  it('a merged PR archshift did not open is not watched', async () => {
    assert.equal((await deliver(merged(41))).status, 202);
    assert.equal((await deliver(merged(40, 'acme/other'))).status, 202);
    await t.bot.ops.inFlight.drain(10_000);
    assert.equal(Object.keys(moveWatches(t.bot.deps.store).get()).length, 1);
  });
});

describe('a started canary: the leader watches its arm64 Deployment', () => {
  let kube: FakeKubeApi;
  let slack: FakeSlackApi;
  let dir: string;
  let store: Store;
  const cfg = afterMoveConfigSchema.parse({ pollSeconds: 0.05, watchMinutes: 5 });
  const catalog = new Catalog({ services: { api: serviceEntry('api'), web: serviceEntry('web') } } as never);
  const watcher = (leader = true) =>
    new MoveWatcher({
      store,
      kube: new Kubernetes([new KubeCluster('fake', kube.kubeConfig())]),
      clock: { now: () => new Date() },
      logger: createLogger('silent'),
      config: () => cfg,
      catalog: () => catalog,
      defaultChannel: () => '#arm64-migration',
      isLeader: () => leader,
      tell: moveNoticePoster(new SlackPoster(new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }), 0)),
    });
  const canary = (service: string, startedAt = new Date().toISOString()) => ({
    target: { service, namespace: 'shop', deployments: { amd64: service, arm64: `${service}-arm64` } },
    phase: 'progressing',
    startedAt,
  });
  const startCanary = (service: string, startedAt?: string) =>
    store
      .section<Record<string, unknown>>('canaries', () => ({}))
      .update((d) => {
        d[service] = canary(service, startedAt);
      });
  const noticesTo = (channel: string) => slack.callsTo('chat.postMessage').filter((c) => c.args.channel === channel);

  before(async () => {
    kube = await new FakeKubeApi().start();
    slack = await new FakeSlackApi().start();
    dir = await mkdtemp(join(tmpdir(), 'archshift-move-'));
    store = await Store.open(join(dir, 'store.json'));
    deployment(kube, 'api-arm64');
    kube.put(PODS, {
      metadata: { name: 'api-arm64-66f-a', namespace: 'shop', labels: { app: 'api-arm64' } },
      spec: { nodeName: 'graviton-1', containers: [{ name: 'app', image: 'acme/api:2.0' }] },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'app',
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
            lastState: { terminated: { reason: 'Error', exitCode: 1 } },
          },
        ],
      },
    });
    kube.podLogs.set('shop/api-arm64-66f-a/app', 'exec /usr/local/bin/api: exec format error');
    deployment(kube, 'web-arm64');
    kube.put(PODS, {
      metadata: { name: 'web-arm64-1', namespace: 'shop', labels: { app: 'web-arm64' } },
      spec: { containers: [{ name: 'app', image: 'acme/web:2.0' }] },
      status: {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'app',
            state: {
              waiting: {
                reason: 'ErrImagePull',
                message:
                  'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/acme/web:2.0": no matching manifest for linux/arm64/v8 in the manifest list entries',
              },
            },
          },
        ],
      },
    });
  });
  after(async () => {
    await store.close();
    await Promise.all([kube.stop(), slack.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a replica that is not the leader watches nothing', async () => {
    await startCanary('api');
    const w = watcher(false);
    await w.tickOnce();
    await w.settled();
    assert.deepEqual(moveWatches(store).get(), {});
    assert.equal(slack.callsTo('chat.postMessage').length, 0);
  });

  it('exec format error in the previous log: one notice naming the image, the pipeline PR and the rollback', async () => {
    const w = watcher();
    await w.tickOnce();
    await w.settled();
    const sent = noticesTo('#team-api');
    assert.equal(sent.length, 1);
    const text = String(sent[0]!.args.text);
    assert.match(text, /after its canary started \(`api-arm64`\)/);
    assert.match(text, /exec format error/);
    assert.match(text, /`acme\/api:2\.0` runs an amd64 binary/);
    assert.match(text, /\/arm64 pr api pipeline/);
    assert.match(text, /\/arm64 canary api rollback/);
  });

  it('the started event again, more ticks, and a second canary with the same problem: still one notice', async () => {
    const w = watcher();
    const first = store.section<Record<string, ReturnType<typeof canary>>>('canaries', () => ({})).get().api!;
    await w.canaryStarted(first);
    await w.tickOnce();
    await startCanary('api', new Date(Date.now() + 1000).toISOString());
    await w.tickOnce();
    await w.settled();
    assert.equal(noticesTo('#team-api').length, 1);
    const api = Object.values(moveWatches(store).get()).filter((x) => x.target.service === 'api');
    assert.equal(api.length, 2);
    assert.deepEqual(
      api.map((x) => x.state),
      ['problem', 'problem'],
      'both recorded for the digest',
    );
    assert.equal(api.filter((x) => x.toldAt).length, 1);
  });

  it('an image without linux/arm64: the pull error and the image, once', async () => {
    await startCanary('web');
    const w = watcher();
    await w.tickOnce();
    await w.settled();
    const sent = noticesTo('#team-web');
    assert.equal(sent.length, 1);
    assert.match(String(sent[0]!.args.text), /`acme\/web:2\.0` has no linux\/arm64 manifest/);
    assert.match(String(sent[0]!.args.text), /no matching manifest for linux\/arm64/);
  });

  it('healthy pods are watched until the end; stop() cancels the watch, which the next leader resumes', async () => {
    deployment(kube, 'ok-arm64');
    kube.put(PODS, {
      metadata: { name: 'ok-arm64-1', namespace: 'shop', labels: { app: 'ok-arm64' } },
      spec: { containers: [{ name: 'app', image: 'acme/ok:1' }] },
      status: { phase: 'Running', containerStatuses: [{ name: 'app', state: { running: {} } }] },
    });
    await startCanary('ok');
    const w = watcher();
    await w.tickOnce();
    await until(
      () => kube.requests.filter((r) => r.path === PODS && r.query.get('labelSelector') === 'app=ok-arm64').length >= 2,
      10_000,
      'two looks at the pods',
    );
    await w.stop();
    const ok = Object.values(moveWatches(store).get()).find((x) => x.target.service === 'ok');
    assert.equal(ok?.state, 'watching', 'a cancelled watch is left for the next leader');
    // The next leader: the watch ends healthy once its time is up.
    await moveWatches(store).update((d) => void (d[ok!.id]!.until = new Date(Date.now() + 200).toISOString()));
    const next = watcher();
    await next.tickOnce();
    await next.settled();
    assert.equal(moveWatches(store).get()[ok!.id]?.state, 'healthy');
    assert.equal(noticesTo('#team-ok').length, 0);
  });
});
