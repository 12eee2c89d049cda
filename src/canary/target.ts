// Where a canary lives: its Deployments, VirtualService, DestinationRule and subsets, resolved once
// from the catalog entry and the canary config.
import type { Service } from '../config/catalog.ts';
import { templatesFor } from './analysis.ts';
import type { CanaryConfig } from './config.ts';
import type { MetricTemplate } from './metrics.ts';

/** Where a canary lives in the cluster, resolved once from the catalog and config. */
export interface CanaryTarget {
  service: string;
  cluster?: string;
  namespace: string;
  deployments: { amd64: string; arm64: string };
  virtualService: string;
  destinationRule: string;
  /** The `spec.http[].name` to move, or the first route. */
  httpRoute?: string;
  archLabel: string;
  subsets: { amd64: string; arm64: string };
  /** The metric templates it is judged by, fixed at start (absent in records written before templates). */
  metrics?: MetricTemplate[];
}

export function targetFor(service: Service, config: CanaryConfig): CanaryTarget {
  const fill = (t: string) => t.replaceAll('{service}', service.name);
  return {
    service: service.name,
    cluster: service.cluster,
    namespace: service.namespace,
    deployments: { amd64: service.deployment, arm64: `${service.deployment}${config.istio.arm64Suffix}` },
    virtualService: fill(config.istio.virtualService),
    destinationRule: fill(config.istio.destinationRule),
    httpRoute: config.istio.httpRoute,
    archLabel: config.istio.archLabel,
    subsets: { ...config.istio.subsets },
    metrics: templatesFor(config, service.metrics),
  };
}
