// The native-dependency scan of a catalog service through GitHub (no clone): the recursive tree from the
// GitHub double, the same selection and analysers as a checkout scan (so the findings must equal
// scanCheckout's on the same files), caps and a truncated listing said in a finding, unreadable blobs
// as the usual "could not read" warning; and `/arm64 check` through the real Bolt app showing a JVM
// finding found that way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { GitHubClient } from '../../src/adapters/github.ts';
import type { Deps } from '../../src/deps.ts';
import { checkService } from '../../src/readiness/check.ts';
import { scanCheckout } from '../../src/readiness/scan.ts';
import { scanRepository } from '../../src/readiness/scan-github.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { FakeGitHub } from '../fakes/github-api.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { zip } from '../fixtures/binaries.ts';
import { FIXTURES, OPEN_PLACEHOLDER, pushOpenImages, readinessDeps } from './service-fixtures.ts';

const REPO = 'acme/orders';

const POM = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme</groupId>
  <artifactId>orders</artifactId>
  <version>1.0.0</version>
  <dependencies>
    <dependency>
      <groupId>io.netty</groupId>
      <artifactId>netty-transport-native-epoll</artifactId>
      <version>4.1.45.Final</version>
      <classifier>linux-x86_64</classifier>
    </dependency>
  </dependencies>
