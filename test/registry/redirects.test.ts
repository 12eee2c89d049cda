// Redirects as fetch's `redirect: 'follow'` takes them, against the real registry (htpasswd Basic auth)
// behind the fault proxy: blob downloads redirected to object storage under presigned URLs (which, as
// S3 does, refuse a request that also carries an Authorization header), same-origin hops, loops, a POST
// turned into a GET by 303, and HTTPS redirected to plain HTTP (refused), over real TLS in a child
// process that also shows Node's bundled undici (global fetch) is never loaded by the registry adapter.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { ARM64_INDEX as INDEX, startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry } from '../fakes/registry.ts';
import { selfSignedCertificate } from '../fakes/token-server.ts';
import { closeServer, listenLocal } from '../fakes/net.ts';

const PRESIGNED =
  'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261202%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=0f1e';

describe('redirects', () => {
  const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let storage: FaultProxy;
  before(async () => {
    registry = await startRegistry({ kind: 'htpasswd', users: { alice: 's3cret' } });
    await registry.pushSingle('shop/legacy', '1.0', { architecture: 'amd64' });
    proxy = await startFaultProxy(registry.url);
    storage = await startFaultProxy(registry.url, { objectStorage: { authorization: basic } });
  });
  after(async () => {
    await proxy.close();
    await storage.close();
    await registry.stop();
  });
  beforeEach(() => {
    proxy.rules.length = 0;
    proxy.log.length = 0;
    storage.log.length = 0;
  });

  const client = () =>
    createRegistryClient({
      config: registryConfigSchema.parse({ retries: 0, credentials: { [proxy.host]: { username: 'alice', passwordEnv: 'PW' } } }),
      env: { PW: 's3cret' },
    });
  const blobs = /^GET \/v2\/shop\/legacy\/blobs\//;

  test('a blob redirected to object storage (301, 302, 303, 307, 308): Authorization is not sent there, the lookup succeeds', async () => {
    for (const status of [301, 302, 303, 307, 308] as const) {
      proxy.rules.push({ match: blobs, redirect: { status, location: (path) => `${storage.url}${path}?${PRESIGNED}` } });
      const r = await client().inspect(`${proxy.host}/shop/legacy:1.0`);
      assert.equal(r.status, 'amd64-only', `${status}: ${r.reason}`);
      const redirected = proxy.log.filter((x) => blobs.test(`${x.method} ${x.path}`));
      assert.deepEqual(
        redirected.map((x) => [x.status, x.authorization]),
        [[status, basic]],
        'the registry got the credentials',
      );
      assert.deepEqual(
        storage.log.map((x) => [x.method, x.status, x.authorization]),
        [['GET', 200, undefined]],
        `${status}: the storage got none`,
      );
      proxy.rules.length = 0;
      proxy.log.length = 0;
      storage.log.length = 0;
    }
  });

  test('a layer streamed through a redirect to object storage: the bytes are the blob, Authorization stays home', async () => {
    const c = client();
    const { digest } = (await c.imageLayers(`${proxy.host}/shop/legacy:1.0`)).layers[0]!;
    proxy.rules.push({ match: blobs, redirect: { status: 307, location: (path) => `${storage.url}${path}?${PRESIGNED}` } });
    const hash = createHash('sha256');
    for await (const chunk of await c.openBlob(`${proxy.host}/shop/legacy:1.0`, digest)) hash.update(chunk as Buffer);
    assert.equal(`sha256:${hash.digest('hex')}`, digest);
    assert.deepEqual(
      storage.log.map((x) => [x.status, x.authorization]),
      [[200, undefined]],
    );
  });

  test('the storage double refuses what S3 refuses: a presigned URL with an Authorization header, an unsigned one', async () => {
    const digest = (await client().imageLayers(`${proxy.host}/shop/legacy:1.0`)).layers[0]!.digest;
    const path = `/v2/shop/legacy/blobs/${digest}`;
    const withAuth = await fetch(`${storage.url}${path}?${PRESIGNED}`, { headers: { authorization: basic } });
    assert.equal(withAuth.status, 400);
    assert.match(await withAuth.text(), /<Code>InvalidArgument<\/Code><Message>Only one auth mechanism allowed/);
    const unsigned = await fetch(`${storage.url}${path}`);
    assert.equal(unsigned.status, 403);
    await unsigned.arrayBuffer();
  });

  test('a same-origin redirect with a relative Location keeps Authorization', async () => {
    proxy.rules.push({ match: /^GET \/v2\/shop\/legacy\/manifests\/1\.0$/, redirect: { status: 307, location: () => '1.0?hop=1' } });
    const r = await client().inspect(`${proxy.host}/shop/legacy:1.0`);
    assert.equal(r.status, 'amd64-only', r.reason);
    const hops = proxy.log.filter((x) => x.path.startsWith('/v2/shop/legacy/manifests/'));
    assert.deepEqual(
      hops.map((x) => [x.path, x.status, x.authorization]),
      [
        ['/v2/shop/legacy/manifests/1.0', 307, basic],
        ['/v2/shop/legacy/manifests/1.0?hop=1', 200, basic],
      ],
    );
  });

  test('a redirect loop stops after 20 hops with the reason', async () => {
    proxy.rules.push({ match: /^GET \/v2\/shop\/legacy\/manifests\//, redirect: { status: 302, location: (path) => path } });
    const r = await client().inspect(`${proxy.host}/shop/legacy:1.0`);
    assert.equal(r.status, 'error');
    assert.equal(r.reason, `${proxy.host} redirected to more than 20 places in a row; not followed`);
    assert.equal(proxy.log.filter((x) => x.path.startsWith('/v2/shop/legacy/manifests/')).length, 21);
  });
});

describe('a redirected token POST (identity token)', () => {
  const seen: Array<{ method: string; path: string; type?: string; body: string }> = [];
  let url = '';
  let dir = '';
  let posts = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      seen.push({ method: req.method ?? '', path, type: req.headers['content-type'], body });
      // The first token request is answered 303, the next 307.
      if (path === '/token') return void res.writeHead(posts++ === 0 ? 303 : 307, { location: '/token/issued' }).end();
      if (path === '/token/issued') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"tok"}');
      if (req.headers.authorization === 'Bearer tok')
        return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(INDEX);
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${url}/token",service="reg"` }).end();
    });
  });
  before(async () => {
    url = await listenLocal(server);
    dir = await mkdtemp(join(tmpdir(), 'archshift-redirect-'));
  });
  after(async () => {
    await closeServer(server);
    await rm(dir, { recursive: true, force: true });
  });

  test('303 turns the POST into a GET without body; 307 repeats the POST with its form', async () => {
    const host = url.replace('http://', '');
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ auths: { [host]: { identitytoken: 'refresh-1' } } }));
    const c = createRegistryClient({ config: registryConfigSchema.parse({ retries: 0, dockerConfig: config }), env: {} });
    assert.equal((await c.inspect(`${host}/team/first:1`)).status, 'multi-arch-with-arm64');
    assert.equal((await c.inspect(`${host}/team/second:1`)).status, 'multi-arch-with-arm64');
    const token = seen.filter((s) => s.path.startsWith('/token'));
    assert.deepEqual(
      token.map((s) => [s.method, s.path, s.type, s.body.includes('grant_type=refresh_token')]),
      [
        ['POST', '/token', 'application/x-www-form-urlencoded', true],
        ['GET', '/token/issued', undefined, false],
        ['POST', '/token', 'application/x-www-form-urlencoded', true],
        ['POST', '/token/issued', 'application/x-www-form-urlencoded', true],
      ],
    );
  });
});

