// Sends a workload to arm64 nodes: the `kubernetes.io/arch: arm64` nodeSelector and a toleration of the
// taint the cluster's arm64 nodes carry (learned by the check; default kubernetes.io/arch=arm64:NoExecute),
// merged into what the pod spec already has.
// Three shapes: a Deployment in (multi-document) manifests, a Helm values file, and the canary shape
// (a second `<name>-arm64` Deployment plus DestinationRule subsets, the original left on amd64).
import { toleratesTaint, type Taint, type Toleration } from '../../scheduling/taints.ts';
import { isMap, isScalar, isSeq, stringify, type Document, type Node, type YAMLMap } from 'yaml';
import { applySplices, CannotEditError, NotHereError, runEdit, type EditResult, type Splice } from './text.ts';
import {
  appendSeqItem,
  fillEmptyValue,
  insertPairs,
  isEmptyCollection,
  pairOf,
  parseYamlFile,
  plainMap,
  plainSeq,
  replaceScalar,
  type YamlFile,
} from './yaml-splice.ts';
import { ARCH_LABEL, arm64Toleration, DEFAULT_ARM64_TAINT } from '../../scheduling/arm64.ts';

/** Pod label that tells the canary's two Deployments apart; the DestinationRule subsets select on it. */
export const CANARY_ARCH_LABEL = 'archshift.io/arch';
export const CANARY_SUBSETS = ['amd64', 'arm64'] as const;

function str(node: unknown): string | undefined {
  return isScalar(node) && node.value !== null ? String(node.value) : undefined;
}

function isDeployment(doc: Document.Parsed, name?: string): boolean {
  return str(doc.get('kind', true)) === 'Deployment' && (name === undefined || str(doc.getIn(['metadata', 'name'], true)) === name);
}

function toleratesArm64(item: unknown, taint: Taint): boolean {
  if (!isMap(item)) return false;
  const get = (k: string) => str(pairOf(item, k)?.value);
  return toleratesTaint({ key: get('key'), operator: get('operator'), value: get('value'), effect: get('effect') }, taint);
}

/** Splices that merge the arm64 selector, toleration and (if present) arch affinity into a pod spec map. */
function mergeScheduling(file: YamlFile, spec: YAMLMap, where: string, notes: string[], taint: Taint = DEFAULT_ARM64_TAINT): Splice[] {
  const toleration = arm64Toleration(taint);
  const splices: Splice[] = [];
  const newKeys: Record<string, unknown> = {};

  const selPair = pairOf(spec, 'nodeSelector');
  if (!selPair) newKeys.nodeSelector = { [ARCH_LABEL]: 'arm64' };
  else if (isEmptyCollection(selPair.value)) splices.push(fillEmptyValue(file, selPair, { [ARCH_LABEL]: 'arm64' }));
  else {
    const sel = plainMap(selPair.value, `${where}.nodeSelector`)!;
    const arch = pairOf(sel, ARCH_LABEL);
    if (!arch) splices.push(insertPairs(file, sel, { [ARCH_LABEL]: 'arm64' }, `${where}.nodeSelector`));
    else if (str(arch.value) !== 'arm64') {
      if (!isScalar(arch.value)) throw new CannotEditError(`${where}.nodeSelector.${ARCH_LABEL} is not a plain value`);
      notes.push(`${where}: nodeSelector ${ARCH_LABEL} was ${str(arch.value)}, now arm64`);
      splices.push(replaceScalar(arch.value as Node, 'arm64'));
    }
  }

  const tolPair = pairOf(spec, 'tolerations');
  if (!tolPair) newKeys.tolerations = [toleration];
  else if (isEmptyCollection(tolPair.value)) splices.push(fillEmptyValue(file, tolPair, [toleration]));
  else {
    const tols = plainSeq(tolPair.value, `${where}.tolerations`)!;
    if (!tols.items.some((t) => toleratesArm64(t, taint))) splices.push(appendSeqItem(file, tols, toleration, `${where}.tolerations`));
  }

  splices.push(...mergeAffinity(file, spec, where));
  // New keys go last so that an item appended to the pod spec's last list still lands inside that list.
  if (Object.keys(newKeys).length) splices.push(insertPairs(file, spec, newKeys, where));
  return splices;
}

