// The one Prometheus adapter: instant queries at an explicit time (so a check is reproducible and a
// fake clock can drive it), with a timeout and errors that say which of "unreachable", "timed out",
// "refused the credentials", "rejected the query" happened. An empty result is not an error: callers
// decide what "no data" means. Managed Prometheus: SigV4 (Amazon Managed Service for Prometheus, with the
// AWS SDK's default credential chain, loaded on first use), a bearer token, basic auth, and fixed
// headers (X-Scope-OrgID for Mimir/Cortex). Secrets come from the environment or a file, never the config.
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { redactSecrets } from '../redact.ts';
import { UserError } from '../errors.ts';

export type PrometheusErrorKind = 'timeout' | 'unreachable' | 'http' | 'query' | 'malformed' | 'auth';

export class PrometheusError extends Error {
  constructor(
    message: string,
    readonly kind: PrometheusErrorKind,
  ) {
    super(message);
  }
}

const secretSource = z
  .object({
    /** Environment variable holding the secret. */
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .optional(),
    /** File holding it (a mounted Secret, a projected token); read on each query, so rotation needs no restart. */
    file: z.string().min(1).optional(),
  })
  .strict()
  .refine((s) => (s.env === undefined) !== (s.file === undefined), 'set exactly one of env or file');

/** `canary.prometheus`: how to authenticate to Prometheus (at most one scheme) and extra headers. */
export const prometheusAuthSchema = z
  .object({
    /** Amazon Managed Service for Prometheus: requests signed with SigV4, credentials from the SDK's default chain. */
    sigv4: z
      .object({
        region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region like eu-west-1'),
        service: z.string().min(1).default('aps'),
      })
      .strict()
      .optional(),
    bearerToken: secretSource.optional(),
    basicAuth: z
      .object({ username: z.string().min(1), password: secretSource })
      .strict()
      .optional(),
    /** Sent with every query, e.g. `X-Scope-OrgID: tenant-1` for Mimir, Cortex or a Thanos query frontend. */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name'), z.string()).default({}),
  })
  .strict()
  .refine((a) => [a.sigv4, a.bearerToken, a.basicAuth].filter(Boolean).length <= 1, 'choose one of sigv4, bearerToken and basicAuth')
  .refine(
    (a) =>
      !Object.keys(a.headers).some(
        (h) =>
          ['authorization', 'host', 'content-type', 'content-length'].includes(h.toLowerCase()) || h.toLowerCase().startsWith('x-amz-'),
      ),
    {
      message: 'headers may not set Authorization, Host, Content-* or X-Amz-* (use bearerToken, basicAuth or sigv4)',
    },
  )
  .prefault({});

export type PrometheusAuthConfig = z.infer<typeof prometheusAuthSchema>;
type SecretSource = z.infer<typeof secretSource>;

/** A secret named in the config that is not there: refused when the adapter is built, before any query. */
export class PrometheusSecretError extends UserError {}

function describeSource(s: SecretSource): string {
  return s.env !== undefined ? `environment variable ${s.env}` : `file ${s.file}`;
}

/** Reads a secret; the env is read once (it cannot change), a file on every call (rotation). */
function secretReader(s: SecretSource, what: string, env: NodeJS.ProcessEnv): () => Promise<string> {
  if (s.env !== undefined) {
    const value = env[s.env]?.trim();
    if (!value) throw new PrometheusSecretError(`canary.prometheus.${what} names the environment variable ${s.env}, which is not set`);
    return async () => value;
  }
  const file = s.file!;
  return async () => {
    let text: string;
    try {
      text = (await readFile(file, 'utf8')).trim();
    } catch (err) {
      throw new PrometheusError(
        `cannot read the ${what} file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): fix canary.prometheus.${what}.file or the mounted Secret`,
        'auth',
      );
    }
    if (!text) throw new PrometheusError(`the ${what} file ${file} is empty`, 'auth');
    return text;
  };
}

/** SHA-256 and HMAC-SHA256 for the SigV4 signer, from node:crypto (the signer takes any Checksum). */
class Sha256 {
  private hash!: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.reset();
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

function bytes(d: string | ArrayBuffer | ArrayBufferView): Buffer | string {
  if (typeof d === 'string') return d;
  return ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);
}

type Signer = (url: URL, headers: Record<string, string>, body: string) => Promise<Record<string, string>>;

/** A SigV4 signer over the SDK's default credential chain (env, profile, SSO, IRSA web identity, ECS, IMDS). */
function sigv4Signer(region: string, service: string): Signer {
  let signer: Promise<{ sign(req: unknown): Promise<{ headers: Record<string, string> }> }> | undefined;
  const load = async () => {
    const [{ SignatureV4 }, { defaultProvider }] = await Promise.all([
      import('@smithy/signature-v4'),
      import('@aws-sdk/credential-provider-node'),
    ]);
    return new SignatureV4({ credentials: defaultProvider(), region, service, sha256: Sha256 }) as unknown as {
      sign(req: unknown): Promise<{ headers: Record<string, string> }>;
    };
  };
  return async (url, headers, body) => {
    signer ??= load();
    try {
      const signed = await (
        await signer
      ).sign({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: {},
        headers: { ...headers, host: url.host },
        body,
      });
      const { host: _host, ...rest } = signed.headers;
      return rest;
    } catch (err) {
      throw new PrometheusError(
        `no AWS credentials to sign Prometheus queries with SigV4 (${(err as Error).message}): on EKS give archshift's service account an IAM role (IRSA or Pod Identity) allowed aps:QueryMetrics; elsewhere set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`,
        'auth',
      );
    }
  };
}

