// Workload analyser (pure): pod specs from manifest YAML (multi-document, Helm values) and from live
// objects → where the pods may be scheduled (kubernetes.io/arch selection, the arm64 NoExecute taint),
// where they run now, and every container image (init containers and sidecars included) to look up.
import { formatTaint, type Taint } from '../../scheduling/taints.ts';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import {
  allowedArchitectures,
  DEFAULT_ARM64_TAINT,
  pinnedToArm64,
  toleratesArm64Taint,
  type SchedulingSpec,
} from '../../scheduling/arm64.ts';
import type { Evidence, Finding } from '../report.ts';
import { parseYaml, parseYamlStreamed, type YamlFile } from './yaml-docs.ts';

export interface PodSpecLike extends SchedulingSpec {
  containers?: Array<{ name?: string; image?: string }>;
  initContainers?: Array<{ name?: string; image?: string }>;
}

export interface ContainerImage {
  container: string;
  kind: 'container' | 'init';
  image: string;
  evidence: Evidence;
}

export interface Workload {
  kind: string;
  name: string;
  spec: PodSpecLike;
  /** Where the spec came from: a manifest line, a Helm values file, or the live cluster. */
  origin: { file: string; line: number; helm?: boolean } | { cluster: string; namespace: string };
  containers: ContainerImage[];
}

const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export interface ManifestAnalysis {
  workloads: Workload[];
  findings: Finding[];
}

function unparseable(file: string, line: number, message: string): ManifestAnalysis {
  return {
    workloads: [],
    findings: [
      {
        id: 'kubernetes.manifest-unparseable',
        severity: 'unknown',
        ecosystem: 'kubernetes',
        title: `${file} is not valid YAML (${message}), so its pods and images cannot be checked`,
        evidence: { file, line },
        fix: 'Fix the YAML. For a Helm chart, list its values file under manifests.helmValues instead of a template.',
      },
    ],
  };
}

/**
 * Workloads in a multi-document manifest file (a `kind: List` too). `onWorkload` hears of each as soon as
 * its document is parsed, so the caller can start looking up its images while the rest is parsed; a file
 * that turns out not to parse yields no workloads.
 */
export async function workloadsFromManifest(file: string, text: string, onWorkload?: (w: Workload) => void): Promise<ManifestAnalysis> {
  const workloads: Workload[] = [];
  const yaml = await parseYamlStreamed(text, (doc, lineOf) => {
    const found = workloadsIn(file, doc.contents, lineOf);
    workloads.push(...found);
    if (onWorkload) found.forEach(onWorkload);
  });
  if (yaml.error) return unparseable(file, yaml.error.line, yaml.error.message);
  return { workloads, findings: [] };
}

/** The workloads of one document's tree. */
function workloadsIn(file: string, root: unknown, lineOf: YamlFile['lineOf']): Workload[] {
  const workloads: Workload[] = [];
  const visit = (node: unknown): void => {
    if (!isMap(node)) return;
    const kind = scalar(node.get('kind', true));
    if (kind === 'List' && isSeq(node.get('items'))) {
      for (const item of (node.get('items') as { items: unknown[] }).items) visit(item);
      return;
    }
    const path = kind ? POD_SPEC_PATHS[kind] : undefined;
    if (!kind || !path) return;
    const specNode = node.getIn(path, true) as Node | undefined;
    if (!isMap(specNode)) return;
    const name = scalar(node.getIn(['metadata', 'name'], true)) ?? '(unnamed)';
    const spec = specNode.toJSON() as PodSpecLike;
    const containers: ContainerImage[] = [];
    for (const [field, kindOf] of [
      ['initContainers', 'init'],
      ['containers', 'container'],
    ] as const) {
      const list = specNode.get(field, true);
      if (!isSeq(list)) continue;
      for (const c of list.items) {
        if (!isMap(c)) continue;
        const imageNode = c.get('image', true);
        const image = scalar(imageNode);
        if (!image) continue;
        const line = lineOf(imageNode as Node);
        containers.push({
          container: scalar(c.get('name', true)) ?? '?',
          kind: kindOf,
          image,
          evidence: { file, line, excerpt: `image: ${image}` },
        });
      }
    }
    workloads.push({ kind, name, spec, origin: { file, line: lineOf(node.get('kind', true) as Node) }, containers });
  };
  visit(root);
  return workloads;
}