describe('HTTPS (a registry under its own name through connectTo, in a child process trusting its certificate)', () => {
  const NAME = 'registry.archshift.test';
  let dir = '';
  let plain = '';
  const plainSeen: string[] = [];
  const plainServer = createServer((req, res) => {
    plainSeen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(INDEX);
  });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = selfSignedCertificate(privateKey, publicKey, NAME);
  const tls = createTlsServer({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }), cert }, (req, res) => {
    const path = req.url ?? '/';
    if (path === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    if (path === '/v2/team/app/manifests/down') return void res.writeHead(302, { location: `${plain}${path}` }).end();
    if (path === '/v2/team/app/manifests/moved') return void res.writeHead(301, { location: '/v2/team/app/manifests/here' }).end();
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(INDEX);
  });
  before(async () => {
    plain = await listenLocal(plainServer);
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    dir = await mkdtemp(join(tmpdir(), 'archshift-tls-'));
    await writeFile(join(dir, 'ca.pem'), cert);
  });
  after(async () => {
    await closeServer(plainServer);
    tls.closeAllConnections();
    await new Promise((resolve) => tls.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  test('https -> https followed over TLS with the host name kept; https -> http refused; undici never loaded', async () => {
    const address = `127.0.0.1:${(tls.address() as AddressInfo).port}`;
    const src = (rel: string) => new URL(rel, import.meta.url).href;
    const script = `
      const { createRegistryClient } = await import(${JSON.stringify(src('../../src/adapters/registry.ts'))});
      const { registryConfigSchema } = await import(${JSON.stringify(src('../../src/config/schema.ts'))});
      const c = createRegistryClient({ config: registryConfigSchema.parse({ retries: 0 }), connectTo: { ${JSON.stringify(NAME)}: ${JSON.stringify(address)} }, env: {} });
      const results = [];
      for (const tag of ['moved', 'down']) results.push(await c.inspect(${JSON.stringify(NAME)} + '/team/app:' + tag));
      console.log(JSON.stringify({ results, undici: process.moduleLoadList.filter((m) => m.includes('undici')) }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
    });
    const out = JSON.parse(stdout) as { results: Array<{ status: string; reason?: string }>; undici: string[] };
    assert.equal(out.results[0]!.status, 'multi-arch-with-arm64', out.results[0]!.reason);
    assert.equal(out.results[1]!.status, 'error');
    assert.equal(out.results[1]!.reason, `${NAME} redirected to plain HTTP (${plain}) from HTTPS; not followed`);
    assert.deepEqual(plainSeen, [], 'nothing was sent in the clear');
    assert.deepEqual(out.undici, [], 'the registry adapter does not load undici');
  });
});
