// A Kubernetes API server double with real state: any resource path (core `/api/v1/...` and
// `/apis/<group>/<version>/...`), list with labelSelector (a malformed one refused with 400, as the API
// server does), fieldSelector (only the fields the API server supports per kind) and limit/continue
// pagination, get, create (409 AlreadyExists), replace (409 Conflict on a stale resourceVersion), patch
// (merge, strategic treated as merge on built-in kinds and refused with 415 on custom resources, JSON
// Patch; a JSON body sent as json-patch is refused as the real apiserver does), an expired continue token
// (410 Expired), delete, the scale
// subresource of Deployments/StatefulSets/ReplicaSets, and watch streams. Faults and latency can be injected per request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenLocal } from './net.ts';
import { KubeConfig } from '@kubernetes/client-node';

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
};

interface Route {
  prefix: string; // "/api/v1" or "/apis/apps/v1"
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType?: string;
  body?: unknown;
}

export interface Fault {
  method?: string;
  path: RegExp;
  status: number;
  message?: string;
  /** How many matching requests fail; default 1. */
  times?: number;
  /** Never answer (to exercise client timeouts). */
  hang?: boolean;
  /** Only list requests that carry a continue token (a later page) match. */
  continued?: boolean;
}

interface Watcher {
  key: string; // prefix|plural
  namespace?: string;
  res: ServerResponse;
  selector: (o: KubeObject) => boolean;
}

