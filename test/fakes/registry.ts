// Starts the REAL registry (distribution, Debian package `docker-registry`) on a free loopback port
// with a temporary storage directory, and pushes images through its HTTP API. Auth modes: none,
// token (against test/fakes/token-server.ts) or htpasswd (bcrypt from perl's crypt(3), see below).
// Also a loopback proxy that injects faults (429, 500, hangs, latency, redirects) in front of it, which can
// also stand in for object storage serving presigned URLs (as S3 does behind a registry's blob redirects).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, listenLocal } from './net.ts';
import type { TokenServer } from './token-server.ts';

export const REGISTRY_BINARY = process.env.DOCKER_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  inToto: 'application/vnd.in-toto+json',
} as const;

/** A one-entry arm64 index for hand-written registries (its child is never fetched). */
export const ARM64_INDEX = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${'a'.repeat(64)}`,
      size: 1,
      platform: { os: 'linux', architecture: 'arm64' },
    },
  ],
});

export interface PlatformSpec {
  os?: string;
  architecture: string;
  variant?: string;
}

/** The image config's `config` part that says what the container runs. */
export interface RunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
}

export type RegistryAuth =
  { kind: 'none' } | { kind: 'token'; tokenServer: TokenServer } | { kind: 'htpasswd'; users: Record<string, string> };

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, usable as the registry part of a reference. */
  host: string;
  url: string;
  /** Pushes a multi-arch image (OCI index or Docker manifest list); returns the index digest. */
  pushIndex(
    repository: string,
    tag: string,
    platforms: PlatformSpec[],
    opts?: { format?: 'oci' | 'docker'; attestations?: boolean; annotation?: string },
  ): Promise<string>;
  /** Pushes a single-arch image whose platform is only in its config blob; returns the manifest digest. */
  pushSingle(
    repository: string,
    tag: string,
    platform: PlatformSpec,
    opts?: { format?: 'oci' | 'docker'; annotation?: string },
  ): Promise<string>;
  /**
   * Pushes a single-arch image with the given layer blobs (bottom first; build them with `tarOf` and
   * gzipSync). Media types default to gzip layers of the format. Returns the manifest digest.
   */
  pushLayered(
    repository: string,
    tag: string,
    layers: { data: Buffer; mediaType?: string }[],
    opts?: { format?: 'oci' | 'docker'; platform?: PlatformSpec },
  ): Promise<string>;
  /**
   * Pushes an OCI index whose children carry the given layers and run config (Entrypoint, Cmd, Env,
   * WorkingDir), e.g. an arm64 entry whose layer holds an x86-64 binary. Returns the index digest.
   */
  pushIndexLayered(
    repository: string,
    tag: string,
    variants: Array<{ platform: PlatformSpec; layers: { data: Buffer; mediaType?: string }[]; config?: RunConfig }>,
  ): Promise<string>;
  /** Gives an existing manifest another tag. */
  tag(repository: string, digest: string, tag: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startRegistry(auth: RegistryAuth = { kind: 'none' }): Promise<RunningRegistry> {
  if (!existsSync(REGISTRY_BINARY)) {
    throw new Error(
      `the real registry binary ${REGISTRY_BINARY} is missing: install it with "apt-get install -y docker-registry" ` +
        '(the registry tests need it and are not skipped without it)',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'archshift-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const authLines: string[] = [];
  if (auth.kind === 'token') {
    await writeFile(join(dir, 'token-ca.pem'), auth.tokenServer.certificatePem);
    authLines.push(
      'auth:',
      '  token:',
      `    realm: ${auth.tokenServer.realm}`,
      `    service: ${auth.tokenServer.service}`,
      `    issuer: ${auth.tokenServer.issuer}`,
      `    rootcertbundle: ${join(dir, 'token-ca.pem')}`,
    );
  } else if (auth.kind === 'htpasswd') {
    const lines = Object.entries(auth.users).map(([user, password]) => `${user}:${bcrypt(password)}`);
    await writeFile(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    authLines.push('auth:', '  htpasswd:', '    realm: archshift-test', `    path: ${join(dir, 'htpasswd')}`);
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${host}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    ...authLines,
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), `${config}\n`);

  const child = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://${host}`;
  try {
    await waitUntilServing(url, child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const pushAuth = (repository: string): Record<string, string> => {
    if (auth.kind === 'token') {
      return {
        authorization: `Bearer ${auth.tokenServer.issue([{ type: 'repository', name: repository, actions: ['pull', 'push'] }], 'pusher')}`,
      };
    }
    if (auth.kind === 'htpasswd') {
      const [user, password] = Object.entries(auth.users)[0]!;
      return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
    }
    return {};
  };
  const pusher = new Pusher(url, pushAuth);

  return {
    host,
    url,
    pushIndex: (repository, tag, platforms, opts = {}) => pusher.pushIndex(repository, tag, platforms, opts),
    pushSingle: (repository, tag, platform, opts = {}) => pusher.pushSingle(repository, tag, platform, opts),
    pushLayered: async (repository, tag, layers, opts = {}) =>
      (await pusher.image(repository, tag, opts.platform ?? { architecture: 'amd64' }, opts.format ?? 'oci', undefined, layers)).digest,
    pushIndexLayered: (repository, tag, variants) => pusher.pushIndexLayered(repository, tag, variants),
    tag: (repository, digest, tag) => pusher.retag(repository, digest, tag),
    stop: async () => {
      // A child killed by a signal keeps exitCode null: look at both, so a second stop() returns.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilServing(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not answer on ${url} within 15 s: ${stderr()}`);
}

/**
 * htpasswd entries must be bcrypt for distribution. apache2-utils' htpasswd is not installed here,
 * but perl (Essential in Debian) calls the system crypt(3), which is libxcrypt and knows `$2b$`.
 */
function bcrypt(password: string): string {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const salt = Array.from(randomBytes(22), (b) => alphabet[b % 64]).join('');
  // bcrypt's 22nd salt character only carries 2 bits; libxcrypt rejects other values there.
  const saltFixed = `${salt.slice(0, 21)}${'.Oeu'[randomBytes(1)[0]! % 4]}`;
  const hash = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${saltFixed}`], { encoding: 'utf8' });
  if (!hash.startsWith('$2b$')) throw new Error(`perl's crypt(3) cannot make bcrypt hashes here (got "${hash}")`);
  return hash;
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

class Pusher {
  /** Index children are the same for every tag of a repository: push each once. */
  private readonly children = new Map<string, Promise<{ mediaType: string; digest: string; size: number }>>();

  constructor(
    private readonly url: string,
    private readonly auth: (repository: string) => Record<string, string>,
  ) {}

  private async call(
    repository: string,
    method: string,
    path: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const target = path.startsWith('http') ? path : `${this.url}${path}`;
    const payload = typeof body === 'string' || body === undefined ? body : new Blob([new Uint8Array(body)]);
    const res = await fetch(target, { method, body: payload, headers: { ...this.auth(repository), ...headers } });
    if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status}: ${await res.text()}`);
    return res;
  }

  /** Blob upload: POST opens a session, one PUT with the whole body and its digest closes it. */
  async blob(repository: string, data: Buffer | string): Promise<{ digest: string; size: number }> {
    const digest = sha256(data);
    const size = Buffer.byteLength(data);
    const start = await this.call(repository, 'POST', `/v2/${repository}/blobs/uploads/`);
    await start.arrayBuffer();
    const location = new URL(start.headers.get('location')!, this.url);
    location.searchParams.set('digest', digest);
    const done = await this.call(repository, 'PUT', location.toString(), data, {
      'content-type': 'application/octet-stream',
    });
    await done.arrayBuffer();
    return { digest, size };
  }

  async manifest(repository: string, reference: string, mediaType: string, manifest: unknown): Promise<{ digest: string; size: number }> {
    const body = JSON.stringify(manifest);
    const res = await this.call(repository, 'PUT', `/v2/${repository}/manifests/${reference}`, body, { 'content-type': mediaType });
    await res.arrayBuffer();
    return { digest: sha256(body), size: Buffer.byteLength(body) };
  }

  async retag(repository: string, digest: string, tag: string): Promise<void> {
    const res = await this.call(repository, 'GET', `/v2/${repository}/manifests/${digest}`, undefined, {
      accept: [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', '),
    });
    const body = await res.text();
    const put = await this.call(repository, 'PUT', `/v2/${repository}/manifests/${tag}`, body, {
      'content-type': res.headers.get('content-type')!,
    });
    await put.arrayBuffer();
  }

  /** One image manifest; its platform lives only in the config blob, as with real single-arch images. */
  /** Pushed by tag, or by digest (untagged, as an index's children are) when `tag` is undefined. */
  async image(
    repository: string,
    tag: string | undefined,
    platform: PlatformSpec,
    format: 'oci' | 'docker',
    annotation?: string,
    layerBlobs?: { data: Buffer; mediaType?: string }[],
    run: RunConfig = {},
  ) {
    const config = JSON.stringify({
      architecture: platform.architecture,
      os: platform.os ?? 'linux',
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: { ...run, Labels: annotation ? { 'org.archshift.test': annotation } : {} },
      rootfs: { type: 'layers', diff_ids: [] },
    });
    // The default layer is a real (deterministic) tar.gz, so image-layer scans read it like any other.
    const blobs = layerBlobs ?? [
      {
        data: gzipSync(
          tarOf([{ path: 'etc/archshift-fixture', data: `layer for ${repository} ${platform.architecture}${platform.variant ?? ''}` }]),
        ),
      },
    ];
    const c = await this.blob(repository, config);
    const oci = format === 'oci';
    const layers = [];
    for (const b of blobs)
      layers.push({ mediaType: b.mediaType ?? (oci ? MEDIA.ociLayer : MEDIA.dockerLayer), ...(await this.blob(repository, b.data)) });
    const mediaType = oci ? MEDIA.ociManifest : MEDIA.dockerManifest;
    const manifest = {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: oci ? MEDIA.ociConfig : MEDIA.dockerConfig, ...c },
      layers,
    };
    return { mediaType, ...(await this.manifest(repository, tag ?? sha256(JSON.stringify(manifest)), mediaType, manifest)) };
  }

  /** A BuildKit-style attestation manifest: not runnable, listed as unknown/unknown in the index. */
  private async attestation(repository: string, subject: string) {
    const config = await this.blob(
      repository,
      JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const statement = await this.blob(
      repository,
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [{ digest: { sha256: subject.slice(7) } }] }),
    );
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, ...config },
      layers: [{ mediaType: MEDIA.inToto, ...statement, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
    };
    const pushed = await this.manifest(repository, sha256(JSON.stringify(manifest)), MEDIA.ociManifest, manifest);
    return {
      mediaType: MEDIA.ociManifest,
      ...pushed,
      platform: { architecture: 'unknown', os: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': subject },
    };
  }

  async pushIndex(
    repository: string,
    tag: string,
    platforms: PlatformSpec[],
    opts: { format?: 'oci' | 'docker'; attestations?: boolean; annotation?: string },
  ): Promise<string> {
    const format = opts.format ?? 'oci';
    const entries: unknown[] = [];
    for (const platform of platforms) {
      const key = `${repository}|${format}|${JSON.stringify(platform)}`;
      if (!this.children.has(key)) this.children.set(key, this.image(repository, undefined, platform, format));
      const image = await this.children.get(key)!;
      entries.push({
        mediaType: image.mediaType,
        digest: image.digest,
        size: image.size,
        platform: {
          architecture: platform.architecture,
          os: platform.os ?? 'linux',
          ...(platform.variant ? { variant: platform.variant } : {}),
        },
      });
      if (opts.attestations) entries.push(await this.attestation(repository, image.digest));
    }
    const mediaType = format === 'oci' ? MEDIA.ociIndex : MEDIA.dockerList;
    const index = {
      schemaVersion: 2,
      mediaType,
      manifests: entries,
      // Distinct annotations give distinct digests when many tags share the same children.
      ...(opts.annotation && format === 'oci' ? { annotations: { 'org.archshift.test': opts.annotation } } : {}),
    };
    return (await this.manifest(repository, tag, mediaType, index)).digest;
  }

  async pushIndexLayered(
    repository: string,
    tag: string,
    variants: Array<{ platform: PlatformSpec; layers: { data: Buffer; mediaType?: string }[]; config?: RunConfig }>,
  ): Promise<string> {
    const manifests = [];
    for (const v of variants) {
      const image = await this.image(repository, undefined, v.platform, 'oci', undefined, v.layers, v.config);
      manifests.push({
        ...image,
        platform: {
          architecture: v.platform.architecture,
          os: v.platform.os ?? 'linux',
          ...(v.platform.variant ? { variant: v.platform.variant } : {}),
        },
      });
    }
    return (await this.manifest(repository, tag, MEDIA.ociIndex, { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests })).digest;
  }

  async pushSingle(
    repository: string,
    tag: string,
    platform: PlatformSpec,
    opts: { format?: 'oci' | 'docker'; annotation?: string },
  ): Promise<string> {
    return (await this.image(repository, tag, platform, opts.format ?? 'oci', opts.annotation)).digest;
  }
}

export interface TarFile {
  path: string;
  data?: Buffer | string;
  /** '0' file (default), '5' directory, '2' symbolic link (to `link`). */
  type?: '0' | '5' | '2';
  link?: string;
  /** Permission bits (default 0644 for files, 0755 for directories). */
  mode?: number;
  /** How a name longer than 100 bytes is written: a GNU `././@LongLink` entry (default) or a pax `path=` record. */
  longName?: 'gnu' | 'pax';
}

/** A minimal ustar writer for layer fixtures: 512-byte headers, data padded to blocks, two zero blocks at the end. */
export function tarOf(files: TarFile[]): Buffer {
  const blocks: Buffer[] = [];
  const entry = (name: string, type: string, data: Buffer, mode?: number, link?: string) => {
    const header = Buffer.alloc(512);
    header.write(name.slice(0, 100), 0, 'utf8');
    header.write(`${(mode ?? (type === '5' || type === '2' ? 0o755 : 0o644)).toString(8).padStart(7, '0')}\0`, 100, 'ascii');
    if (link) header.write(link.slice(0, 100), 157, 'utf8');
    header.write('0000000\0', 108, 'ascii');
    header.write('0000000\0', 116, 'ascii');
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write('00000000000\0', 136, 'ascii');
    header.write(' '.repeat(8), 148, 'ascii');
    header.write(type, 156, 'ascii');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  };
  for (const f of files) {
    const data = Buffer.from(f.data ?? '');
    if (Buffer.byteLength(f.path) > 100) {
      if (f.longName === 'pax') {
        const body = (len: number) => `${len} path=${f.path}\n`;
        let len = body(0).length;
        while (body(len).length !== len) len = body(len).length;
        entry('PaxHeaders/x', 'x', Buffer.from(body(len)));
      } else entry('././@LongLink', 'L', Buffer.from(`${f.path}\0`));
    }
    entry(f.path, f.type ?? '0', f.type === '5' || f.type === '2' ? Buffer.alloc(0) : data, f.mode, f.link);
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface ProxyRule {
  /** Matched against `METHOD path?query`. */
  match: RegExp;
  /** How many matching requests this rule applies to (default: all). */
  times?: number;
  status?: number;
  retryAfter?: string;
  /** Never answer (the client must time out). */
  hang?: boolean;
  /** Forward only once this settles (a test holds a request in flight, then lets it go). */
  hold?: Promise<unknown>;
  /** Answer with this redirect instead: `location` is given the request's path (and query). */
  redirect?: { status: 301 | 302 | 303 | 307 | 308; location: (path: string) => string };
}

export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  at: number;
  /** The Authorization header it carried. */
  authorization?: string;
}

export interface FaultProxy {
  host: string;
  url: string;
  /** Every request that reached the proxy, with the status it got. */
  log: ProxiedRequest[];
  rules: ProxyRule[];
  latencyMs: number;
  /**
   * distribution 2.8 ignores `?n=` on tags/list (pagination came in v3), so the proxy pages it as the
   * OCI spec says: sorted, `n` per page, `last=` to continue, `Link: <...>; rel="next"` when more remain.
   */
  pageTags: boolean;
  close(): Promise<void>;
}

/**
 * As S3 serves a presigned GET URL: only GET/HEAD with the `X-Amz-Signature` query parameter (else 403
 * AccessDenied), and a request that also carries an Authorization header is refused with 400 InvalidArgument
 * ("Only one auth mechanism allowed"). What it serves is read from the registry with `authorization`.
 */
export interface ObjectStorageMode {
  authorization?: string;
}

/** A loopback proxy in front of a registry: records requests, adds latency, injects faults by rule. */
export async function startFaultProxy(
  targetUrl: string,
  opts: { latencyMs?: number; objectStorage?: ObjectStorageMode } = {},
): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    host: '',
    url: '',
    log: [],
    rules: [],
    latencyMs: opts.latencyMs ?? 0,
    pageTags: false,
    close: async () => undefined,
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const entry: ProxiedRequest = {
      method: req.method ?? 'GET',
      path,
      status: 0,
      at: Date.now(),
      authorization: req.headers.authorization,
    };
    proxy.log.push(entry);
    if (opts.objectStorage) {
      const refusal = presignedRefusal(req);
      if (refusal) {
        entry.status = refusal.status;
        res.writeHead(refusal.status, { 'content-type': 'application/xml' }).end(refusal.body);
        return;
      }
    }
    const rule = proxy.rules.find((r) => r.match.test(`${entry.method} ${path}`) && (r.times === undefined || r.times > 0));
    if (rule?.times !== undefined) rule.times -= 1;
    const forward = () => {
      if (rule?.hang) return; // the socket is destroyed on close
      if (rule?.redirect) {
        entry.status = rule.redirect.status;
        res.writeHead(rule.redirect.status, { location: rule.redirect.location(path), 'content-length': '0' }).end();
        return;
      }
      if (rule?.status) {
        entry.status = rule.status;
        res.writeHead(rule.status, { 'content-type': 'application/json', ...(rule.retryAfter ? { 'retry-after': rule.retryAfter } : {}) });
        res.end(
          JSON.stringify({ errors: [{ code: rule.status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message: `injected ${rule.status}` }] }),
        );
        return;
      }
      const tagList = /^(\/v2\/.+\/tags\/list)\?(.*)$/.exec(path);
      if (proxy.pageTags && tagList) return pageTagList(target, tagList[1]!, new URLSearchParams(tagList[2]), req, res, entry);
      const storage = opts.objectStorage;
      const upstreamPath = storage ? path.replace(/\?.*$/, '') : path;
      const upstreamHeaders = storage
        ? { host: target.host, ...(storage.authorization ? { authorization: storage.authorization } : {}) }
        : { ...req.headers, host: target.host };
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: upstreamPath, headers: upstreamHeaders },
        (up) => {
          entry.status = up.statusCode ?? 0;
          const headers = { ...up.headers };
          // Keep redirects and upload locations pointing at the proxy.
          if (typeof headers.location === 'string') headers.location = headers.location.replace(target.origin, proxy.url);
          if (typeof headers['www-authenticate'] === 'string')
            headers['www-authenticate'] = headers['www-authenticate'].replace(target.origin, proxy.url);
          res.writeHead(up.statusCode ?? 502, headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    const go = () => (rule?.hold ? void rule.hold.then(forward) : forward());
    if (proxy.latencyMs > 0) setTimeout(go, proxy.latencyMs);
    else go();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  proxy.url = await listenLocal(server);
  proxy.host = proxy.url.replace('http://', '');
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

function presignedRefusal(req: IncomingMessage): { status: number; body: string } | undefined {
  const query = new URL(req.url ?? '/', 'http://storage').searchParams;
  const error = (status: number, code: string, message: string) => ({
    status,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  });
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !query.has('X-Amz-Signature'))
    return error(403, 'AccessDenied', 'Request has expired or is not signed for this method');
  if (req.headers.authorization !== undefined)
    return error(
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    );
  return undefined;
}

function pageTagList(
  target: URL,
  listPath: string,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
  entry: ProxiedRequest,
): void {
  const upstream = httpRequest(
    { host: target.hostname, port: target.port, path: listPath, headers: { authorization: req.headers.authorization ?? '' } },
    (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (chunk: Buffer) => chunks.push(chunk));
      up.on('end', () => {
        entry.status = up.statusCode ?? 0;
        if (up.statusCode !== 200) {
          res.writeHead(up.statusCode ?? 502, up.headers).end(Buffer.concat(chunks));
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name: string; tags: string[] };
        const n = Number(query.get('n') ?? '100');
        const last = query.get('last');
        const rest = [...body.tags].sort().filter((tag) => last === null || tag > last);
        const page = rest.slice(0, n);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (rest.length > n) headers.link = `<${listPath}?n=${n}&last=${encodeURIComponent(page.at(-1)!)}>; rel="next"`;
        res.writeHead(200, headers).end(JSON.stringify({ name: body.name, tags: page }));
      });
    },
  );
  upstream.on('error', () => res.destroy());
  upstream.end();
}
