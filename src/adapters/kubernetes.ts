// The one Kubernetes adapter: typed reads (always paginated), Istio custom objects, merge patches and
// Leases, per cluster (kubeconfig context). Every call has a timeout; errors keep the API's status code.
import type {
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RequestContext,
  ResponseContext,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1CronJob,
  V1Lease,
  V1Node,
  V1Pod,
  CoreV1Event,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { Config } from '../config/schema.ts';
import { redactSecrets } from '../redact.ts';

type ClientNode = typeof import('@kubernetes/client-node');
let clientNode: Promise<ClientNode> | undefined;
/** The client library costs ~50 MB of RSS, so it is loaded on first use: a bot with no cluster never loads it. */
const loadClientNode = () => (clientNode ??= import('@kubernetes/client-node'));

interface Clients {
  lib: ClientNode;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
}

export class KubeError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(redactSecrets(message));
  }
}

type Options = NonNullable<Parameters<CoreV1Api['listNode']>[1]>;

/** How often one list starts over after its continue token expired (410) mid-way. */
const MAX_LIST_RESTARTS = 3;

interface ListPage<T> {
  items: T[];
  metadata?: { _continue?: string };
}

export interface ListQuery {
  namespace?: string;
  labelSelector?: string;
}

export interface CustomObjectRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export const istio = {
  virtualService: (namespace: string, name: string): CustomObjectRef => ({
    group: 'networking.istio.io',
    version: 'v1',
    plural: 'virtualservices',
    namespace,
    name,
  }),
  destinationRule: (namespace: string, name: string): CustomObjectRef => ({
    group: 'networking.istio.io',
    version: 'v1',
    plural: 'destinationrules',
    namespace,
    name,
  }),
};

/** One cluster, reached through one kubeconfig context. */
export class KubeCluster {
  private clients?: Promise<Clients>;
  private nodeRuns = 0;
  private sharedNodes?: Promise<V1Node[]>;

  constructor(
    readonly name: string,
    private readonly kc: KubeConfig,
    private readonly timeoutMs = 10_000,
    private readonly pageSize = 500,
  ) {}

  listNodes(q: ListQuery = {}): Promise<V1Node[]> {
    if (this.nodeRuns > 0 && !q.labelSelector) {
      // A failed read is not shared: the next caller asks again.
      return (this.sharedNodes ??= this.readNodes(q).catch((err: unknown) => {
        this.sharedNodes = undefined;
        throw err;
      }));
    }
    return this.readNodes(q);
  }

  private readNodes(q: ListQuery): Promise<V1Node[]> {
    return this.paginate('nodes', ({ core }, o, c) =>
      core.listNode({ labelSelector: q.labelSelector, limit: this.pageSize, _continue: c }, o),
    );
  }

  /**
   * For Kubernetes.withNodesReadOnce: while `fn` runs, one node list serves every caller. (A property, not
   * a method: the RBAC derivation drives every method as an API call, and this makes none.)
   */
  readonly shareNodes = async <R>(fn: () => Promise<R>): Promise<R> => {
    this.nodeRuns++;
    try {
      return await fn();
    } finally {
      if (--this.nodeRuns === 0) this.sharedNodes = undefined;
    }
  };

  listPods(q: ListQuery = {}): Promise<V1Pod[]> {
    return this.paginate('pods', ({ core }, o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? core.listNamespacedPod({ ...p, namespace: q.namespace }, o) : core.listPodForAllNamespaces(p, o);
    });
  }

  listDeployments(q: ListQuery = {}): Promise<V1Deployment[]> {
    return this.paginate('deployments', ({ apps }, o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? apps.listNamespacedDeployment({ ...p, namespace: q.namespace }, o) : apps.listDeploymentForAllNamespaces(p, o);
    });
  }

  listReplicaSets(q: ListQuery = {}): Promise<V1ReplicaSet[]> {
    return this.paginate('replicasets', ({ apps }, o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? apps.listNamespacedReplicaSet({ ...p, namespace: q.namespace }, o) : apps.listReplicaSetForAllNamespaces(p, o);
    });
  }

  listStatefulSets(q: ListQuery = {}): Promise<V1StatefulSet[]> {
    return this.paginate('statefulsets', ({ apps }, o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? apps.listNamespacedStatefulSet({ ...p, namespace: q.namespace }, o) : apps.listStatefulSetForAllNamespaces(p, o);
    });
  }

  listDaemonSets(q: ListQuery = {}): Promise<V1DaemonSet[]> {
    return this.paginate('daemonsets', ({ apps }, o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? apps.listNamespacedDaemonSet({ ...p, namespace: q.namespace }, o) : apps.listDaemonSetForAllNamespaces(p, o);
    });
  }

  listJobs(q: ListQuery = {}): Promise<V1Job[]> {
    return this.paginate('jobs', ({ batch }, o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? batch.listNamespacedJob({ ...p, namespace: q.namespace }, o) : batch.listJobForAllNamespaces(p, o);
    });
  }

