// The one Kubernetes adapter: typed reads (always paginated), Istio custom objects, merge patches and
// Leases, per cluster (kubeconfig context). Every call has a timeout; errors keep the API's status code.
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
  setHeaderOptions,
  type V1DaemonSet,
  type V1Deployment,
  type V1Job,
  type V1CronJob,
  type V1Lease,
  type V1Node,
  type V1Pod,
  type V1ReplicaSet,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { Config } from '../config/schema.ts';

export class KubeError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

type Options = NonNullable<Parameters<CoreV1Api['listNode']>[1]>;

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
  virtualService: (namespace: string, name: string): CustomObjectRef => ({ group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', namespace, name }),
  destinationRule: (namespace: string, name: string): CustomObjectRef => ({ group: 'networking.istio.io', version: 'v1', plural: 'destinationrules', namespace, name }),
};

/** One cluster, reached through one kubeconfig context. */
export class KubeCluster {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly coordination: CoordinationV1Api;

  constructor(
    readonly name: string,
    kc: KubeConfig,
    private readonly timeoutMs = 10_000,
    private readonly pageSize = 500,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  listNodes(q: ListQuery = {}): Promise<V1Node[]> {
    return this.paginate('nodes', (o, c) => this.core.listNode({ labelSelector: q.labelSelector, limit: this.pageSize, _continue: c }, o));
  }

  listPods(q: ListQuery = {}): Promise<V1Pod[]> {
    return this.paginate('pods', (o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? this.core.listNamespacedPod({ ...p, namespace: q.namespace }, o) : this.core.listPodForAllNamespaces(p, o);
    });
  }

  listDeployments(q: ListQuery = {}): Promise<V1Deployment[]> {
    return this.paginate('deployments', (o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? this.apps.listNamespacedDeployment({ ...p, namespace: q.namespace }, o) : this.apps.listDeploymentForAllNamespaces(p, o);
    });
  }

  listReplicaSets(q: ListQuery = {}): Promise<V1ReplicaSet[]> {
    return this.paginate('replicasets', (o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? this.apps.listNamespacedReplicaSet({ ...p, namespace: q.namespace }, o) : this.apps.listReplicaSetForAllNamespaces(p, o);
    });
  }

  listStatefulSets(q: ListQuery = {}): Promise<V1StatefulSet[]> {
    return this.paginate('statefulsets', (o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? this.apps.listNamespacedStatefulSet({ ...p, namespace: q.namespace }, o) : this.apps.listStatefulSetForAllNamespaces(p, o);
    });
  }

  listDaemonSets(q: ListQuery = {}): Promise<V1DaemonSet[]> {
    return this.paginate('daemonsets', (o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? this.apps.listNamespacedDaemonSet({ ...p, namespace: q.namespace }, o) : this.apps.listDaemonSetForAllNamespaces(p, o);
    });
  }

  listJobs(q: ListQuery = {}): Promise<V1Job[]> {
    return this.paginate('jobs', (o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? this.batch.listNamespacedJob({ ...p, namespace: q.namespace }, o) : this.batch.listJobForAllNamespaces(p, o);
    });
  }

  listCronJobs(q: ListQuery = {}): Promise<V1CronJob[]> {
    return this.paginate('cronjobs', (o, c) => {
      const p = { labelSelector: q.labelSelector, limit: this.pageSize, _continue: c };
      return q.namespace ? this.batch.listNamespacedCronJob({ ...p, namespace: q.namespace }, o) : this.batch.listCronJobForAllNamespaces(p, o);
    });
  }

  /** The Deployment, or undefined when it does not exist. */
  getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    return this.orUndefined(`deployment ${namespace}/${name}`, () => this.apps.readNamespacedDeployment({ namespace, name }, this.options()));
  }

  getCustomObject<T = Record<string, unknown>>(ref: CustomObjectRef): Promise<T | undefined> {
    return this.orUndefined(`${ref.plural} ${ref.namespace}/${ref.name}`, async () => (await this.custom.getNamespacedCustomObject(ref, this.options())) as T);
  }

  /** RFC 7386 merge patch (lists are replaced whole, so send the complete list). */
  patchCustomObject<T = Record<string, unknown>>(ref: CustomObjectRef, body: unknown): Promise<T> {
    return this.call(`patch ${ref.plural} ${ref.namespace}/${ref.name}`, async () =>
      (await this.custom.patchNamespacedCustomObject({ ...ref, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch, this.options()))) as T,
    );
  }

  readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    return this.orUndefined(`lease ${namespace}/${name}`, () => this.coordination.readNamespacedLease({ namespace, name }, this.options()));
  }

  createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.call(`create lease ${namespace}/${body.metadata?.name}`, () => this.coordination.createNamespacedLease({ namespace, body }, this.options()));
  }

  /** Replace with the read resourceVersion: a 409 means someone else wrote first. */
  replaceLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    const name = body.metadata!.name!;
    return this.call(`replace lease ${namespace}/${name}`, () => this.coordination.replaceNamespacedLease({ namespace, name, body }, this.options()));
  }

  /** A cheap call that proves the API server answers with our credentials. */
  async ping(): Promise<void> {
    await this.call('list namespaces', () => this.core.listNamespace({ limit: 1 }, this.options()));
  }

  private options(): Options {
    const timeoutMs = this.timeoutMs;
    return {
      middleware: [
        {
          // The client's top-level options take Observable-style middleware (as its setHeaderOptions does).
          pre: (req: RequestContext) => {
            req.setSignal(AbortSignal.timeout(timeoutMs) as never);
            return new Observable(Promise.resolve(req));
          },
          post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
        },
      ],
      middlewareMergeStrategy: 'append',
    } as Options;
  }

  private async paginate<T>(what: string, page: (o: Options, cont?: string) => Promise<ListPage<T>>): Promise<T[]> {
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const res = await this.call(`list ${what}`, () => page(this.options(), cont));
      items.push(...res.items);
      cont = res.metadata?._continue || undefined;
    } while (cont);
    return items;
  }

  private async orUndefined<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(what, fn);
    } catch (err) {
      if (err instanceof KubeError && err.code === 404) return undefined;
      throw err;
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toKubeError(this.name, what, err);
    }
  }
}

function toKubeError(cluster: string, what: string, err: unknown): KubeError {
  if (err instanceof ApiException) {
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

  /** Reads the kubeconfig the way kubectl does (in-cluster first when running in a pod). */
  static fromConfig(config: Config['kubernetes'], kubeConfig?: KubeConfig): Kubernetes {
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
