// A Bearer token server for the real registry's `auth: token:` mode (distribution's token auth spec):
// it answers GET /token?service=&scope= (anonymous or Basic) and POST /token (OAuth2 refresh_token grant, for
// identity tokens) with an ES256 JWT that the registry verifies against the
// certificate in its `rootcertbundle`. The certificate is generated here (a minimal DER encoder),
// because Node can make keys but not certificates and openssl may be missing on CI.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { closeServer, listenLocal } from './net.ts';

export interface TokenServerOptions {
  service?: string;
  issuer?: string;
  /** username -> password; these users may pull and push everything. */
  users?: Record<string, string>;
  /** Anonymous callers may pull (default true) except repositories listed in `privateRepositories`. */
  anonymousPull?: boolean;
  privateRepositories?: string[];
  expiresIn?: number;
  /** OAuth2 refresh tokens (identity tokens, as `docker login` keeps them) -> the user they stand for. */
  refreshTokens?: Record<string, string>;
}

export interface TokenRequest {
  /** `GET` (basic or anonymous) or `POST` (OAuth2 refresh_token grant). */
  method: string;
  scope: string[];
  user?: string;
  status: number;
}

export interface TokenServer {
  url: string;
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate the registry trusts (write it to a file for `rootcertbundle`). */
  certificatePem: string;
  requests: TokenRequest[];
  /** Issues a token directly, for test setup (pushing images). */
  issue(access: Access[], subject?: string): string;
  close(): Promise<void>;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const service = options.service ?? 'archshift-test-registry';
  const issuer = options.issuer ?? 'archshift-test-issuer';
  const users = options.users ?? {};
  const anonymousPull = options.anonymousPull ?? true;
  const privateRepositories = new Set(options.privateRepositories ?? []);
  const expiresIn = options.expiresIn ?? 300;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certificatePem = selfSignedCertificate(privateKey, publicKey, 'archshift test token issuer');
  const kid = libtrustKeyId(publicKey);
  const requests: TokenRequest[] = [];

  const issue = (access: Access[], subject = ''): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', kid };
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const payload = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    // JWS ES256 signatures are r||s, not DER.
    const signature = sign('sha256', Buffer.from(payload), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return `${payload}.${b64url(signature)}`;
  };

  const server: Server = createServer(async (req, res) => {
    let url = new URL(req.url ?? '/', 'http://localhost');
    let user = authenticate(req, users);
    if (req.method === 'POST') {
      // distribution's OAuth2 token spec: a form with grant_type, service, client_id, scope, refresh_token.
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      url = new URL(`${url.pathname}?${form.toString()}`, 'http://localhost');
      const refresh = form.get('refresh_token') ?? '';
      const known = Object.hasOwn(options.refreshTokens ?? {}, refresh);
      user = form.get('grant_type') === 'refresh_token' && form.get('client_id') && known ? options.refreshTokens![refresh] : null;
    }
    const scopes = url.searchParams.getAll('scope');
    const reply = (status: number, body: unknown) => {
      requests.push({ method: req.method ?? 'GET', scope: scopes, user: user === null ? '(bad credentials)' : user, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (url.pathname !== '/token' || url.searchParams.get('service') !== service) {
      return reply(400, { errors: [{ code: 'UNSUPPORTED', message: 'unknown path or service' }] });
    }
    if (user === null) return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
    const access: Access[] = [];
    for (const scope of scopes) {
      const [type, name, actions] = scope.split(':');
      if (type !== 'repository' || !name || !actions) continue;
      const granted = actions
        .split(',')
        .filter((action) => (user !== undefined ? true : action === 'pull' && anonymousPull && !privateRepositories.has(name)));
      // Like Docker Hub: a token is always issued; scopes the caller may not have are left out of it.
      access.push({ type, name, actions: granted });
    }
    const token = issue(access, user ?? '');
    reply(200, { token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() });
  });
  const url = await listenLocal(server);
  return {
    url,
    realm: `${url}/token`,
    service,
    issuer,
    certificatePem,
    requests,
    issue,
    close: () => closeServer(server),
  };
}

/** undefined = anonymous; null = credentials given but wrong. */
function authenticate(req: IncomingMessage, users: Record<string, string>): string | undefined | null {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const [scheme, value] = header.split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !value) return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  return colon > 0 && users[user] !== undefined && users[user] === decoded.slice(colon + 1) ? user : null;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** libtrust's key ID, which distribution uses for the JWT `kid`: base32 of SHA-256(SPKI DER)[:30], in groups of 4. */
export function libtrustKeyId(publicKey: KeyObject): string {
  const digest = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest()
    .subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

// --- a minimal DER encoder, just enough for a self-signed ECDSA P-256 certificate ---

function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  const lengthBytes =
    length < 0x80 ? Buffer.from([length]) : length < 0x100 ? Buffer.from([0x81, length]) : Buffer.from([0x82, length >> 8, length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), lengthBytes, content]);
}
const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const oid = (bytes: number[]) => der(0x06, Buffer.from(bytes));
const ECDSA_WITH_SHA256 = oid([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
const COMMON_NAME = oid([0x55, 0x04, 0x03]);

function generalizedTime(date: Date): Buffer {
  return der(
    0x18,
    Buffer.from(
      date
        .toISOString()
        .replace(/[-:T]/g, '')
        .replace(/\.\d+Z$/, 'Z'),
    ),
  );
}

export function selfSignedCertificate(privateKey: KeyObject, publicKey: KeyObject, commonName: string): string {
  const name = seq(der(0x31, seq(COMMON_NAME, der(0x0c, Buffer.from(commonName)))));
  const now = Date.now();
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))), // version v3
    der(0x02, Buffer.concat([Buffer.from([0x01]), randomBytes(8)])), // positive serial
    seq(ECDSA_WITH_SHA256),
    name,
    seq(generalizedTime(new Date(now - 3600_000)), generalizedTime(new Date(now + 24 * 3600_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const cert = seq(tbs, seq(ECDSA_WITH_SHA256), der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return `-----BEGIN CERTIFICATE-----\n${cert
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END CERTIFICATE-----\n`;
}