  listCronJobs(q: ListQuery = {}): Promise<V1CronJob[]> {
    return this.paginate('cronjobs', ({ batch }, o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? batch.listNamespacedCronJob({ ...p, namespace: q.namespace }, o) : batch.listCronJobForAllNamespaces(p, o);
    });
  }

  /** Cluster-scoped custom objects (e.g. Karpenter NodePools); undefined when the API group/version is not served. */
  async listClusterCustomObjects<T = Record<string, unknown>>(
    ref: Pick<CustomObjectRef, 'group' | 'version' | 'plural'>,
  ): Promise<T[] | undefined> {
    try {
      return await this.paginate(
        `${ref.plural}.${ref.group}/${ref.version}`,
        async ({ custom }, o, c) =>
          (await custom.listClusterCustomObject({ ...ref, limit: this.pageSize, _continue: c }, o)) as ListPage<T>,
      );
    } catch (err) {
      if (err instanceof KubeError && err.code === 404) return undefined;
      throw err;
    }
  }

  /** Events in a namespace, e.g. `involvedObject.name=<pod>` for one pod's scheduling history. */
  listEvents(namespace: string, fieldSelector?: string): Promise<CoreV1Event[]> {
    return this.paginate('events', ({ core }, o, c) =>
      core.listNamespacedEvent({ namespace, fieldSelector, limit: this.pageSize, _continue: c }, o),
    );
  }

  /** The last lines a (previous, when it crashed) container printed; undefined when there are none. */
  readPodLog(
    namespace: string,
    name: string,
    container: string,
    opts: { previous?: boolean; tailLines?: number } = {},
  ): Promise<string | undefined> {
    return this.call(`read log of pod ${namespace}/${name}`, ({ core, lib }) =>
      core.readNamespacedPodLog(
        { namespace, name, container, previous: opts.previous, tailLines: opts.tailLines, limitBytes: 64 * 1024 },
        this.options(lib),
      ),
    ).catch((err: unknown) => {
      // 400: no previous container (never crashed); 404: the pod went away.
      if (err instanceof KubeError && (err.code === 400 || err.code === 404)) return undefined;
      throw err;
    });
  }

  /** The Deployment, or undefined when it does not exist. */
  getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    return this.orUndefined(`deployment ${namespace}/${name}`, ({ apps, lib }) =>
      apps.readNamespacedDeployment({ namespace, name }, this.options(lib)),
    );
  }

  /**
   * Sets a Deployment's replicas through its scale subresource (a merge patch of autoscaling/v1 Scale):
   * the grant `deployments/scale patch` can change the replica count and nothing else of the Deployment.
   */
  async scaleDeployment(namespace: string, name: string, replicas: number): Promise<number> {
    const scale = await this.call(`scale deployment ${namespace}/${name}`, ({ apps, lib }) =>
      apps.patchNamespacedDeploymentScale(
        { namespace, name, body: { spec: { replicas } } },
        lib.setHeaderOptions('Content-Type', lib.PatchStrategy.MergePatch, this.options(lib)),
      ),
    );
    return scale.spec?.replicas ?? 0;
  }

  getCustomObject<T = Record<string, unknown>>(ref: CustomObjectRef): Promise<T | undefined> {
    return this.orUndefined(
      `${ref.plural} ${ref.namespace}/${ref.name}`,
      async ({ custom, lib }) => (await custom.getNamespacedCustomObject(ref, this.options(lib))) as T,
    );
  }

  /** RFC 7386 merge patch (lists are replaced whole, so send the complete list). */
  patchCustomObject<T = Record<string, unknown>>(ref: CustomObjectRef, body: unknown): Promise<T> {
    return this.call(
      `patch ${ref.plural} ${ref.namespace}/${ref.name}`,
      async ({ custom, lib }) =>
        (await custom.patchNamespacedCustomObject(
          { ...ref, body },
          lib.setHeaderOptions('Content-Type', lib.PatchStrategy.MergePatch, this.options(lib)),
        )) as T,
    );
  }

  readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    return this.orUndefined(`lease ${namespace}/${name}`, ({ coordination, lib }) =>
      coordination.readNamespacedLease({ namespace, name }, this.options(lib)),
    );
  }

  createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.call(`create lease ${namespace}/${body.metadata?.name}`, ({ coordination, lib }) =>
      coordination.createNamespacedLease({ namespace, body }, this.options(lib)),
    );
  }

  /** Replace with the read resourceVersion: a 409 means someone else wrote first. */
  replaceLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    const name = body.metadata!.name!;
    return this.call(`replace lease ${namespace}/${name}`, ({ coordination, lib }) =>
      coordination.replaceNamespacedLease({ namespace, name, body }, this.options(lib)),
    );
  }

  /** A cheap call that proves the API server answers with our credentials. */
  async ping(): Promise<void> {
    await this.call('list namespaces', ({ core, lib }) => core.listNamespace({ limit: 1 }, this.options(lib)));
  }

  private options(lib: ClientNode): Options {
    const timeoutMs = this.timeoutMs;
    return {
      middleware: [
        {
          // The client's top-level options take Observable-style middleware (as its setHeaderOptions does).
          pre: (req: RequestContext) => {
            req.setSignal(AbortSignal.timeout(timeoutMs) as never);
            return new lib.Observable(Promise.resolve(req));
          },
          post: (res: ResponseContext) => new lib.Observable(Promise.resolve(res)),
        },
      ],
      middlewareMergeStrategy: 'append',
    } as Options;
  }

  /**
   * Every page of a list. A 410 Expired on a later page (the continue token outlived the API server's
   * compaction window) restarts the list from the first page, as client-go's pager does, at most
   * MAX_LIST_RESTARTS times; a 410 on the first page, or once more after that, is an error.
   */
  private async paginate<T>(what: string, page: (c: Clients, o: Options, cont?: string) => Promise<ListPage<T>>): Promise<T[]> {
    for (let restarts = 0; ; restarts++) {
      const items: T[] = [];
      let cont: string | undefined;
      try {
        do {
          const res = await this.call(`list ${what}`, (c) => page(c, this.options(c.lib), cont));
          items.push(...res.items);
          cont = res.metadata?._continue || undefined;
        } while (cont);
        return items;
      } catch (err) {
        const expired = err instanceof KubeError && err.code === 410 && cont !== undefined;
        if (!expired || restarts >= MAX_LIST_RESTARTS) throw err;
      }
    }
  }

  private async orUndefined<T>(what: string, fn: (c: Clients) => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(what, fn);
    } catch (err) {
      if (err instanceof KubeError && err.code === 404) return undefined;
      throw err;
    }
  }

  private async call<T>(what: string, fn: (c: Clients) => Promise<T>): Promise<T> {
    // A kubeconfig context without a cluster fails here, on first use, as a KubeError like any other.
    const c = await this.connect().catch((err: Error) => {
      throw new KubeError(`cluster ${this.name}: ${err.message}`);
    });
    try {
      return await fn(c);
    } catch (err) {
      throw toKubeError(c.lib, this.name, what, err);
    }
  }

  /** The API clients, made on the first call so that constructing a cluster loads nothing. */
  private connect(): Promise<Clients> {
    const make = (lib: ClientNode): Clients => ({
      lib,
      core: this.kc.makeApiClient(lib.CoreV1Api),
      apps: this.kc.makeApiClient(lib.AppsV1Api),
      batch: this.kc.makeApiClient(lib.BatchV1Api),
      custom: this.kc.makeApiClient(lib.CustomObjectsApi),
      coordination: this.kc.makeApiClient(lib.CoordinationV1Api),
    });
    return (this.clients ??= loadClientNode().then(make));
  }
}