export class FakeKubeApi {
  private objects = new Map<string, KubeObject>(); // key: prefix|plural|ns|name
  private rv = 1;
  private faults: Fault[] = [];
  private watchers = new Set<Watcher>();
  private server?: Server;
  readonly requests: RecordedRequest[] = [];
  /** Previous-container logs served at pods/<name>/log, keyed `<namespace>/<pod>/<container>`. */
  readonly podLogs = new Map<string, string>();
  /** Added to every answer, to measure clients under API latency. */
  latencyMs = 0;
  /** When set, every request must carry this bearer token. */
  token = 'test-token';
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.url = await listenLocal(this.server);
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    await closeServer(this.server);
  }

  /** A KubeConfig pointing at this double, as the bot would load one. */
  kubeConfig(context = 'fake'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: context, server: this.url, skipTLSVerify: true }],
      users: [{ name: 'bot', token: this.token }],
      contexts: [{ name: context, cluster: context, user: 'bot' }],
      currentContext: context,
    });
    return kc;
  }

  /** Seeds an object. `path` is the collection, e.g. `/apis/apps/v1/namespaces/shop/deployments`. */
  put(collection: string, obj: KubeObject): KubeObject {
    const route = parsePath(`${collection}/${obj.metadata.name}`);
    if (!route) throw new Error(`not a resource path: ${collection}`);
    return this.save(route, structuredClone(obj), 'ADDED');
  }

  get(collection: string, name: string): KubeObject | undefined {
    const route = parsePath(`${collection}/${name}`);
    return route ? structuredClone(this.objects.get(keyOf(route))) : undefined;
  }

  remove(collection: string, name: string): void {
    const route = parsePath(`${collection}/${name}`);
    if (!route) return;
    const old = this.objects.get(keyOf(route));
    if (old) {
      this.objects.delete(keyOf(route));
      this.notify(route, 'DELETED', old);
    }
  }

  fail(fault: Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  private save(route: Route, obj: KubeObject, event: 'ADDED' | 'MODIFIED'): KubeObject {
    obj.metadata.resourceVersion = String(++this.rv);
    if (route.namespace) obj.metadata.namespace = route.namespace;
    obj.metadata.uid ??= `uid-${this.rv}`;
    obj.metadata.creationTimestamp ??= new Date(0).toISOString();
    this.objects.set(keyOf(route), obj);
    this.notify(route, event, obj);
    return obj;
  }

  private notify(route: Route, type: string, obj: KubeObject): void {
    for (const w of this.watchers) {
      if (w.key !== `${route.prefix}|${route.plural}`) continue;
      if (w.namespace && w.namespace !== route.namespace) continue;
      if (!w.selector(obj)) continue;
      w.res.write(JSON.stringify({ type, object: obj }) + '\n');
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return send(res, 400, status(400, 'BadRequest', 'request body is not JSON'));
    }
    const contentType = req.headers['content-type']?.split(';')[0];
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, contentType, body });

    if (this.token && req.headers.authorization !== `Bearer ${this.token}`) {
      return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    const fault = this.faults.find(
      (f) => (!f.method || f.method === req.method) && f.path.test(url.pathname) && (!f.continued || url.searchParams.has('continue')),
    );
    if (fault) {
      if (--fault.times! <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      if (fault.hang) return; // the client's timeout must fire
      const reason = fault.status === 410 ? 'Expired' : 'InternalError';
      return send(res, fault.status, status(fault.status, reason, fault.message ?? 'injected fault'));
    }
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));

    const route = parsePath(url.pathname);
    if (!route) return send(res, 404, status(404, 'NotFound', `the server could not find the requested resource`));
    const method = req.method ?? 'GET';
    if (method === 'GET' && !route.name) {
      return url.searchParams.get('watch') === 'true' ? this.watch(route, url.searchParams, res) : this.list(route, url.searchParams, res);
    }
    if (method === 'POST' && !route.name) return this.create(route, body as KubeObject, res);
    if (method === 'GET' && route.plural === 'pods' && route.subresource === 'log') return this.log(route, url.searchParams, res);
    if (route.subresource === 'scale' && SCALABLE.has(`${route.prefix}|${route.plural}`))
      return this.scale(route, method, contentType, body, res);
    const key = keyOf(route);
    const existing = this.objects.get(key);
    const notFound = () => send(res, 404, status(404, 'NotFound', `${route.plural} "${route.name}" not found`));
    switch (method) {
      case 'GET':
        return existing ? send(res, 200, existing) : notFound();
      case 'DELETE':
        if (!existing) return notFound();
        this.objects.delete(key);
        this.notify(route, 'DELETED', existing);
        return send(res, 200, status(200, 'Success', 'deleted'));
      case 'PUT': {
        if (!existing) return notFound();
        const next = body as KubeObject;
        const sent = next?.metadata?.resourceVersion;
        if (sent && sent !== existing.metadata.resourceVersion) {
          return send(
            res,
            409,
            status(
              409,
              'Conflict',
              `Operation cannot be fulfilled on ${route.plural} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`,
            ),
          );
        }
        return send(res, 200, this.save(route, { ...next, metadata: { ...existing.metadata, ...next.metadata } }, 'MODIFIED'));
      }
      case 'PATCH': {
        if (!existing) return notFound();
        let patched: KubeObject;
        if (contentType === 'application/json-patch+json') {
          if (!Array.isArray(body)) {
            return send(res, 400, status(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp'));
          }
          const result = applyJsonPatch(existing, body as JsonPatchOp[]);
          if (typeof result === 'string')
            return send(res, result.startsWith('test') ? 409 : 422, status(result.startsWith('test') ? 409 : 422, 'Invalid', result));
          patched = result;
        } else if (
          contentType === 'application/merge-patch+json' ||
          // Custom resources have no patch strategy metadata: the apiserver refuses strategic merge for them (415 below).
          (contentType === 'application/strategic-merge-patch+json' && !isCustomResource(route))
        ) {
          patched = mergePatch(existing, body) as KubeObject;
        } else {
          return send(
            res,
            415,
            status(
              415,
              'UnsupportedMediaType',
              `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
            ),
          );
        }
        patched.metadata = { ...patched.metadata, name: existing.metadata.name };
        return send(res, 200, this.save(route, patched, 'MODIFIED'));
      }
      default:
        return send(res, 405, status(405, 'MethodNotAllowed', `method ${method} not allowed`));
    }
  }

  /** The API server's pods/log: plain text, `container` required for multi-container pods, `tailLines` honoured. */
  private log(route: Route, query: URLSearchParams, res: ServerResponse): void {
    const pod = this.objects.get(keyOf({ ...route, subresource: undefined })) as { spec?: { containers?: { name: string }[] } } | undefined;
    if (!pod) return send(res, 404, status(404, 'NotFound', `pods "${route.name}" not found`));
    const names = (pod.spec?.containers ?? []).map((c) => c.name);
    const container = query.get('container') ?? (names.length === 1 ? names[0] : undefined);
    if (!container)
      return send(
        res,
        400,
        status(400, 'BadRequest', `a container name must be specified for pod ${route.name}, choose one of: [${names.join(' ')}]`),
      );
    const text = this.podLogs.get(`${route.namespace}/${route.name}/${container}`);
    if (text === undefined)
      return send(res, 400, status(400, 'BadRequest', `previous terminated container "${container}" in pod "${route.name}" not found`));
    const tail = Number(query.get('tailLines') ?? 0);
    const lines = text.split('\n');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end((tail > 0 ? lines.slice(-tail) : lines).join('\n'));
  }

  /**
   * The scale subresource (autoscaling/v1 Scale) of Deployments, StatefulSets and ReplicaSets: GET, and a
   * merge (or strategic merge) PATCH whose `spec.replicas` must be a whole number ≥ 0, as the API server
   * validates it. Only the owner's spec.replicas changes; its status stays until its controller acts
   * (tests play that part), so "scaled up" and "ready" are apart as they are in a real cluster.
   */
  private scale(route: Route, method: string, contentType: string | undefined, body: unknown, res: ServerResponse): void {
    const owner = this.objects.get(keyOf(route)) as
      (KubeObject & { spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } } }) | undefined;
    const kind = `${route.plural}.${route.prefix.split('/')[2]}`;
    if (!owner) return send(res, 404, status(404, 'NotFound', `${kind} "${route.name}" not found`));
    const selector = Object.entries(owner.spec?.selector?.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const asScale = (o: typeof owner) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: o.metadata.name,
        namespace: o.metadata.namespace,
        resourceVersion: o.metadata.resourceVersion,
        uid: o.metadata.uid,
      },
      spec: { replicas: o.spec?.replicas ?? 1 },
      status: { replicas: (o.status as { replicas?: number } | undefined)?.replicas ?? 0, selector },
    });
    if (method === 'GET') return send(res, 200, asScale(owner));
    if (method !== 'PATCH') return send(res, 405, status(405, 'MethodNotAllowed', `method ${method} not allowed`));
    if (contentType !== 'application/merge-patch+json' && contentType !== 'application/strategic-merge-patch+json') {
      return send(
        res,
        415,
        status(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        ),
      );
    }
    const patched = mergePatch(asScale(owner), body) as ReturnType<typeof asScale>;
    const sent = patched.metadata?.resourceVersion;
    if (sent && sent !== owner.metadata.resourceVersion) {
      return send(
        res,
        409,
        status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${kind} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`,
        ),
      );
    }
    const replicas = patched.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) {
      return send(
        res,
        422,
        status(
          422,
          'Invalid',
          `Scale.autoscaling "${route.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        ),
      );
    }
    const next = structuredClone(owner);
    next.spec = { ...next.spec, replicas };
    send(res, 200, asScale(this.save(route, next, 'MODIFIED') as typeof owner));
  }

  private matching(route: Route, query: URLSearchParams): KubeObject[] {
    const fields = fieldSelector(route.plural, query.get('fieldSelector') ?? '');
    if (typeof fields === 'string') throw new FieldSelectorError(fields);
    const selector = labelSelector(query.get('labelSelector') ?? '');
    if (typeof selector === 'string') throw new FieldSelectorError(selector);
    const prefix = `${route.prefix}|${route.plural}|`;
    return [...this.objects.entries()]
      .filter(
        ([k, o]) => k.startsWith(prefix) && (!route.namespace || o.metadata.namespace === route.namespace) && selector(o) && fields(o),
      )
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, o]) => o);
  }

  private list(route: Route, query: URLSearchParams, res: ServerResponse): void {
    let all: KubeObject[];
    try {
      all = this.matching(route, query);
    } catch (err) {
      if (err instanceof FieldSelectorError) return send(res, 400, status(400, 'BadRequest', err.message));
      throw err;
    }
    const limit = Number(query.get('limit') ?? 0);
    const start = Number(query.get('continue') ?? 0);
    if (query.get('continue') && !/^\d+$/.test(query.get('continue')!)) {
      return send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old'));
    }
    const items = limit > 0 ? all.slice(start, start + limit) : all;
    const next = limit > 0 && start + limit < all.length ? String(start + limit) : undefined;
    send(res, 200, {
      kind: 'List',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next, remainingItemCount: all.length - start - limit } : {}) },
      items,
    });
  }

  private watch(route: Route, query: URLSearchParams, res: ServerResponse): void {
    const selector = labelSelector(query.get('labelSelector') ?? '');
    if (typeof selector === 'string') return send(res, 400, status(400, 'BadRequest', selector));
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const watcher: Watcher = { key: `${route.prefix}|${route.plural}`, namespace: route.namespace, res, selector };
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
    const timeout = Number(query.get('timeoutSeconds') ?? 0);
    if (timeout > 0) setTimeout(() => res.end(), timeout * 1000).unref();
  }

  private create(route: Route, obj: KubeObject, res: ServerResponse): void {
    if (!obj?.metadata?.name) return send(res, 422, status(422, 'Invalid', 'metadata.name: Required value'));
    const full = { ...route, name: obj.metadata.name };
    if (this.objects.has(keyOf(full))) {
      return send(res, 409, status(409, 'AlreadyExists', `${route.plural} "${obj.metadata.name}" already exists`));
    }
    send(res, 201, this.save(full, structuredClone(obj), 'ADDED'));
  }
}

class FieldSelectorError extends Error {}

/** Kinds that serve the scale subresource (`<prefix>|<plural>`). */
const SCALABLE = new Set(['/apis/apps/v1|deployments', '/apis/apps/v1|statefulsets', '/apis/apps/v1|replicasets']);

/** Field selectors the real API server accepts for these kinds (others answer 400 "field label not supported"). */
const SELECTABLE_FIELDS: Record<string, string[]> = {
  events: ['involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'reason', 'type', 'source'],
  pods: ['spec.nodeName', 'status.phase', 'spec.serviceAccountName'],
};

function fieldSelector(plural: string, text: string): ((o: KubeObject) => boolean) | string {
  const terms = text
    .split(',')
    .filter(Boolean)
    .map((t) => /^([\w.]+)(==|=|!=)(.*)$/.exec(t));
  const tests: ((o: KubeObject) => boolean)[] = [];
  for (const m of terms) {
    if (!m) return `invalid field selector: ${text}`;
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!['metadata.name', 'metadata.namespace', ...(SELECTABLE_FIELDS[plural] ?? [])].includes(field))
      return `field label not supported: ${field}`;
    const read = (o: KubeObject) =>
      String(field.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o) ?? '');
    tests.push((o) => (op === '!=' ? read(o) !== value : read(o) === value));
  }
  return (o) => tests.every((t) => t(o));
}

function parsePath(path: string): Route | undefined {
  const parts = path.split('/').filter(Boolean);
  let prefix: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') {
    prefix = '/api/v1';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    prefix = `/apis/${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 3) return undefined;
  return { prefix, namespace, plural: rest[0], name: rest[1], subresource: rest[2] };
}

/** Groups served by CRDs: dotted, and not one of Kubernetes' own `*.k8s.io` groups (core and `apps` have no dot). */
function isCustomResource(r: Route): boolean {
  const group = r.prefix.split('/')[2] ?? '';
  return r.prefix.startsWith('/apis/') && group.includes('.') && !group.endsWith('.k8s.io');
}

function keyOf(r: Route): string {
  return `${r.prefix}|${r.plural}|${r.namespace ?? ''}|${r.name}`;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: code < 300 ? 'Success' : 'Failure', message, reason, code };
}

/** A label key as the API server validates it: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric. */
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * Equality (`a=b`, `a==b`), inequality (`a!=b`), existence (`a`, `!a`) and set (`a in (x,y)`, `a notin (x)`)
 * selectors; anything else (a bad key, a stray operator) is refused with the API server's 400 words.
 */
function labelSelector(expr: string): ((o: KubeObject) => boolean) | string {
  const terms = expr
    .split(/,(?![^(]*\))/)
    .map((t) => t.trim())
    .filter(Boolean);
  const tests: ((labels: Record<string, string>) => boolean)[] = [];
  for (const t of terms) {
    let m: RegExpMatchArray | null;
    if ((m = t.match(/^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const set = list.split(',').map((x) => x.trim());
      if (!LABEL_KEY.test(key)) return `unable to parse requirement: invalid label key "${key}"`;
      if (!set.every((v) => LABEL_VALUE.test(v))) return `unable to parse requirement: invalid label value in "${list}"`;
      tests.push(op === 'in' ? (l) => set.includes(l[key]!) : (l) => !set.includes(l[key]!));
    } else if ((m = t.match(/^([^=!\s]+)\s*(!=|==|=)\s*(.*)$/))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      if (!LABEL_KEY.test(key)) return `unable to parse requirement: invalid label key "${key}"`;
      if (!LABEL_VALUE.test(value)) return `unable to parse requirement: invalid label value: "${value}"`;
      tests.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if (LABEL_KEY.test(t.replace(/^!/, ''))) {
      const key = t.replace(/^!/, '');
      tests.push(t.startsWith('!') ? (l) => !(key in l) : (l) => key in l);
    } else return `unable to parse requirement: found '${t}', expected: identifier`;
  }
  return (o) => tests.every((test) => test(o.metadata.labels ?? {}));
}

/** RFC 7386: objects merge, null deletes, everything else (lists included) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

function applyJsonPatch(obj: KubeObject, ops: JsonPatchOp[]): KubeObject | string {
  const doc = structuredClone(obj) as Record<string, unknown>;
  for (const op of ops) {
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop()!;
    let parent: Record<string, unknown> | unknown[] = doc;
    for (const k of keys) {
      const next: unknown = (parent as Record<string, unknown>)[k];
      if (next === undefined || next === null || typeof next !== 'object') return `${op.op} ${op.path}: path does not exist`;
      parent = next as Record<string, unknown>;
    }
    const container = parent as Record<string, unknown>;
    if (op.op === 'test') {
      if (JSON.stringify(container[last]) !== JSON.stringify(op.value)) return `test failed for ${op.path}`;
    } else if (op.op === 'remove') {
      if (!(last in container)) return `remove ${op.path}: path does not exist`;
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete container[last];
    } else if (Array.isArray(parent) && op.op === 'add') {
      parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
    } else {
      if (op.op === 'replace' && !(last in container)) return `replace ${op.path}: path does not exist`;
      container[last] = op.value;
    }
  }
  return doc as KubeObject;
}