/** A required node affinity that pins the arch must allow arm64 too, or the pod can never schedule. */
function mergeAffinity(file: YamlFile, spec: YAMLMap, where: string): Splice[] {
  const terms = spec.getIn(['affinity', 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution', 'nodeSelectorTerms'], true);
  if (!isSeq(terms)) return [];
  const splices: Splice[] = [];
  for (const term of terms.items) {
    const exprs = isMap(term) ? term.get('matchExpressions', true) : undefined;
    if (!isSeq(exprs)) continue;
    for (const expr of exprs.items) {
      if (!isMap(expr) || str(pairOf(expr, 'key')?.value) !== ARCH_LABEL) continue;
      const op = str(pairOf(expr, 'operator')?.value);
      const values = plainSeq(pairOf(expr, 'values')?.value, `${where}.affinity ${ARCH_LABEL} values`);
      const list = values?.items.map(str) ?? [];
      if (op === 'NotIn' && list.includes('arm64'))
        throw new CannotEditError(`${where}.affinity excludes arm64 nodes (${ARCH_LABEL} NotIn arm64); change it by hand`);
      if (op === 'In' && values && !list.includes('arm64')) splices.push(appendSeqItem(file, values, 'arm64', `${where}.affinity values`));
    }
  }
  return splices;
}

function podSpecOf(doc: Document.Parsed, what: string): YAMLMap {
  const spec = plainMap(doc.getIn(['spec', 'template', 'spec'], true), `${what} spec.template.spec`);
  if (!spec) throw new CannotEditError(`${what} has no spec.template.spec`);
  if (spec.flow) throw new CannotEditError(`${what} spec.template.spec is written in flow style; edit it by hand`);
  return spec;
}

export interface SchedulingEdit {
  deployment: string;
  /** The taint to tolerate; default kubernetes.io/arch=arm64:NoExecute. */
  taint?: Taint;
}

/** Adds the arm64 nodeSelector and toleration to the named Deployment, wherever it is in the file. */
export function addArm64Scheduling(src: string, edit: SchedulingEdit): EditResult {
  return runEdit(src, (notes) => {
    const file = parseYamlFile(src);
    const doc = file.docs.find((d) => isDeployment(d, edit.deployment));
    if (!doc) throw new NotHereError(`no Deployment ${edit.deployment} in this file`);
    return applySplices(
      src,
      mergeScheduling(file, podSpecOf(doc, `Deployment ${edit.deployment}`), `Deployment ${edit.deployment}`, notes, edit.taint),
    );
  });
}

const schedulingKeys = ['nodeSelector', 'tolerations', 'affinity'];

/**
 * Helm values: the chart must already read nodeSelector/tolerations (as `helm create` charts do) at the
 * top level or under one top-level key; adding keys a chart ignores would open a PR that does nothing.
 */
export function addArm64HelmValues(src: string, taint?: Taint): EditResult {
  return runEdit(src, (notes) => {
    const file = parseYamlFile(src);
    if (file.docs.length !== 1) throw new CannotEditError('a Helm values file must be one YAML document');
    const root = plainMap(file.docs[0].contents, 'the values file');
    if (!root) throw new CannotEditError('the values file is empty');
    const has = (m: YAMLMap) => schedulingKeys.some((k) => pairOf(m, k));
    let target: { map: YAMLMap; where: string } | undefined = has(root) ? { map: root, where: 'values' } : undefined;
    if (!target) {
      const nested = root.items.filter((p) => isMap(p.value) && has(p.value as YAMLMap));
      if (nested.length > 1)
        throw new CannotEditError(
          `nodeSelector/tolerations appear under ${nested.length} keys (${nested.map((p) => str(p.key)).join(', ')}); cannot tell which is the service's`,
        );
      if (nested.length === 1) target = { map: nested[0].value as YAMLMap, where: `values.${str(nested[0].key)}` };
    }
    if (!target)
      throw new CannotEditError(
        'no nodeSelector, tolerations or affinity key found; the chart may not support them, so add them to the chart first',
      );
    return applySplices(src, mergeScheduling(file, target.map, target.where, notes, taint));
  });
}

export interface CanaryEdit {
  deployment: string;
  /** The DestinationRule host, usually the Kubernetes Service name. */
  host: string;
  /** Append a DestinationRule when no file has one for `host`. */
  createDestinationRule: boolean;
  /** The taint the -arm64 Deployment tolerates; default kubernetes.io/arch=arm64:NoExecute. */
  taint?: Taint;
}

export function hasDestinationRule(src: string, host: string): boolean {
  try {
    return parseYamlFile(src).docs.some((d) => isDestinationRuleFor(d, host));
  } catch {
    return false;
  }
}

function isDestinationRuleFor(doc: Document.Parsed, host: string): boolean {
  const h = str(doc.getIn(['spec', 'host'], true));
  return str(doc.get('kind', true)) === 'DestinationRule' && (h === host || (h?.startsWith(`${host}.`) ?? false));
}

function subsetsFor(): Array<{ name: string; labels: Record<string, string> }> {
  return CANARY_SUBSETS.map((arch) => ({ name: arch, labels: { [CANARY_ARCH_LABEL]: arch } }));
}

/**
 * The canary shape: the existing Deployment keeps running on amd64 (its pods gain the
 * `archshift.io/arch: amd64` label so a subset can select them), a copy `<name>-arm64` runs on arm64
 * nodes, and DestinationRule subsets `amd64`/`arm64` let the canary controller split traffic.
 */
export function addArm64Canary(src: string, edit: CanaryEdit): EditResult {
  return runEdit(src, (notes) => {
    const file = parseYamlFile(src);
    const original = file.docs.find((d) => isDeployment(d, edit.deployment));
    const armName = `${edit.deployment}-arm64`;
    const existingArm = file.docs.find((d) => isDeployment(d, armName));
    const rule = file.docs.find((d) => isDestinationRuleFor(d, edit.host));
    if (!original && !existingArm && !rule) throw new NotHereError(`no Deployment ${edit.deployment} in this file`);
    const splices: Splice[] = [];
    const appended: unknown[] = [];
    if (original) {
      const what = `Deployment ${edit.deployment}`;
      podSpecOf(original, what);
      const labels = plainMap(original.getIn(['spec', 'template', 'metadata', 'labels'], true), `${what} pod labels`);
      if (!labels) throw new CannotEditError(`${what} has no spec.template.metadata.labels`);
      const label = pairOf(labels, CANARY_ARCH_LABEL);
      if (!label) splices.push(insertPairs(file, labels, { [CANARY_ARCH_LABEL]: 'amd64' }, `${what} pod labels`));
      else if (str(label.value) !== 'amd64')
        throw new CannotEditError(`${what} pods are labelled ${CANARY_ARCH_LABEL}: ${str(label.value)}`);
      if (existingArm)
        splices.push(...mergeScheduling(file, podSpecOf(existingArm, `Deployment ${armName}`), `Deployment ${armName}`, notes, edit.taint));
      else appended.push(armCopy(original.toJS() as Record<string, unknown>, armName, edit.taint ?? DEFAULT_ARM64_TAINT));
    }
    if (rule) {
      const spec = plainMap(rule.get('spec', true), 'DestinationRule spec')!;
      const subsetsPair = pairOf(spec, 'subsets');
      const wanted = subsetsFor();
      if (!subsetsPair) splices.push(insertPairs(file, spec, { subsets: wanted }, 'DestinationRule spec'));
      else {
        const seq = plainSeq(subsetsPair.value, 'DestinationRule subsets');
        const names = seq?.items.map((i) => (isMap(i) ? str(pairOf(i, 'name')?.value) : undefined)) ?? [];
        const missing = wanted.filter((w) => !names.includes(w.name));
        if (!seq || isEmptyCollection(subsetsPair.value)) splices.push(fillEmptyValue(file, subsetsPair, missing));
        else for (const m of missing) splices.push(appendSeqItem(file, seq, m, 'DestinationRule subsets'));
      }
    } else if (original && edit.createDestinationRule) {
      const ns = str(original.getIn(['metadata', 'namespace'], true));
      appended.push({
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: edit.host, ...(ns ? { namespace: ns } : {}) },
        spec: { host: edit.host, subsets: subsetsFor() },
      });
    }
    let out = applySplices(src, splices);
    if (appended.length) {
      if (!/[\r\n]$/.test(out)) out += file.eol;
      for (const obj of appended) {
        const body = stringify(obj, { indent: file.indentUnit, indentSeq: !file.compactSeq, lineWidth: 0 });
        out += `---${file.eol}${body.replace(/\n/g, file.eol)}`;
      }
    }
    return out;
  });
}

/** The arm64 twin of a Deployment: same pods, its own selector label, scheduled on arm64 nodes. */
function armCopy(dep: Record<string, unknown>, name: string, taint: Taint): Record<string, unknown> {
  const copy = structuredClone(dep) as { metadata?: Record<string, unknown>; spec?: Record<string, unknown>; status?: unknown };
  delete copy.status;
  const meta = (copy.metadata ??= {});
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields']) delete meta[k];
  const annotations = meta.annotations as Record<string, string> | undefined;
  if (annotations) delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  meta.name = name;
  const spec = (copy.spec ??= {}) as {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec?: Record<string, unknown> };
  };
  spec.selector = { ...spec.selector, matchLabels: { ...spec.selector?.matchLabels, [CANARY_ARCH_LABEL]: 'arm64' } };
  const template = (spec.template ??= {});
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [CANARY_ARCH_LABEL]: 'arm64' } };
  const pod = (template.spec ??= {});
  pod.nodeSelector = { ...(pod.nodeSelector as Record<string, string> | undefined), [ARCH_LABEL]: 'arm64' };
  const tolerations = (pod.tolerations as Toleration[] | undefined) ?? [];
  pod.tolerations = tolerations.some((t) => toleratesTaint(t, taint)) ? tolerations : [...tolerations, arm64Toleration(taint)];
  const terms =
    (
      pod.affinity as
        | {
            nodeAffinity?: {
              requiredDuringSchedulingIgnoredDuringExecution?: {
                nodeSelectorTerms?: Array<{ matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> }>;
              };
            };
          }
        | undefined
    )?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const e of terms.flatMap((t) => t.matchExpressions ?? [])) {
    if (e.key === ARCH_LABEL && e.operator === 'In' && e.values && !e.values.includes('arm64')) e.values = ['arm64'];
  }
  return copy;
}