/** A Helm values file: scheduling from the top-level keys charts conventionally use; images from `image` maps. */
export function workloadsFromHelmValues(file: string, text: string, name: string): ManifestAnalysis {
  const yaml = parseYaml(text);
  if (yaml.error) return unparseable(file, yaml.error.line, yaml.error.message);
  const root = yaml.docs[0]?.contents;
  if (!isMap(root)) return { workloads: [], findings: [] };
  const values = root.toJSON() as Record<string, unknown>;
  const spec: PodSpecLike = {
    nodeSelector: values.nodeSelector as PodSpecLike['nodeSelector'],
    affinity: values.affinity as PodSpecLike['affinity'],
    tolerations: values.tolerations as PodSpecLike['tolerations'],
  };
  const containers: ContainerImage[] = [];
  const findings: Finding[] = [];
  const walk = (node: unknown, path: string[]): void => {
    if (isMap(node)) {
      const repo = scalar(node.get('repository', true));
      if (repo && path.at(-1)?.toLowerCase().endsWith('image')) {
        const registry = scalar(node.get('registry', true));
        const tag = scalar(node.get('tag', true));
        const digest = scalar(node.get('digest', true));
        const line = yaml.lineOf(node.get('repository', true) as Node);
        if (!tag && !digest) {
          findings.push({
            id: 'kubernetes.helm-image-untagged',
            severity: 'warning',
            ecosystem: 'kubernetes',
            title: `${path.join('.')} in ${file} has no tag (the chart's appVersion decides it), so it is checked from the live cluster only`,
            evidence: { file, line },
          });
        } else {
          const image = `${registry ? `${registry}/` : ''}${repo}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
          containers.push({
            container: path.join('.'),
            kind: 'container',
            image,
            evidence: { file, line, excerpt: `${path.join('.')}: ${image}` },
          });
        }
      }
      for (const pair of node.items) {
        const k = scalar(pair.key as Node);
        if (k) walk(pair.value, [...path, k]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, String(i)]));
    }
  };
  walk(root, []);
  return { workloads: [{ kind: 'HelmValues', name, spec, origin: { file, line: 1, helm: true }, containers }], findings };
}

function scalar(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null || node.value === undefined) return undefined;
  return String(node.value);
}

function originEvidence(w: Workload): Evidence {
  return 'file' in w.origin
    ? { file: w.origin.file, line: w.origin.line }
    : { excerpt: `${w.origin.cluster}: ${w.kind} ${w.origin.namespace}/${w.name}` };
}

function selectorsFix(w: Workload, taint: Taint): Finding['autofix'] {
  if (!('file' in w.origin)) return undefined;
  // The taint travels with the fix, so the selectors PR tolerates what this cluster's nodes carry.
  return {
    kind: 'selectors',
    params: { file: w.origin.file, kind: w.kind, name: w.name, taint: formatTaint(taint), ...(w.origin.helm ? { helm: 'true' } : {}) },
  };
}

/** Where this workload's pods may go, and what the move must change in its scheduling. */
export function schedulingFindings(w: Workload, taint: Taint = DEFAULT_ARM64_TAINT): Finding[] {
  const allowed = allowedArchitectures(w.spec);
  const tolerates = toleratesArm64Taint(w.spec, taint);
  const evidence = originEvidence(w);
  const what = `${w.kind} ${w.name}`;
  const arm64Only = pinnedToArm64(w.spec);
  const mayArm64 = allowed === 'any' || allowed.has('arm64');
  const fix = `Select arm64 nodes (\`nodeSelector: {kubernetes.io/arch: arm64}\`) and tolerate the \`${formatTaint(taint)}\` taint; archshift can open this PR.`;
  const f = (id: string, severity: Finding['severity'], title: string, withFix: boolean): Finding => ({
    id,
    severity,
    ecosystem: 'kubernetes',
    title,
    evidence,
    ...(withFix ? { fix, autofix: selectorsFix(w, taint) } : {}),
  });
  if (arm64Only && tolerates)
    return [f('kubernetes.arm64-scheduled', 'info', `${what} selects arm64 nodes and tolerates their taint`, false)];
  if (arm64Only) {
    return [
      f(
        'kubernetes.missing-toleration',
        'change',
        `${what} selects arm64 nodes but does not tolerate ${formatTaint(taint)}, so its pods cannot be scheduled`,
        true,
      ),
    ];
  }
  if (tolerates && mayArm64) {
    return [
      {
        ...f(
          'kubernetes.arch-unpinned',
          'warning',
          `${what} tolerates the arm64 taint without selecting an architecture: its pods may land on amd64 or arm64 nodes`,
          false,
        ),
        fix: 'Add `nodeSelector: {kubernetes.io/arch: arm64}` so where the pods run is a decision, not chance.',
      },
    ];
  }
  if (allowed !== 'any' && !mayArm64) {
    return [
      f(
        'kubernetes.amd64-pinned',
        'info',
        `${what} is pinned to ${[...allowed].join(', ') || 'no'} nodes; moving it means selecting arm64 instead`,
        true,
      ),
    ];
  }
  return [
    f(
      'kubernetes.not-on-arm64',
      'info',
      `${what} does not select arm64 nodes yet; moving it means selecting them and tolerating their taint`,
      true,
    ),
  ];
}

export interface LivePod {
  name: string;
  nodeName?: string;
  /** Container name → image reference and the digest the kubelet resolved (status.containerStatuses[].imageID). */
  images: Array<{ container: string; kind: 'container' | 'init'; image: string; imageID?: string }>;
}

export interface LiveWorkload {
  cluster: string;
  namespace: string;
  kind: string;
  name: string;
  spec: PodSpecLike;
  pods: LivePod[];
  /** Node name → architecture, from the node's kubernetes.io/arch label or status.nodeInfo. */
  nodeArch: Map<string, string>;
  /** The arm64 taint as this cluster's arm64 nodes carry it (else configured, else the default). */
  arm64Taint?: Taint;
  /** Some arm64 node carries no arm64 taint: any pod its selectors allow can land there. */
  arm64NodesUntainted?: boolean;
}

/** The live workload as a Workload (its template's containers plus any a webhook injected into its pods). */
export function workloadFromLive(live: LiveWorkload): Workload {
  const origin = { cluster: live.cluster, namespace: live.namespace };
  const containers: ContainerImage[] = [];
  const seen = new Set<string>();
  const add = (container: string, kind: 'container' | 'init', image: string, imageID?: string, pod?: string): void => {
    const key = `${container}|${image}`;
    if (seen.has(key)) return;
    seen.add(key);
    const digest = /@(sha256:[a-f0-9]{64})$/.exec(imageID ?? '')?.[1];
    containers.push({
      container,
      kind,
      image,
      evidence: {
        image,
        ...(digest ? { digest } : {}),
        excerpt: `${live.cluster}: ${live.namespace}/${pod ?? live.name} container ${container}`,
      },
    });
  };
  for (const c of live.spec.initContainers ?? []) if (c.image) add(c.name ?? '?', 'init', c.image);
  for (const c of live.spec.containers ?? []) if (c.image) add(c.name ?? '?', 'container', c.image);
  // Sidecars injected at admission (e.g. istio-proxy) exist only in the pods.
  for (const p of live.pods) for (const i of p.images) add(i.container, i.kind, i.image, i.imageID, p.name);
  return { kind: live.kind, name: live.name, spec: live.spec, origin, containers };
}

/** Which nodes, by architecture, the pods run on now. */
export function placementFinding(live: LiveWorkload): Finding {
  const byArch = new Map<string, string[]>();
  for (const p of live.pods) {
    const arch = p.nodeName ? (live.nodeArch.get(p.nodeName) ?? 'unknown-arch') : 'unscheduled';
    byArch.set(arch, [...(byArch.get(arch) ?? []), p.nodeName ?? p.name]);
  }
  const parts = [...byArch.entries()]
    .sort()
    .map(
      ([arch, nodes]) =>
        `${nodes.length} on ${arch} (${[...new Set(nodes)].slice(0, 5).join(', ')}${new Set(nodes).size > 5 ? ', …' : ''})`,
    );
  return {
    id: 'kubernetes.placement',
    severity: 'info',
    ecosystem: 'kubernetes',
    title: live.pods.length
      ? `${live.pods.length} pod${live.pods.length === 1 ? '' : 's'} of ${live.kind} ${live.name} run now: ${parts.join('; ')}`
      : `${live.kind} ${live.name} has no pods running`,
    evidence: { excerpt: `${live.cluster}: ${live.kind} ${live.namespace}/${live.name}` },
  };
}
