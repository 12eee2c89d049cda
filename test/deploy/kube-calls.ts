// What the code asks of the Kubernetes API, measured rather than written down: every public method of
// the adapter (src/adapters/kubernetes.ts) and the Lease code (src/ops/leader.ts) is driven against the
// API double, and each HTTP request it sends becomes the RBAC permission the real API server would check
// (apiGroup, resource, verb, and where: cluster-wide or one namespace). The RBAC test compares these
// with what deploy/ grants.
//
// Adding a Kubernetes call: add a method to KubeCluster, then one entry to `USES` below saying where its
// callers use it (any namespace, archshift's own, or the canary namespaces) and how to call it. The
// RBAC test then names the rule deploy/ lacks.
import { readFileSync, readdirSync } from 'node:fs';
import ts from 'typescript';
import { KubeCluster, istio } from '../../src/adapters/kubernetes.ts';
import { LeaderElector } from '../../src/ops/leader.ts';
import { createLogger } from '../../src/logger.ts';
import { FakeKubeApi, type RecordedRequest } from '../fakes/kube-api.ts';

const root = new URL('../../', import.meta.url);

/**
 * cluster: callers pass any namespace (or none), so the grant must be cluster-wide.
 * own: archshift's own namespace only (the Lease), with the object names fixed by config.
 * canary: only the namespaces where canaries may run.
 */
export type Scope = 'cluster' | 'own' | 'canary';

interface Use {
  methods: Array<keyof KubeCluster>;
  scope: Scope;
  /** Source folders/files allowed to call these methods (checked): a narrower scope is a promise about callers. */
  callers?: string[];
  /** Calls the methods the way their callers do, in namespace `ns` where one applies. */
  drive(c: KubeCluster, ns: string, lease: { name: string }): Promise<unknown>;
}

const WORKLOADS = 'shop';

export const USES: Use[] = [
  // readiness (check.ts), discovery, the digest inventory, /readyz.
  { methods: ['listNodes'], scope: 'cluster', drive: (c) => c.listNodes() },
  {
    methods: ['listPods'],
    scope: 'cluster',
    drive: (c, ns) => Promise.all([c.listPods(), c.listPods({ namespace: ns, labelSelector: 'app=web' })]),
  },
  {
    methods: ['listDeployments'],
    scope: 'cluster',
    drive: (c, ns) => Promise.all([c.listDeployments({ labelSelector: 'archshift.io/service' }), c.listDeployments({ namespace: ns })]),
  },
  {
    methods: ['listReplicaSets'],
    scope: 'cluster',
    drive: (c, ns) => Promise.all([c.listReplicaSets(), c.listReplicaSets({ namespace: ns })]),
  },
  {
    methods: ['listStatefulSets'],
    scope: 'cluster',
    drive: (c, ns) => Promise.all([c.listStatefulSets(), c.listStatefulSets({ namespace: ns })]),
  },
  {
    methods: ['listDaemonSets'],
    scope: 'cluster',
    drive: (c, ns) => Promise.all([c.listDaemonSets(), c.listDaemonSets({ namespace: ns })]),
  },
  { methods: ['listJobs'], scope: 'cluster', drive: (c, ns) => Promise.all([c.listJobs(), c.listJobs({ namespace: ns })]) },
  { methods: ['listCronJobs'], scope: 'cluster', drive: (c, ns) => Promise.all([c.listCronJobs(), c.listCronJobs({ namespace: ns })]) },
  // `/arm64 check` reads the Deployment of any catalog service, wherever it lives.
  { methods: ['getDeployment'], scope: 'cluster', drive: (c, ns) => c.getDeployment(ns, 'web') },
  { methods: ['ping'], scope: 'cluster', drive: (c) => c.ping() },
  // `nodes`: Karpenter NodePools (v1, then v1beta1 when v1 is not served).
  {
    methods: ['listClusterCustomObjects'],
    scope: 'cluster',
    callers: ['src/nodes/'],
    drive: (c) =>
      Promise.all(['v1', 'v1beta1'].map((version) => c.listClusterCustomObjects({ group: 'karpenter.sh', version, plural: 'nodepools' }))),
  },
  // After a move: a moved workload's pod events and the previous log of a crashed container, in any namespace.
  {
    methods: ['listEvents'],
    scope: 'cluster',
    callers: ['src/nodes/'],
    drive: (c, ns) => c.listEvents(ns, 'involvedObject.kind=Pod,involvedObject.name=web-1'),
  },
  {
    methods: ['readPodLog'],
    scope: 'cluster',
    callers: ['src/nodes/'],
    drive: (c, ns) => c.readPodLog(ns, 'web-1', 'web', { previous: true, tailLines: 20 }),
  },
  // The canary reads the service's VirtualService and DestinationRule and moves the VirtualService's weights.
  {
    methods: ['getCustomObject'],
    scope: 'canary',
    callers: ['src/canary/'],
    drive: (c, ns) =>
      Promise.all([c.getCustomObject(istio.virtualService(ns, 'web')), c.getCustomObject(istio.destinationRule(ns, 'web'))]),
  },
  {
    methods: ['patchCustomObject'],
    scope: 'canary',
    callers: ['src/canary/'],
    drive: (c, ns) => c.patchCustomObject(istio.virtualService(ns, 'web'), { spec: { http: [] } }),
  },
  // Replica-stepped canaries (workers, consumers) move the replica counts of the two Deployments.
  { methods: ['scaleDeployment'], scope: 'canary', callers: ['src/canary/'], drive: (c, ns) => c.scaleDeployment(ns, 'web', 2) },
  // Leader election for singleton work: the elector's whole life (acquire, renew, claim a slot, hand back).
  {
    methods: ['readLease', 'createLease', 'replaceLease'],
    scope: 'own',
    callers: ['src/ops/leader.ts'],
    drive: async (c, ns, lease) => {
      const elector = new LeaderElector({
        api: c,
        namespace: ns,
        name: lease.name,
        identity: 'archshift-0',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
        logger: createLogger('silent'),
      });
      await elector.tryAcquireOrRenew();
      await elector.tryAcquireOrRenew();
      await elector.claim('digest:2026-12-01T09:00');
      await elector.stop();
    },
  },
];

