// What must be true before a canary moves any traffic, checked against the live cluster. Every gap is
// a fact together with what closes it (the canary PR, or the manifest to apply), as data: the words are
// the renderers' (src/render/canary-preconditions.ts).
import { stringify } from 'yaml';
import type { V1Deployment } from '@kubernetes/client-node';
import { istio, type KubeCluster } from '../adapters/kubernetes.ts';
import { hasArm64, type ImageInspector, type ImageStatus } from '../images/types.ts';
import { pinnedToArm64, type SchedulingSpec } from '../scheduling/arm64.ts';
import { MAX_REPLICA_TOTAL, splitOf } from './replica-router.ts';
import { readSplit, type Split, type VirtualService } from './router.ts';
import type { CanaryTarget } from './target.ts';

/** One checked precondition: which check, whether it holds, the facts found, and what closes the gap. */
export type Precondition = PreconditionFact & {
  ok: boolean;
  /** What closes the gap, as data; each surface words it (and names its own commands). */
  fix?: PreconditionFix;
};

/** What a check found, by check; `namespace`/`name` name the object looked at. */
export type PreconditionFact =
  /** `missingIn`: the cluster it was not found in. */
  | { check: 'amd64-deployment'; namespace: string; name: string; missingIn?: string }
  /** The amd64 pods lack `label: amd64`, which the amd64 subset selects on. */
  | { check: 'amd64-pod-label'; name: string; label: string }
  /** `readiness` absent: the Deployment does not exist. */
  | { check: 'arm64-deployment'; namespace: string; name: string; readiness?: Readiness }
  | { check: 'arm64-scheduling'; label: string; labelled: boolean; pinned: boolean }
  /** `image` absent: no registry adapter to ask. `platforms` as os/architecture. */
  | { check: 'arm64-image'; image?: string; status?: ImageStatus; platforms?: string[]; reason?: string }
  | { check: 'destination-rule'; namespace: string; name: string }
  /** `missing`: the subsets that do not select on `label: <arch>`. */
  | {
      check: 'destination-rule-subsets';
      name: string;
      label: string;
      subsets: { amd64: string; arm64: string };
      missing: Array<'amd64' | 'arm64'>;
    }
  | { check: 'virtual-service'; namespace: string; name: string }
  /** `problem`: why the route is not a canary split (the router's reading); `split` when it is one. */
  | { check: 'virtual-service-route'; name: string; split?: Pick<Split, 'amd64' | 'arm64'>; problem?: string }
  /** Replica mode: the two Deployments' replicas (their sum is split), amd64's ready ones, and the most replica mode splits. */
  | {
      check: 'replicas';
      names: { amd64: string; arm64: string };
      counts: { amd64: number; arm64: number };
      amd64Ready: number;
      max: number;
    };

