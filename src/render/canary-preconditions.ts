// The words for canary preconditions (src/canary/preconditions.ts reports facts): what each check is
// called and what it found, the same on every surface. What closes a gap is worded per surface in
// canary-blocks.ts (fixText), since it names the surface's commands.
import type { Precondition, PreconditionCheck } from '../canary/preconditions.ts';
import { ARCH_LABEL } from '../scheduling/arm64.ts';

export const PRECONDITION_NAMES: Record<PreconditionCheck, string> = {
  'amd64-deployment': 'amd64 Deployment',
  'amd64-pod-label': 'amd64 pod label',
  'arm64-deployment': 'arm64 Deployment',
  'arm64-scheduling': 'arm64 scheduling',
  'arm64-image': 'arm64 image',
  'destination-rule': 'DestinationRule',
  'destination-rule-subsets': 'DestinationRule subsets',
  'virtual-service': 'VirtualService',
  'virtual-service-route': 'VirtualService route',
  replicas: 'replicas',
};

/** What the check found, in a phrase: "orders-arm64: 1/3 replicas ready". */
export function preconditionDetail(p: Precondition): string {
  switch (p.check) {
    case 'amd64-deployment':
      return p.missingIn ? `${p.namespace}/${p.name} not found in cluster ${p.missingIn}` : `${p.namespace}/${p.name} exists`;
    case 'amd64-pod-label':
      return `${p.name} pods lack the label ${p.label}: amd64 the amd64 subset selects on`;
    case 'arm64-deployment':
      return p.readiness ? `${p.name}: ${p.readiness.ready}/${p.readiness.desired} replicas ready` : `${p.namespace}/${p.name} not found`;
    case 'arm64-scheduling':
      if (p.labelled && p.pinned) return 'pods are labelled and pinned to arm64 nodes';
      return [p.labelled ? '' : `pods lack ${p.label}: arm64`, p.pinned ? '' : `pods are not pinned to ${ARCH_LABEL}: arm64`]
        .filter(Boolean)
        .join('; ');
    case 'arm64-image':
      if (!p.image) return 'cannot inspect images: no registry adapter configured';
      if (p.ok) return `${p.image} publishes linux/arm64`;
      return p.status === 'amd64-only'
        ? `${p.image} has no linux/arm64 (${(p.platforms ?? []).join(', ')})`
        : `${p.image}: ${p.reason ?? p.status}`;
    case 'destination-rule':
    case 'virtual-service':
      return `${p.namespace}/${p.name} not found`;
    case 'destination-rule-subsets':
      return p.missing.length
        ? `${p.name} needs subset${p.missing.length > 1 ? 's' : ''} ${p.missing.map((a) => `${p.subsets[a]} (${p.label}: ${a})`).join(' and ')}`
        : `${p.subsets.amd64} and ${p.subsets.arm64} select on ${p.label}`;
    case 'virtual-service-route':
      return p.split ? `${p.name}: ${p.split.amd64}% amd64 / ${p.split.arm64}% arm64` : `${p.name} ${p.problem ?? 'is not a canary split'}`;
    case 'replicas': {
      const total = p.counts.amd64 + p.counts.arm64;
      return `${p.names.amd64} ${p.counts.amd64} (${p.amd64Ready} ready) + ${p.names.arm64} ${p.counts.arm64} = ${total} replicas to split${total > p.max ? `, more than the ${p.max} replica mode splits` : ''}`;
    }
  }
}

/** "arm64 Deployment: orders-arm64: 1/3 replicas ready". */
export function preconditionText(p: Precondition): string {
  return `${PRECONDITION_NAMES[p.check]}: ${preconditionDetail(p)}`;
}