export interface Sample {
  labels: Record<string, string>;
  /** NaN and ±Inf come through as such (histogram_quantile over no traffic gives NaN). */
  value: number;
}

interface ApiAnswer {
  status: 'success' | 'error';
  data?: { resultType: string; result: unknown };
  errorType?: string;
  error?: string;
}

export class Prometheus {
  private readonly base: string;
  private readonly authorize: (url: URL, headers: Record<string, string>, body: string) => Promise<Record<string, string>>;
  /** What to fix when Prometheus says 401/403, by scheme. */
  private readonly authHint: string;

  /** Throws PrometheusSecretError when a secret named in `auth` is missing from the environment. */
  constructor(
    baseUrl: string,
    private readonly timeoutMs = 5000,
    auth: PrometheusAuthConfig = { headers: {} },
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
    const fixed = auth.headers;
    if (auth.sigv4) {
      const sign = sigv4Signer(auth.sigv4.region, auth.sigv4.service);
      this.authorize = (url, headers, body) => sign(url, { ...headers, ...fixed }, body);
      this.authHint = `it refused the SigV4 signature: check that canary.prometheus.sigv4.region (${auth.sigv4.region}) is the workspace's region, the service is ${auth.sigv4.service === 'aps' ? '"aps"' : `"${auth.sigv4.service}" (AMP uses "aps")`}, the clock is right, and the credentials may aps:QueryMetrics on the workspace`;
    } else if (auth.bearerToken) {
      const token = secretReader(auth.bearerToken, 'bearerToken', env);
      this.authorize = async (_u, headers) => ({ ...headers, ...fixed, authorization: `Bearer ${await token()}` });
      this.authHint = `it refused the bearer token from the ${describeSource(auth.bearerToken)}: check or renew it`;
    } else if (auth.basicAuth) {
      const { username } = auth.basicAuth;
      const password = secretReader(auth.basicAuth.password, 'basicAuth.password', env);
      this.authorize = async (_u, headers) => ({
        ...headers,
        ...fixed,
        authorization: `Basic ${Buffer.from(`${username}:${await password()}`).toString('base64')}`,
      });
      this.authHint = `it refused user "${username}" with the password from the ${describeSource(auth.basicAuth.password)}: check both`;
    } else {
      this.authorize = async (_u, headers) => ({ ...headers, ...fixed });
      this.authHint =
        'it wants credentials: set canary.prometheus.sigv4, bearerToken or basicAuth (and headers such as X-Scope-OrgID for Mimir/Cortex)';
    }
  }

  /** Evaluates `promql` at `time`; a scalar comes back as one sample without labels. */
  async query(promql: string, time: Date): Promise<Sample[]> {
    const body = new URLSearchParams({
      query: promql,
      time: (time.getTime() / 1000).toFixed(3),
      timeout: `${Math.max(1, Math.floor(this.timeoutMs / 1000))}s`,
    }).toString();
    const url = new URL(`${this.base}/api/v1/query`);
    const headers = await this.authorize(url, { 'content-type': 'application/x-www-form-urlencoded' }, body);
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        throw new PrometheusError(`Prometheus at ${this.base} did not answer within ${this.timeoutMs} ms`, 'timeout');
      }
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new PrometheusError(`Prometheus at ${this.base} is unreachable: ${cause?.code ?? cause?.message ?? e.message}`, 'unreachable');
    }
    if (res.status === 401 || res.status === 403) {
      const said = await res.text().then(reason, () => '');
      throw new PrometheusError(
        `Prometheus at ${this.base} answered HTTP ${res.status}${said ? ` (${said})` : ''}; ${this.authHint}`,
        'auth',
      );
    }
    let answer: ApiAnswer;
    try {
      answer = (await res.json()) as ApiAnswer;
    } catch {
      throw new PrometheusError(
        `Prometheus at ${this.base} answered HTTP ${res.status} without a JSON body`,
        res.ok ? 'malformed' : 'http',
      );
    }
    if (answer.status !== 'success' || !answer.data) {
      const kind = res.status === 400 || res.status === 422 ? 'query' : answer.errorType === 'timeout' ? 'timeout' : 'http';
      throw new PrometheusError(
        `Prometheus refused the query (${answer.errorType ?? `HTTP ${res.status}`}): ${answer.error ?? 'no reason given'}`,
        kind,
      );
    }
    return toSamples(answer.data.resultType, answer.data.result);
  }

  /** The first sample's value, or undefined when the result is empty or not a number. */
  async value(promql: string, time: Date): Promise<number | undefined> {
    const [first] = await this.query(promql, time);
    return first && Number.isFinite(first.value) ? first.value : undefined;
  }
}

/** The reason in a refusal's body (AWS: `{"message": …}`, Prometheus: `{"error": …}`, proxies: text), short and redacted. */
function reason(text: string): string {
  let said = text.trim();
  try {
    const j = JSON.parse(said) as { message?: unknown; Message?: unknown; error?: unknown };
    said = String(j.message ?? j.Message ?? j.error ?? said);
  } catch {
    // not JSON: the text itself
  }
  return redactSecrets(said.replace(/\s+/g, ' ')).slice(0, 300);
}

function toSamples(type: string, result: unknown): Sample[] {
  if (type === 'scalar') return [{ labels: {}, value: Number((result as [number, string])[1]) }];
  if (type === 'vector' && Array.isArray(result)) {
    return result.map((r: { metric?: Record<string, string>; value?: [number, string] }) => ({
      labels: r.metric ?? {},
      value: Number(r.value?.[1]),
    }));
  }
  throw new PrometheusError(`expected an instant vector or scalar, got ${type}`, 'malformed');
}
