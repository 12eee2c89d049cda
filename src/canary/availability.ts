// Whether a canary can run here (a cluster and canary.prometheusUrl), apart from the controller's code so
// the terminal can tell without loading it (src/build-deps.ts builds the controller only then).
import type { CheckNeeds } from '../readiness/check.ts';

type Where = Pick<CheckNeeds, 'kube' | 'config'>;

export const canaryCanRun = (deps: Where): boolean => Boolean(deps.kube && deps.config.canary.prometheusUrl);

/** Not configured: what to set, for the commands to say. */
export function canaryUnavailableReason(deps: Where): string {
  const missing = [
    deps.kube ? '' : 'a Kubernetes cluster (kubernetes.kubeconfig/contexts)',
    deps.config.canary.prometheusUrl ? '' : 'canary.prometheusUrl',
  ].filter(Boolean);
  return `canaries are not available: configure ${missing.join(' and ') || 'the canary section'}`;
}
