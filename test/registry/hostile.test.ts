// Issue 11 items 2 and 4: a hostile registry (huge manifests, token answers and error bodies) gets an
// `unknown`-making error with the reason, never the process's memory; WWW-Authenticate is parsed as
// RFC 7235 §4.1 writes it (several challenges, repeated headers, Negotiate first, unquoted values,
// spaces around `=`, escaped quotes), preferring Bearer, then Basic.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { chooseRegistryAuth, parseChallenges } from '../../src/adapters/registry/challenge.ts';
import { closeServer, listenLocal } from '../fakes/net.ts';
import { ARM64_INDEX as INDEX } from '../fakes/registry.ts';

const MB = 1024 * 1024;

type Route = (req: IncomingMessage, res: ServerResponse, base: string) => void;

/** Streams `bytes` zero-filled bytes, with or without a Content-Length. */
function flood(res: ServerResponse, status: number, bytes: number, declare: boolean): void {
  res.writeHead(status, {
    'content-type': 'application/vnd.oci.image.index.v1+json',
    ...(declare ? { 'content-length': String(bytes) } : {}),
  });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      left -= chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('close', () => (left = 0));
  pump();
}

describe('a hostile registry', () => {
  let url = '';
  let host = '';
  let route: Route = () => undefined;
  const seen: Array<{ path: string; authorization?: string }> = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    route(req, res, url);
  });
  before(async () => {
    url = await listenLocal(server);
    host = url.replace('http://', '');
  });
  after(() => closeServer(server));

  const client = (env: NodeJS.ProcessEnv = {}) =>
    createRegistryClient({
      config: registryConfigSchema.parse({ retries: 0, credentials: { [host]: { username: 'alice', passwordEnv: 'PW' } } }),
      env: { PW: 's3cret', ...env },
    });

  for (const declare of [true, false]) {
    test(`a 50 MB manifest ${declare ? 'with' : 'without'} Content-Length is refused at 4 MiB and reported, not read`, async () => {
      route = (req, res) => (req.url === '/v2/' ? res.end('{}') : flood(res, 200, 50 * MB, declare));
      const r = await client().inspect(`${host}/team/app:1`);
      assert.equal(r.status, 'error');
      assert.match(r.reason!, /manifest answer of .*over the 4096 KiB.*OCI distribution spec/);
    });
  }

  test('a token service answering 50 MB is an error with the reason', async () => {
    route = (req, res, base) => {
      if (req.url?.startsWith('/token')) return flood(res, 200, 50 * MB, false);
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="reg"` });
      res.end();
    };
    const r = await client().inspect(`${host}/team/app:2`);
    assert.equal(r.status, 'error');
    assert.match(r.reason!, /token answer of more than/);
  });

  test('a 50 MB error body is cut at 64 KiB: the 404 still reads as not found', async () => {
    route = (req, res) => (req.url === '/v2/' ? res.end('{}') : flood(res, 404, 50 * MB, true));
    const r = await client().inspect(`${host}/team/app:3`);
    assert.equal(r.status, 'not-found');
  });

  test('headers in time, then a body that stalls: the timeout covers the body', async () => {
    route = (req, res) => {
      if (req.url === '/v2/') return void res.end('{}');
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      res.write(INDEX.slice(0, 40)); // and never the rest
    };
    const c = createRegistryClient({ config: registryConfigSchema.parse({ retries: 0, timeoutMs: 300 }) });
    const r = await c.inspect(`${host}/team/app:7`);
    assert.equal(r.status, 'error');
    assert.equal(r.reason, `no answer from ${host} within 300 ms`);
  });

  test('an answer cut off mid-body is a network error, retried, never a hang', async () => {
    let cuts = 0;
    route = (req, res) => {
      if (req.url === '/v2/') return void res.end('{}');
      cuts++;
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': String(INDEX.length) });
      res.write(INDEX.slice(0, 40), () => res.socket?.destroy());
    };
    const c = createRegistryClient({ config: registryConfigSchema.parse({ retries: 1 }), backoffMs: 10 });
    const r = await c.inspect(`${host}/team/app:9`);
    assert.equal(r.status, 'error');
    assert.equal(r.reason, `cannot reach ${host}: ECONNRESET (2 attempts)`);
    assert.equal(cuts, 2);
  });

  test('a kept-alive connection the registry dropped as it was reused: sent again on a new one, not a failure', async () => {
    const used = new WeakSet<object>();
    let dropped = 0;
    route = (req, res) => {
      if (req.url === '/v2/') {
        used.add(req.socket);
        return void res.end('{}');
      }
      // The ping's connection is reused for the manifest: close it unanswered, as an idle timeout would.
      if (used.has(req.socket)) {
        dropped++;
        return void req.socket.destroy();
      }
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(INDEX);
    };
    const c = createRegistryClient({ config: registryConfigSchema.parse({ retries: 0 }) });
    const r = await c.inspect(`${host}/team/app:10`);
    assert.equal(r.status, 'multi-arch-with-arm64', r.reason);
    assert.equal(dropped, 1);
  });

  test('a streamed layer that stalls mid-download: the stream errors when the download timeout fires', async () => {
    route = (req, res) => {
      if (req.url === '/v2/') return void res.end('{}');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(MB) });
      res.write(Buffer.alloc(64 * 1024)); // and never the rest
    };
    const c = createRegistryClient({ config: registryConfigSchema.parse({ retries: 0 }), blobTimeoutMs: 300 });
    const stream = await c.openBlob(`${host}/team/app:8`, `sha256:${'b'.repeat(64)}`);
    let received = 0;
    await assert.rejects(
      async () => {
        for await (const chunk of stream as AsyncIterable<Buffer>) received += chunk.length;
      },
      { name: 'TimeoutError', message: `${host} did not answer in full within 300 ms` },
    );
    assert.equal(received, 64 * 1024, 'the start was handed over before the timeout');
  });

  test('Basic before Bearer in one header: the Bearer token flow is used', async () => {
    const issued: string[] = [];
    route = (req, res, base) => {
      if (req.url?.startsWith('/token')) {
        issued.push(req.headers.authorization ?? '');
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ token: 'tok-1' }));
      }
      if (req.headers.authorization === 'Bearer tok-1') {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        return void res.end(INDEX);
      }
      res.writeHead(401, {
        'www-authenticate': `Basic realm="Registry Realm", Bearer realm="${base}/token",service="reg",scope="repository:team/app:pull"`,
      });
      res.end();
    };
    const r = await client().inspect(`${host}/team/app:4`);
    assert.equal(r.status, 'multi-arch-with-arm64', r.reason);
    assert.equal(issued.length, 1);
    assert.equal(issued[0], `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
  });

  test('repeated WWW-Authenticate headers (joined with ", " by fetch), Negotiate first: Basic credentials are sent', async () => {
    route = (req, res) => {
      if (req.headers.authorization === `Basic ${Buffer.from('alice:s3cret').toString('base64')}`) {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        return void res.end(INDEX);
      }
      res.writeHead(401, [
        ['www-authenticate', 'Negotiate'],
        ['www-authenticate', 'Basic realm=registry'],
      ] as never);
      res.end();
    };
    const r = await client().inspect(`${host}/team/app:5`);
    assert.equal(r.status, 'multi-arch-with-arm64', r.reason);
  });

  test('a Bearer realm that is not a URL is no token service: a Basic challenge beside it is used instead', async () => {
    route = (req, res) => {
      if (req.headers.authorization?.startsWith('Basic ')) {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        return void res.end(INDEX);
      }
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="Registry Realm", Basic realm="Registry Realm"' });
      res.end();
    };
    const r = await client().inspect(`${host}/team/app:6`);
    assert.equal(r.status, 'multi-arch-with-arm64', r.reason);
    assert.ok(!seen.some((s) => s.path.includes('Registry')), 'no request to a realm that is not a URL');
  });
});