</project>
`;
const REQUIREMENTS = '# orders\n-r deps/common.txt\nflask==2.0.1\nnumpy==1.18.5\n';
const JAR = 'lib/netty-transport-native-epoll-4.1.45.Final-linux-x86_64.jar';

/** 1-based line of the first line of `text` containing `needle`. */
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('checkService scans native dependencies through GitHub', () => {
  let registry: RunningRegistry;
  let github: FakeGitHub;
  let dir: string;
  let files: Record<string, string | Buffer>;
  let deps: Deps;
  let client: GitHubClient;

  before(async () => {
    [registry, github] = await Promise.all([startRegistry(), new FakeGitHub().start()]);
    await pushOpenImages(registry);
    github.tokens.set('ghp_reader', { write: false });
    const dockerfile = (await readFile(join(FIXTURES, 'checkout-api', 'Dockerfile'), 'utf8')).replaceAll(OPEN_PLACEHOLDER, registry.host);
    files = {
      Dockerfile: dockerfile,
      'service/pom.xml': POM,
      'requirements.txt': REQUIREMENTS,
      // Not a requirements file by name: read only because requirements.txt includes it.
      'deps/common.txt': 'cryptography==2.9.2\n',
      [JAR]: zip(['META-INF/', 'META-INF/native/libnetty_transport_native_epoll_x86_64.so', 'io/netty/Epoll.class']),
      // Installed or vendored code is not the service's own: never fetched.
      'vendor/netty/pom.xml': POM.replace('<project', '<!-- vendored copy -->\n<project'),
      'node_modules/sharp/package.json': '{ "name": "sharp", "version": "0.25.0" }',
      'docs/README.md': '# orders\n',
    };
    github.addRepo(REPO, files, { defaultBranch: 'trunk' });
    github.addRepo('acme/pipelines', { 'services/orders.yml': 'steps: []\n' });
    github.addRepo('acme/k8s', {
      'shop/orders.yaml': (await readFile(join(FIXTURES, 'checkout-api', 'deployment.yaml'), 'utf8')).replaceAll(
        OPEN_PLACEHOLDER,
        registry.host,
      ),
    });

    dir = await mkdtemp(join(tmpdir(), 'archshift-service-native-'));
    deps = await readinessDeps(github, { catalog: { services: { orders: ordersEntry(registry.host) } } }, dir);
    client = deps.github!;
  });
  after(async () => {
    await Promise.all([registry?.stop(), github?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('JVM and Python findings with file:line and ecosystem; vendored and unrelated files are never fetched', async () => {
    const blobsBefore = github.requests.filter((r) => r.path.includes('/git/blobs/')).length;
    const report = await checkService(deps, 'orders');
    const ids = report.findings.map((f) => f.id);
    assert.ok(!ids.includes('native.not-scanned'));
    assert.ok(!ids.includes('native.scan-failed'), JSON.stringify(report.findings.filter((f) => f.id === 'native.scan-failed')));
    const at = (id: string, file: string) => report.findings.find((f) => f.id === id && f.evidence.file === file);
    const netty = at('jvm.netty-epoll', 'service/pom.xml')!;
    assert.deepEqual([netty.ecosystem, netty.evidence.line], ['jvm', lineOf(POM, '4.1.45.Final')]);
    assert.equal(at('jvm.classifier-x86-only', 'service/pom.xml')!.ecosystem, 'jvm');
    const numpy = at('python.numpy', 'requirements.txt')!;
    assert.deepEqual([numpy.ecosystem, numpy.evidence.line], ['python', lineOf(REQUIREMENTS, 'numpy==')]);
    assert.equal(at('python.cryptography', 'deps/common.txt')!.evidence.line, 1, 'the -r include was fetched too');
    assert.deepEqual([at('jvm.jar-x86-only', JAR)!.severity, at('jvm.jar-x86-only', JAR)!.ecosystem], ['blocker', 'jvm']);
    assert.ok(!report.findings.some((f) => /^(vendor|node_modules)\//.test(f.evidence.file ?? '')));
    assert.equal(report.verdict, 'blocked');

    // Exactly the candidates (the Dockerfile too: GOARCH pins are looked for there) and the include were fetched.
    const tree = await client.listFiles(REPO, 'trunk');
    const shaOf = new Map(tree.files.map((f) => [f.sha, f.path]));
    const fetched = github.requests
      .filter((r) => r.path.includes('/git/blobs/'))
      .slice(blobsBefore)
      .map((r) => shaOf.get(r.path.split('/').pop()!));
    assert.deepEqual(fetched.sort(), ['Dockerfile', 'deps/common.txt', JAR, 'requirements.txt', 'service/pom.xml']);
  });

  test('the GitHub scan and the checkout scan give the same findings for the same files', async () => {
    const checkout = join(dir, 'checkout');
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(checkout, path)), { recursive: true });
      await writeFile(join(checkout, path), content);
    }
    const remote = await scanRepository(client, REPO);
    assert.ok(remote.length >= 5);
    assert.deepEqual(remote, await scanCheckout(checkout));
  });

  test('a truncated tree listing is scanned as far as it goes and the report says the scan is partial; dependency files may lie past it, so the verdict cannot be ready', async () => {
    github.treeEntryLimit = 4;
    try {
      const report = await checkService(deps, 'orders');
      const partial = report.findings.find((f) => f.id === 'native.scan-partial')!;
      assert.equal(partial.severity, 'unknown');
      assert.match(partial.title, /acme\/orders@trunk through GitHub is partial: GitHub truncated the file listing/);
      assert.match(partial.fix!, /archshift check <path>/);
      // The first entries (Dockerfile, deps/, deps/common.txt, lib/) hold no dependency manifest.
      assert.ok(!report.findings.some((f) => f.id === 'jvm.netty-epoll'));
    } finally {
      github.treeEntryLimit = Infinity;
    }
  });

  test('file, byte and binary caps: manifests are fetched first and the rest is named as not read', async () => {
    const capped = await scanRepository(client, REPO, undefined, { maxFiles: 2, maxBinaryBytes: 10 });
    const partial = capped.find((f) => f.id === 'native.scan-partial')!;
    assert.match(partial.title, /candidate file\(s\) beyond the 2-file limit were not read; 1 prebuilt binary over 0 MiB were not fetched/);
    assert.match(partial.evidence.excerpt!, /not read: .*jar/);
    assert.ok(capped.some((f) => f.id === 'jvm.netty-epoll') && capped.some((f) => f.id === 'python.numpy'));
    assert.ok(!capped.some((f) => f.id === 'jvm.jar-x86-only'));

    const budget = await scanRepository(client, REPO, undefined, { maxTotalBytes: Buffer.byteLength(REQUIREMENTS) });
    assert.match(budget.find((f) => f.id === 'native.scan-partial')!.title, /beyond the [\d.]+ MiB budget were not read/);
    assert.equal(budget.find((f) => f.id === 'native.scan-partial')!.severity, 'unknown', 'a pom left unread leaves the verdict open');
    assert.ok(
      budget.some((f) => f.id === 'python.numpy'),
      'requirements.txt sorts first and fits',
    );
    assert.ok(!budget.some((f) => f.id === 'jvm.netty-epoll'));
  });

  test('a blob GitHub will not serve is a "could not read" unknown (a dependency file: the verdict waits for it); the rest of the scan stands', async () => {
    const pom = (await client.listFiles(REPO, 'trunk')).files.find((f) => f.path === 'service/pom.xml')!;
    github.inject({ method: 'GET', path: new RegExp(`/git/blobs/${pom.sha}$`), status: 404 });
    try {
      const findings = await scanRepository(client, REPO);
      const unreadable = findings.find((f) => f.evidence.file === 'service/pom.xml')!;
      assert.deepEqual([unreadable.id, unreadable.severity], ['file.unreadable', 'unknown']);
      assert.match(unreadable.title, /^could not read service\/pom\.xml: cannot read blob .* not found \(404\)/);
      assert.ok(findings.some((f) => f.id === 'python.numpy'));
    } finally {
      github.clearInjections();
    }
  });

  test('without GitHub credentials the scan is "unknown", never clean', async () => {
    await assert.rejects(scanRepository(undefined, REPO), /no GitHub credentials are configured/);
    const report = await checkService({ ...deps, github: undefined }, 'orders');
    assert.equal(report.findings.find((f) => f.id === 'native.scan-failed')!.severity, 'unknown');
    assert.notEqual(report.verdict, 'ready');
  });
});

function ordersEntry(registryHost: string) {
  return {
    repo: REPO,
    dockerfiles: ['Dockerfile'],
    image: `${registryHost}/shop/checkout-api`,
    pipeline: { repo: 'acme/pipelines', file: 'services/orders.yml' },
    manifests: { repo: 'acme/k8s', files: ['shop/orders.yaml'] },
    namespace: 'shop',
    deployment: 'orders',
  };
}

describe('/arm64 check <service> through the real Bolt app shows the JVM finding read through GitHub', () => {
  let registry: RunningRegistry;
  let github: FakeGitHub;
  let kube: FakeKubeApi;
  let t: TestBot;

  before(async () => {
    [registry, github, kube] = await Promise.all([startRegistry(), new FakeGitHub().start(), new FakeKubeApi().start()]);
    await pushOpenImages(registry);
    github.tokens.set('ghp_bot', { write: false });
    const dockerfile = (await readFile(join(FIXTURES, 'checkout-api', 'Dockerfile'), 'utf8')).replaceAll(OPEN_PLACEHOLDER, registry.host);
    github.addRepo(REPO, { Dockerfile: dockerfile, 'service/pom.xml': POM }, { defaultBranch: 'trunk' });
    github.addRepo('acme/pipelines', { 'services/orders.yml': 'steps: []\n' });
    github.addRepo('acme/k8s', {
      'shop/orders.yaml': (await readFile(join(FIXTURES, 'checkout-api', 'deployment.yaml'), 'utf8')).replaceAll(
        OPEN_PLACEHOLDER,
        registry.host,
      ),
    });
    t = await startTestBot(
      { github: { baseUrl: github.url }, catalog: { services: { orders: ordersEntry(registry.host) } } },
      { kubeConfig: kube.kubeConfig(), env: { GITHUB_TOKEN: 'ghp_bot' } },
    );
  });
  after(async () => {
    await t?.stop();
    await Promise.all([registry?.stop(), github?.stop(), kube?.stop()]);
  });

  test('chat.postMessage "Checking…", then chat.update of the same message with the netty finding', async () => {
    const res = await t.command('check orders', { channel: 'C0ORDERS' });
    assert.equal(res.status, 200);
    await t.slack.waitFor(() => t.slack.callsTo('chat.update').length > 0, 30_000);
    const posts = t.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0ORDERS');
    assert.equal(posts.length, 1);
    assert.match(String(posts[0]!.args.text), /Checking orders/);
    const update = t.slack.callsTo('chat.update')[0]!;
    // The fake answers chat.postMessage with ts `<n>.000100`; the update targets that message.
    assert.equal(update.args.channel, 'C0ORDERS');
    assert.match(String(update.args.ts), /^\d+\.000100$/);
    assert.ok(t.slack.calls.indexOf(posts[0]!) < t.slack.calls.indexOf(update));
    const blocks = JSON.stringify(update.args.blocks);
    assert.match(blocks, /netty-transport-native-epoll/);
    assert.match(blocks, new RegExp(`service/pom\\.xml:${lineOf(POM, '4.1.45.Final')}`));
    assert.ok(!blocks.includes('were not scanned'), 'no "not scanned" warning');
    assert.ok(
      github.requests.some((r) => /\/git\/trees\//.test(r.path)),
      'the tree was listed through GitHub',
    );
  });
});