/** One permission as RBAC checks it; `name` only where the object's name is fixed (resourceNames). */
export interface Access {
  group: string;
  resource: string;
  verb: string;
  /** `cluster-wide` or `namespace <ns>`. */
  where: string;
  name?: string;
}

export const accessKey = (a: Access): string =>
  `${a.where}: ${a.verb} ${a.resource}${a.group ? `.${a.group}` : ''}${a.name ? ` (resourceNames: ${a.name})` : ''}`;

/** The RBAC attributes of one API request (the request-info rules of the apiserver). */
export function accessOf(r: RecordedRequest): Omit<Access, 'where'> & { namespace?: string } {
  const parts = r.path.split('/').filter(Boolean);
  const [group, rest] = parts[0] === 'api' ? ['', parts.slice(2)] : [parts[1], parts.slice(3)];
  const namespaced = rest[0] === 'namespaces' && rest.length >= 3;
  const [plural, name, sub] = namespaced ? rest.slice(2) : rest;
  const namespace = namespaced ? rest[1] : undefined;
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' };
  const verb =
    r.method === 'GET'
      ? r.query.get('watch') === 'true' || r.query.get('watch') === '1'
        ? 'watch'
        : name
          ? 'get'
          : 'list'
      : verbs[r.method];
  return { group, resource: sub ? `${plural}/${sub}` : plural, verb, name, namespace };
}

export interface Deployment {
  /** archshift's own namespace (its ServiceAccount's). */
  namespace: string;
  /** Namespaces where canaries may run. */
  canaryNamespaces: string[];
  /** The Lease, when leader election is on. */
  lease?: { namespace: string; name: string };
}

/** Every permission the code needs in this deployment, from the requests it actually sends. */
export async function requiredAccess(d: Deployment): Promise<Map<string, Access>> {
  const kube = await new FakeKubeApi().start();
  const cluster = new KubeCluster('in-cluster', kube.kubeConfig());
  const needed = new Map<string, Access>();
  try {
    const runs: Array<{ use: Use; ns: string; where: string }> = [];
    for (const use of USES) {
      if (use.scope === 'cluster') runs.push({ use, ns: WORKLOADS, where: 'cluster-wide' });
      if (use.scope === 'canary') for (const ns of d.canaryNamespaces) runs.push({ use, ns, where: `namespace ${ns}` });
      if (use.scope === 'own' && d.lease) runs.push({ use, ns: d.lease.namespace, where: `namespace ${d.lease.namespace}` });
    }
    for (const { use, ns, where } of runs) {
      kube.put(`/apis/apps/v1/namespaces/${ns}/deployments`, { metadata: { name: 'web' } });
      kube.put(`/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices`, { metadata: { name: 'web' }, spec: { http: [] } });
      kube.put(`/apis/networking.istio.io/v1/namespaces/${ns}/destinationrules`, { metadata: { name: 'web' }, spec: {} });
      const from = kube.requests.length;
      await use.drive(cluster, ns, { name: d.lease?.name ?? 'archshift-leader' });
      const sent = kube.requests.slice(from);
      if (!sent.length) throw new Error(`driving ${use.methods.join(', ')} sent no request`);
      for (const r of sent) {
        const { namespace, name, ...rest } = accessOf(r);
        if (use.scope !== 'cluster' && namespace !== ns)
          throw new Error(`${use.methods.join(', ')}: ${r.method} ${r.path} left namespace ${ns}`);
        // Only the Lease's name is fixed by config; other names are whatever a user asks about.
        const a: Access = { ...rest, where, ...(use.scope === 'own' && name ? { name } : {}) };
        needed.set(accessKey(a), a);
      }
    }
  } finally {
    await kube.stop();
  }
  return needed;
}

/** The public methods of KubeCluster, read from its source (private helpers are on the prototype too). */
export function adapterMethods(): string[] {
  const file = 'src/adapters/kubernetes.ts';
  const sf = ts.createSourceFile(file, readFileSync(new URL(file, root), 'utf8'), ts.ScriptTarget.Latest, true);
  const cls = sf.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === 'KubeCluster');
  if (!cls) throw new Error(`no class KubeCluster in ${file}`);
  return cls.members
    .filter((m): m is ts.MethodDeclaration => ts.isMethodDeclaration(m))
    .filter((m) => !ts.getModifiers(m)?.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword))
    .map((m) => m.name.getText(sf))
    .filter((n) => !n.startsWith('#'));
}

/** Every .ts file of the running code (src/, commands/, bin/), as repository paths. */
export function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(new URL(dir, root), { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js)$/.test(e.name)) out.push(p);
    }
  };
  for (const d of ['src', 'commands', 'bin']) walk(d);
  return out;
}

export const readSource = (p: string): string => readFileSync(new URL(p, root), 'utf8');