function toKubeError(lib: ClientNode, cluster: string, what: string, err: unknown): KubeError {
  if (err instanceof lib.ApiException) {
    let message: string;
    try {
      message = (JSON.parse(String(err.body)) as { message?: string }).message ?? '';
    } catch {
      message = String(err.body ?? '').slice(0, 200);
    }
    return new KubeError(`cluster ${cluster}: ${what} failed with ${err.code}${message ? `: ${message}` : ''}`, err.code);
  }
  const e = err as Error;
  const reason = e.name === 'AbortError' || e.name === 'TimeoutError' ? 'timed out' : e.message;
  return new KubeError(`cluster ${cluster}: ${what} failed: ${reason}`);
}

/** All configured clusters. No I/O until a cluster is used. */
export class Kubernetes {
  readonly clusters: Map<string, KubeCluster>;

  constructor(clusters: KubeCluster[]) {
    this.clusters = new Map(clusters.map((c) => [c.name, c]));
  }

  /** The named cluster, or the first one when `name` is undefined. */
  cluster(name?: string): KubeCluster {
    const c = name ? this.clusters.get(name) : this.clusters.values().next().value;
    if (!c) throw new KubeError(name ? `no cluster named "${name}" in kubernetes.contexts` : 'no Kubernetes cluster is configured');
    return c;
  }

  /**
   * Runs `fn` with each cluster's node list read at most once (a fleet run would otherwise list the
   * nodes once per service); filtered lists and calls outside `fn` still read live.
   */
  withNodesReadOnce<R>(fn: () => Promise<R>): Promise<R> {
    return [...this.clusters.values()].reduce<() => Promise<R>>((inner, c) => () => c.shareNodes(inner), fn)();
  }

  /** Reads the kubeconfig the way kubectl does (in-cluster first when running in a pod). */
  static async fromConfig(config: Config['kubernetes'], kubeConfig?: KubeConfig): Promise<Kubernetes> {
    const { KubeConfig } = await loadClientNode();
    const kc = kubeConfig ?? new KubeConfig();
    if (!kubeConfig) {
      if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
      else kc.loadFromDefault();
    }
    const contexts = config.contexts.length ? config.contexts : [kc.getCurrentContext()].filter(Boolean);
    return new Kubernetes(
      contexts.map((ctx) => {
        const copy = new KubeConfig();
        copy.loadFromString(kc.exportConfig());
        copy.setCurrentContext(ctx);
        return new KubeCluster(ctx, copy);
      }),
    );
  }
}
