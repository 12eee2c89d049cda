// Fills the catalog's discovered part from Deployments labelled as services in every cluster.
import type { Kubernetes } from '../adapters/kubernetes.ts';
import type { Catalog, DiscoveredDeployment } from './catalog.ts';
import type { Config } from './schema.ts';

export interface DiscoverNeeds {
  readonly config: Pick<Config, 'catalog'>;
  readonly catalog: Catalog;
  readonly kube?: Kubernetes;
}

/** Returns a warning to show when a cluster could not be read; the catalog keeps what was found. */
export async function discoverServices(deps: DiscoverNeeds): Promise<string | undefined> {
  const { discovery } = deps.config.catalog;
  if (!discovery.enabled || !deps.kube) return undefined;
  const found: DiscoveredDeployment[] = [];
  const failures: string[] = [];
  for (const cluster of deps.kube.clusters.values()) {
    try {
      for (const d of await cluster.listDeployments({ labelSelector: discovery.label })) {
        found.push({
          name: d.metadata?.name ?? '',
          namespace: d.metadata?.namespace ?? 'default',
          cluster: cluster.name,
          labels: d.metadata?.labels ?? {},
          annotations: d.metadata?.annotations ?? {},
          images: (d.spec?.template.spec?.containers ?? []).map((c) => c.image ?? '').filter(Boolean),
        });
      }
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  deps.catalog.setDiscovered(found);
  return failures.length ? `Discovery could not read every cluster: ${failures.join('; ')}` : undefined;
}