describe('WWW-Authenticate (RFC 7235 §4.1)', () => {
  test('several challenges, unquoted values, spaces around =, escaped quotes, token68', () => {
    assert.deepEqual(parseChallenges('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"'), [
      { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
      { scheme: 'basic', params: { realm: 'simple' } },
    ]);
    assert.deepEqual(
      parseChallenges('Bearer realm = "https://auth.example/token" , service=registry.example,scope="repository:a/b:pull"'),
      [{ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } }],
    );
    assert.deepEqual(parseChallenges('Negotiate, NTLM, Basic realm=x'), [
      { scheme: 'negotiate', params: {} },
      { scheme: 'ntlm', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
    assert.deepEqual(parseChallenges('Negotiate YIIB3QYGKwYBBQUCoIIB0TCCAc2g==, Basic realm="r"'), [
      { scheme: 'negotiate', params: {}, token68: 'YIIB3QYGKwYBBQUCoIIB0TCCAc2g==' },
      { scheme: 'basic', params: { realm: 'r' } },
    ]);
    assert.deepEqual(parseChallenges('BEARER REALM="https://a/t"'), [{ scheme: 'bearer', params: { realm: 'https://a/t' } }]);
  });

  test('Bearer is preferred, then Basic; other schemes alone give nothing', () => {
    assert.deepEqual(chooseRegistryAuth('Basic realm="Registry Realm", Bearer realm="https://a/token",service="s"'), {
      kind: 'bearer',
      realm: 'https://a/token',
      service: 's',
    });
    assert.deepEqual(chooseRegistryAuth('Negotiate, Basic realm="x"'), { kind: 'basic' });
    assert.deepEqual(chooseRegistryAuth('Bearer realm="not a url", Basic realm="x"'), { kind: 'basic' });
    assert.equal(chooseRegistryAuth('Negotiate'), undefined);
    assert.equal(chooseRegistryAuth('Bearer realm="ftp://x/"'), undefined);
    assert.equal(chooseRegistryAuth(''), undefined);
  });
});
