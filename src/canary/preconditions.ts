// What must be true before a canary moves any traffic, checked against the live cluster. Every gap is
// named together with what closes it: the canary PR, or the manifest to apply.
import { stringify } from 'yaml';
import type { V1Deployment } from '@kubernetes/client-node';
import { istio, type KubeCluster } from '../adapters/kubernetes.ts';
import { hasArm64, type ImageInspector } from '../readiness/image-types.ts';
import { ARCH_LABEL, pinnedToArm64, type SchedulingSpec } from '../scheduling/arm64.ts';
import { MAX_REPLICA_TOTAL, splitOf } from './replica-router.ts';
import { readSplit, type Split, type VirtualService } from './router.ts';
import type { CanaryTarget } from './target.ts';

export interface Precondition {
  name: string;
  ok: boolean;
  detail: string;
  /** What closes the gap, as data; each surface words it (and names its own commands). */
  fix?: PreconditionFix;
}

export type PreconditionFix =
  /** The canary PR (adds the -arm64 Deployment, pod labels, subsets); `manifest` can be applied instead. */
  | { kind: 'canary-pr'; manifest?: string }
  | { kind: 'apply'; manifest: string }
  | { kind: 'match-route'; manifest: string }
  /** Point the catalog entry at the running Deployment. */
  | { kind: 'catalog'; service: string }
  | { kind: 'rollout'; namespace: string; deployment: string }
  | { kind: 'build-arm64' }
  | { kind: 'configure-registry' };

interface DestinationRule {
  spec?: { host?: string; subsets?: Array<{ name?: string; labels?: Record<string, string> }> };
}

export interface Readiness {
  ready: number;
  desired: number;
}

export function readinessOf(d: V1Deployment | undefined): Readiness | undefined {
  if (!d) return undefined;
  return { ready: d.status?.readyReplicas ?? 0, desired: d.spec?.replicas ?? 1 };
}

export const isReady = (r: Readiness | undefined): boolean => !!r && r.desired > 0 && r.ready >= r.desired;

function manifests(t: CanaryTarget, host: string) {
  const labels = (arch: string) => ({ [t.archLabel]: arch });
  return {
    destinationRule: stringify({
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: t.destinationRule, namespace: t.namespace },
      spec: { host, subsets: [{ name: t.subsets.amd64, labels: labels('amd64') }, { name: t.subsets.arm64, labels: labels('arm64') }] },
    }),
    virtualService: stringify({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: t.virtualService, namespace: t.namespace },
      spec: {
        hosts: [host],
        http: [{ ...(t.httpRoute ? { name: t.httpRoute } : {}), route: [{ destination: { host, subset: t.subsets.amd64 }, weight: 100 }, { destination: { host, subset: t.subsets.arm64 }, weight: 0 }] }],
      },
    }),
  };
}

function podLabel(d: V1Deployment | undefined, label: string): string | undefined {
  return d?.spec?.template?.metadata?.labels?.[label];
}


export interface PreconditionReport {
  ok: boolean;
  items: Precondition[];
  split?: Split;
  vs?: VirtualService;
}

