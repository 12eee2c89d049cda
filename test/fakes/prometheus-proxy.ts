// An authenticating front for the real Prometheus, as managed and multi-tenant Prometheus services
// put in front of theirs: Amazon Managed Service for Prometheus (SigV4; URLs /workspaces/<id>/api/v1/…),
// Grafana Mimir/Cortex (X-Scope-OrgID), and bearer/basic auth at a gateway. Faithful parts, derived
// from AWS's "Signature Version 4 signing process" documentation, not from the SDK: the signature is
// recomputed here from the request as received (canonical request, string to sign, the HMAC key chain)
// with the known test credentials, and a missing, malformed, expired or mismatched signature, an unknown
// key or a missing session token is refused with 403 and AWS's message. Bearer/basic mismatches get 401
// with a WWW-Authenticate challenge, a missing tenant header 401 "no org id" as Mimir answers. Accepted
// requests are forwarded unchanged (body included) to the real Prometheus.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyRules {
  sigv4?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; region: string; service: string };
  bearer?: string;
  basic?: { username: string; password: string };
  /** Headers every request must carry with these values (e.g. X-Scope-OrgID). */
  headers?: Record<string, string>;
  /** Path prefix of the proxy's API (AMP: `/workspaces/ws-…`), stripped before forwarding. */
  prefix?: string;
}

export interface SeenRequest {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

export interface RunningProxy {
  /** The base URL to configure as `canary.prometheusUrl`. */
  url: string;
  seen: SeenRequest[];
  stop(): Promise<void>;
}

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else %XX upper-case. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Checks one SigV4-signed request; returns AWS's refusal message, or undefined when it verifies. */
function verifySigV4(req: IncomingMessage, body: Buffer, r: NonNullable<ProxyRules['sigv4']>, now: Date): string | undefined {
  const auth = header(req, 'authorization');
  if (!auth) return 'Missing Authentication Token';
  const m = auth.match(
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/,
  );
  if (!m)
    return `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${auth.split(' ')[0]}`;
  const [, keyId, date, region, service, signedHeaders, signature] = m;
  if (keyId !== r.accessKeyId) return 'The security token included in the request is invalid.';
  if (r.sessionToken !== undefined && header(req, 'x-amz-security-token') !== r.sessionToken)
    return 'The security token included in the request is invalid.';
  const amzDate = header(req, 'x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate))
    return "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
  const at = Date.UTC(
    +amzDate.slice(0, 4),
    +amzDate.slice(4, 6) - 1,
    +amzDate.slice(6, 8),
    +amzDate.slice(9, 11),
    +amzDate.slice(11, 13),
    +amzDate.slice(13, 15),
  );
  if (Math.abs(at - now.getTime()) > 5 * 60_000) return `Signature expired: ${amzDate} is now earlier or later than the allowed 5 minutes.`;
  if (region !== r.region || service !== r.service)
    return `Credential should be scoped to a valid region and service: '${r.region}/${r.service}', not '${region}/${service}'.`;
  if (date !== amzDate.slice(0, 8)) return 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.';
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'The request signature must sign the host and x-amz-date headers.';

  const url = new URL(req.url ?? '/', 'http://proxy');
  // Non-S3 services: each path segment URI-encoded (again) after normalization.
  const canonicalUri =
    url.pathname
      .split('/')
      .map((seg) => uriEncode(decodeURIComponent(seg)))
      .map(uriEncode)
      .join('/') || '/';
  const canonicalQuery = [...url.searchParams]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = names.map((n) => `${n}:${(header(req, n) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = header(req, 'x-amz-content-sha256') ?? sha256hex(body);
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256hex(body))
    return 'The provided x-amz-content-sha256 header does not match what was computed.';
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${r.secretAccessKey}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    return 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
  }
  return undefined;
}

function equal(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Refusal for a request, or undefined to forward it. */
function check(
  req: IncomingMessage,
  body: Buffer,
  rules: ProxyRules,
  now: Date,
): { status: number; body: string; headers?: Record<string, string> } | undefined {
  if (rules.sigv4) {
    const refused = verifySigV4(req, body, rules.sigv4, now);
    if (refused)
      return {
        status: 403,
        body: JSON.stringify({ message: refused }),
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' },
      };
  }
  const auth = header(req, 'authorization') ?? '';
  if (rules.bearer !== undefined && !equal(auth, `Bearer ${rules.bearer}`)) {
    return { status: 401, body: 'Unauthorized\n', headers: { 'www-authenticate': 'Bearer realm="prometheus"' } };
  }
  if (rules.basic && !equal(auth, `Basic ${Buffer.from(`${rules.basic.username}:${rules.basic.password}`).toString('base64')}`)) {
    return { status: 401, body: 'Unauthorized\n', headers: { 'www-authenticate': 'Basic realm="prometheus"' } };
  }
  for (const [name, value] of Object.entries(rules.headers ?? {})) {
    if (header(req, name.toLowerCase()) !== value) return { status: 401, body: 'no org id\n' };
  }
  return undefined;
}

export async function startAuthProxy(upstream: string, rules: ProxyRules, clock: () => Date = () => new Date()): Promise<RunningProxy> {
  const seen: SeenRequest[] = [];
  const prefix = rules.prefix ?? '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const done = (status: number, text: string, headers: Record<string, string> = {}) => {
        seen.push({ status, headers: req.headers });
        res.writeHead(status, headers).end(text);
      };
      const path = req.url ?? '/';
      if (!path.startsWith(`${prefix}/`)) return done(404, 'not found\n');
      const refused = check(req, body, rules, clock());
      if (refused) return done(refused.status, refused.body, refused.headers);
      fetch(`${upstream}${path.slice(prefix.length)}`, {
        method: req.method,
        headers: { 'content-type': header(req, 'content-type') ?? 'application/octet-stream' },
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
      })
        .then(async (up) => done(up.status, await up.text(), { 'content-type': up.headers.get('content-type') ?? 'application/json' }))
        .catch((err: Error) => done(502, err.message));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    seen,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