export type PreconditionCheck = PreconditionFact['check'];

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
      spec: {
        host,
        subsets: [
          { name: t.subsets.amd64, labels: labels('amd64') },
          { name: t.subsets.arm64, labels: labels('arm64') },
        ],
      },
    }),
    virtualService: stringify({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: t.virtualService, namespace: t.namespace },
      spec: {
        hosts: [host],
        http: [
          {
            ...(t.httpRoute ? { name: t.httpRoute } : {}),
            route: [
              { destination: { host, subset: t.subsets.amd64 }, weight: 100 },
              { destination: { host, subset: t.subsets.arm64 }, weight: 0 },
            ],
          },
        ],
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
export async function checkPreconditions(
  cluster: KubeCluster,
  t: CanaryTarget,
  images: ImageInspector | undefined,
): Promise<PreconditionReport> {
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
      ? { check: 'amd64-deployment', ok: true, namespace: ns, name: t.deployments.amd64 }
      : {
          check: 'amd64-deployment',
          ok: false,
          namespace: ns,
          name: t.deployments.amd64,
          missingIn: cluster.name,
          fix: { kind: 'catalog', service: t.service },
        },
  );
  if (amd && !replicas && podLabel(amd, t.archLabel) !== 'amd64') {
    items.push({ check: 'amd64-pod-label', ok: false, name: t.deployments.amd64, label: t.archLabel, fix: { kind: 'canary-pr' } });
  }
  if (!arm) {
    items.push({ check: 'arm64-deployment', ok: false, namespace: ns, name: t.deployments.arm64, fix: { kind: 'canary-pr' } });
  } else {
    const r = readinessOf(arm)!;
    // In replica mode the arm64 Deployment may wait at 0 replicas: the canary scales it up.
    const ready = isReady(r) || (replicas && r.ready >= r.desired);
    items.push({
      check: 'arm64-deployment',
      ok: ready,
      namespace: ns,
      name: t.deployments.arm64,
      readiness: r,
      ...(ready ? {} : { fix: { kind: 'rollout', namespace: ns, deployment: t.deployments.arm64 } }),
    });
    // No subsets select on the label in replica mode.
    const labelled = replicas || podLabel(arm, t.archLabel) === 'arm64';
    const pinned = pinnedToArm64(arm.spec?.template?.spec as SchedulingSpec | undefined);
    items.push({
      check: 'arm64-scheduling',
      ok: labelled && pinned,
      label: t.archLabel,
      labelled,
      pinned,
      ...(labelled && pinned ? {} : { fix: { kind: 'canary-pr' as const } }),
    });
    const refs = [...new Set((arm.spec?.template?.spec?.containers ?? []).map((c) => c.image).filter((i): i is string => !!i))];
    if (!images) {
      items.push({ check: 'arm64-image', ok: false, fix: { kind: 'configure-registry' } });
    } else {
      for (const ref of refs) {
        const res = await images.inspect(ref);
        const ok = res.status === 'multi-arch-with-arm64' && hasArm64(res.platforms);
        items.push({
          check: 'arm64-image',
          ok,
          image: ref,
          status: res.status,
          platforms: res.platforms.map((p) => `${p.os}/${p.architecture}`),
          ...(res.reason ? { reason: res.reason } : {}),
          ...(ok ? {} : { fix: { kind: 'build-arm64' as const } }),
        });
      }
    }
  }
  if (replicas) return replicaItems(items, amd, arm, t);
  if (!dr) {
    items.push({
      check: 'destination-rule',
      ok: false,
      namespace: ns,
      name: t.destinationRule,
      fix: { kind: 'canary-pr', manifest: fixes.destinationRule },
    });
  } else {
    const subsets = dr.spec?.subsets ?? [];
    const missing = (['amd64', 'arm64'] as const).filter(
      (arch) => subsets.find((s) => s.name === t.subsets[arch])?.labels?.[t.archLabel] !== arch,
    );
    items.push({
      check: 'destination-rule-subsets',
      ok: !missing.length,
      name: t.destinationRule,
      label: t.archLabel,
      subsets: { ...t.subsets },
      missing,
      ...(missing.length ? { fix: { kind: 'canary-pr' as const, manifest: fixes.destinationRule } } : {}),
    });
  }
  let split: Split | undefined;
  if (!vs) {
    items.push({
      check: 'virtual-service',
      ok: false,
      namespace: ns,
      name: t.virtualService,
      fix: { kind: 'apply', manifest: fixes.virtualService },
    });
  } else {
    const s = readSplit(vs, t);
    if (!s.ok)
      items.push({
        check: 'virtual-service-route',
        ok: false,
        name: t.virtualService,
        problem: s.problem,
        fix: { kind: 'match-route', manifest: fixes.virtualService },
      });
    else {
      split = s.split;
      items.push({
        check: 'virtual-service-route',
        ok: true,
        name: t.virtualService,
        split: { amd64: s.split.amd64, arm64: s.split.arm64 },
      });
    }
  }
  return { ok: items.every((i) => i.ok), items, split, vs: vs ?? undefined };
}

/** Replica mode: amd64 runs ready consumers, and the total is one the steps can split. */
function replicaItems(
  items: Precondition[],
  amd: V1Deployment | undefined,
  arm: V1Deployment | undefined,
  t: CanaryTarget,
): PreconditionReport {
  let split: Split | undefined;
  if (amd && arm) {
    const counts = { amd64: amd.spec?.replicas ?? 1, arm64: arm.spec?.replicas ?? 1 };
    const total = counts.amd64 + counts.arm64;
    const amd64Ready = readinessOf(amd)!.ready;
    const ok = total >= 1 && total <= MAX_REPLICA_TOTAL && (counts.amd64 === 0 || amd64Ready > 0);
    items.push({
      check: 'replicas',
      ok,
      names: { ...t.deployments },
      counts,
      amd64Ready,
      max: MAX_REPLICA_TOTAL,
      ...(ok || total > MAX_REPLICA_TOTAL
        ? {}
        : { fix: { kind: 'rollout' as const, namespace: t.namespace, deployment: t.deployments.amd64 } }),
    });
    if (ok) split = splitOf(counts);
  }
  return { ok: items.every((i) => i.ok), items, split };
}