/** Reads the two Deployments, the DestinationRule and the VirtualService and names every gap. */
export async function checkPreconditions(cluster: KubeCluster, t: CanaryTarget, images: ImageInspector | undefined): Promise<PreconditionReport> {
  const items: Precondition[] = [];
  const ns = t.namespace;
  const replicas = t.mode === 'replicas';
  const [amd, arm, dr, vs] = await Promise.all([
    cluster.getDeployment(ns, t.deployments.amd64),
    cluster.getDeployment(ns, t.deployments.arm64),
    // Replica mode splits no requests: no DestinationRule or VirtualService to read.
    replicas ? undefined : cluster.getCustomObject<DestinationRule>(istio.destinationRule(ns, t.destinationRule)),
    replicas ? undefined : cluster.getCustomObject<VirtualService>(istio.virtualService(ns, t.virtualService)),
  ]);
  const host = dr?.spec?.host ?? `${t.service}.${ns}.svc.cluster.local`;
  const fixes = manifests(t, host);

  items.push(
    amd
      ? { name: 'amd64 Deployment', ok: true, detail: `${ns}/${t.deployments.amd64} exists` }
      : { name: 'amd64 Deployment', ok: false, detail: `${ns}/${t.deployments.amd64} not found in cluster ${cluster.name}`, fix: { kind: 'catalog', service: t.service } },
  );
  if (amd && !replicas && podLabel(amd, t.archLabel) !== 'amd64') {
    items.push({ name: 'amd64 pod label', ok: false, detail: `${t.deployments.amd64} pods lack the label ${t.archLabel}: amd64 the amd64 subset selects on`, fix: { kind: 'canary-pr' } });
  }
  if (!arm) {
    items.push({ name: 'arm64 Deployment', ok: false, detail: `${ns}/${t.deployments.arm64} not found`, fix: { kind: 'canary-pr' } });
  } else {
    const r = readinessOf(arm)!;
    // In replica mode the arm64 Deployment may wait at 0 replicas: the canary scales it up.
    const ok = isReady(r) || (replicas && r.ready >= r.desired);
    items.push({ name: 'arm64 Deployment', ok, detail: `${t.deployments.arm64}: ${r.ready}/${r.desired} replicas ready`, ...(ok ? {} : { fix: { kind: 'rollout', namespace: ns, deployment: t.deployments.arm64 } }) });
    const labelled = replicas || podLabel(arm, t.archLabel) === 'arm64';
    const scheduled = pinnedToArm64(arm.spec?.template?.spec as SchedulingSpec | undefined);
    items.push({
      name: 'arm64 scheduling',
      ok: labelled && scheduled,
      detail: labelled && scheduled ? 'pods are labelled and pinned to arm64 nodes' : [labelled ? '' : `pods lack ${t.archLabel}: arm64`, scheduled ? '' : `pods are not pinned to ${ARCH_LABEL}: arm64`].filter(Boolean).join('; '),
      ...(labelled && scheduled ? {} : { fix: { kind: 'canary-pr' as const } }),
    });
    const refs = [...new Set((arm.spec?.template?.spec?.containers ?? []).map((c) => c.image).filter((i): i is string => !!i))];
    if (!images) {
      items.push({ name: 'arm64 image', ok: false, detail: 'cannot inspect images: no registry adapter configured', fix: { kind: 'configure-registry' } });
    } else {
      for (const ref of refs) {
        const res = await images.inspect(ref);
        const ok = res.status === 'multi-arch-with-arm64' && hasArm64(res.platforms);
        items.push({
          name: 'arm64 image',
          ok,
          detail: ok ? `${ref} publishes linux/arm64` : res.status === 'amd64-only' ? `${ref} has no linux/arm64 (${res.platforms.map((p) => `${p.os}/${p.architecture}`).join(', ')})` : `${ref}: ${res.reason ?? res.status}`,
          ...(ok ? {} : { fix: { kind: 'build-arm64' as const } }),
        });
      }
    }
  }
  if (replicas) return replicaItems(items, amd, arm, t);
  if (!dr) {
    items.push({ name: 'DestinationRule', ok: false, detail: `${ns}/${t.destinationRule} not found`, fix: { kind: 'canary-pr', manifest: fixes.destinationRule } });
  } else {
    const subsets = dr.spec?.subsets ?? [];
    const bad = (['amd64', 'arm64'] as const).filter((arch) => subsets.find((s) => s.name === t.subsets[arch])?.labels?.[t.archLabel] !== arch);
    items.push(
      bad.length
        ? { name: 'DestinationRule subsets', ok: false, detail: `${t.destinationRule} needs subset${bad.length > 1 ? 's' : ''} ${bad.map((a) => `${t.subsets[a]} (${t.archLabel}: ${a})`).join(' and ')}`, fix: { kind: 'canary-pr', manifest: fixes.destinationRule } }
        : { name: 'DestinationRule subsets', ok: true, detail: `${t.subsets.amd64} and ${t.subsets.arm64} select on ${t.archLabel}` },
    );
  }
  let split: Split | undefined;
  if (!vs) {
    items.push({ name: 'VirtualService', ok: false, detail: `${ns}/${t.virtualService} not found`, fix: { kind: 'apply', manifest: fixes.virtualService } });
  } else {
    const s = readSplit(vs, t);
    if (!s.ok) items.push({ name: 'VirtualService route', ok: false, detail: `${t.virtualService} ${s.problem}`, fix: { kind: 'match-route', manifest: fixes.virtualService } });
    else {
      split = s.split;
      items.push({ name: 'VirtualService route', ok: true, detail: `${t.virtualService}: ${s.split.amd64}% amd64 / ${s.split.arm64}% arm64` });
    }
  }
  return { ok: items.every((i) => i.ok), items, split, vs: vs ?? undefined };
}

/** Replica mode: amd64 runs ready consumers, and the total is one the steps can split. */
function replicaItems(items: Precondition[], amd: V1Deployment | undefined, arm: V1Deployment | undefined, t: CanaryTarget): PreconditionReport {
  let split: Split | undefined;
  if (amd && arm) {
    const counts = { amd64: amd.spec?.replicas ?? 1, arm64: arm.spec?.replicas ?? 1 };
    const total = counts.amd64 + counts.arm64;
    const ready = readinessOf(amd)!.ready;
    const ok = total >= 1 && total <= MAX_REPLICA_TOTAL && (counts.amd64 === 0 || ready > 0);
    items.push({
      name: 'replicas',
      ok,
      detail: `${t.deployments.amd64} ${counts.amd64} (${ready} ready) + ${t.deployments.arm64} ${counts.arm64} = ${total} replicas to split${total > MAX_REPLICA_TOTAL ? `, more than the ${MAX_REPLICA_TOTAL} replica mode splits` : ''}`,
      ...(ok || total > MAX_REPLICA_TOTAL ? {} : { fix: { kind: 'rollout' as const, namespace: t.namespace, deployment: t.deployments.amd64 } }),
    });
    if (ok) split = splitOf(counts);
  }
  return { ok: items.every((i) => i.ok), items, split };
}