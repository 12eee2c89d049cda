// System components (DaemonSets, sidecars, operators: fluent-bit, istio proxyv2, flink, ...) judged by
// image name and tag against the knowledge base. `analyseSystemImages` takes image strings with their
// evidence, so the check use case and the digest can call it on live cluster objects too;
// `analyseManifest` finds those images in Kubernetes/Compose/Helm-values YAML with line numbers.
import { LineCounter, parseAllDocuments, isMap, isScalar, isSeq, type Node } from 'yaml';
import type { Evidence, Finding } from '../report.ts';
import type { KnowledgeBase } from '../knowledge/load.ts';
import { parseImageRef } from '../../images/ref.ts';
import { seeThroughMirrors, type Mirrors } from '../../images/nearest-tag.ts';
import { tagNumbers } from '../versions.ts';
import { escapeRegExp, fixText, knowledgeHit, lineText, unreadable } from './native-deps.ts';

export interface ImageUse {
  image: string;
  evidence: Evidence;
}

/**
 * Known components among the images (Dockerfile base images too: `FROM flink:1.13`), seen through registry
 * mirrors; a tag like `1.7` floats, so it is judged by its whole line.
 */
export function analyseSystemImages(images: ImageUse[], kb: KnowledgeBase, mirrors: Mirrors = {}): Finding[] {
  const findings: Finding[] = [];
  for (const use of images) {
    let ref;
    try {
      ref = seeThroughMirrors(parseImageRef(use.image), mirrors).upstream;
    } catch {
      continue; // not an image reference we can judge (templated); the image check reports those
    }
    const entry = kb.lookup('system', `${ref.registry}/${ref.repository}`);
    if (!entry || !ref.tag) continue;
    const numbers = tagNumbers(ref.tag);
    if (!numbers) continue; // `latest`, `stable`: the newest release, which the knowledge base cannot judge
    const version = numbers.join('.');
    const hit = knowledgeHit(kb, 'system', entry.package, 'tag', { kind: 'exact', version });
    if (!hit) continue;
    const below = hit.range.below ? tagNumbers(hit.range.below)! : undefined;
    // `1.7` resolves to the newest 1.7.x: affected only if that whole line is below the fix.
    const floating = below && numbers.length < below.length && below.slice(0, numbers.length).join('.') === version;
    findings.push({
      id: hit.entry.id,
      severity: floating ? 'warning' : hit.severity,
      ecosystem: 'system',
      title: floating
        ? `${use.image}: floating tag ${ref.tag} may resolve to a ${entry.package} release before ${hit.range.below}, which ${hit.range.breaks}`
        : `${use.image} (${entry.package} ${version}) ${hit.range.impact === 'investigate' ? 'is unproven on arm64' : hit.range.impact === 'degrades' ? 'runs degraded on arm64' : 'does not work on arm64'}: ${hit.range.breaks}`,
      evidence: { ...use.evidence, image: use.image },
      fix: floating ? `Pin ${entry.package} to ${hit.target} or later.` : fixText(hit.entry, entry.package, version, hit.target),
      source: hit.range.source ?? hit.entry.source,
    });
  }
  return findings;
}

export interface ManifestScan {
  findings: Finding[];
  /** Kubernetes objects, Compose services or Helm-style image blocks seen: the ecosystem is present. */
  images: number;
  isManifest: boolean;
}

/** Images in one YAML file: `image:` strings, `{repository, tag}` blocks, Istio sidecar annotations and IstioOperator tags. */
export function analyseManifest(file: string, text: string, kb: KnowledgeBase, mirrors: Mirrors = {}): ManifestScan {
  // Parsing YAML is the slow part of a scan: only files that mention a known component are parsed.
  if (!componentWords(kb).test(text)) {
    return { findings: [], images: 0, isManifest: /^(apiVersion|services):/m.test(text) };
  }
  const lineCounter = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false });
  } catch (err) {
    return { findings: [unreadable(file, `malformed YAML: ${(err as Error).message.split('\n')[0]}`)], images: 0, isManifest: false };
  }
  const docList = Array.isArray(docs) ? docs : [docs];
  const broken = docList.find((d) => d.errors.length > 0);
  if (broken) {
    // Helm templates are not YAML until rendered: read their literal `image:` lines instead.
    if (text.includes('{{')) return templateImages(file, text, kb, mirrors);
    const e = broken.errors[0]!;
    return {
      findings: [unreadable(file, `malformed YAML: ${e.message.split('\n')[0]}`, e.linePos?.[0]?.line)],
      images: 0,
      isManifest: false,
    };
  }
  const uses: ImageUse[] = [];
  let isManifest = false;
  const lineOf = (node: Node | null | undefined) => (node?.range ? lineCounter.linePos(node.range[0]).line : undefined);
  const at = (node: Node | null | undefined): Evidence => {
    const line = lineOf(node);
    return { file, ...(line ? { line, excerpt: lineText(text, line) } : {}) };
  };
  const walk = (node: unknown, depth: number, istioOperator: boolean): void => {
    if (depth > 40) return;
    if (isSeq(node)) {
      for (const item of node.items) walk(item, depth + 1, istioOperator);
      return;
    }
    if (!isMap(node)) return;
    const get = (key: string) => node.items.find((p) => isScalar(p.key) && p.key.value === key);
    const repo = get('repository');
    const tag = get('tag');
    if (repo && tag && isScalar(repo.value) && isScalar(tag.value)) {
      const hub = get('registry');
      const prefix = hub && isScalar(hub.value) ? `${hub.value.value}/` : '';
      uses.push({ image: `${prefix}${repo.value.value}:${tag.value.value}`, evidence: at(tag.value as Node) });
    }
    if (istioOperator && tag && isScalar(tag.value) && !repo) {
      const hub = get('hub');
      const base = hub && isScalar(hub.value) ? String(hub.value.value) : 'docker.io/istio';
      uses.push({ image: `${base}/proxyv2:${tag.value.value}`, evidence: at(tag.value as Node) });
    }
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if ((key === 'image' || key === 'sidecar.istio.io/proxyImage') && isScalar(pair.value) && typeof pair.value.value === 'string') {
        uses.push({ image: pair.value.value, evidence: at(pair.value as Node) });
      }
      walk(pair.value, depth + 1, istioOperator);
    }
  };
  for (const doc of docList) {
    const root = doc.contents;
    if (!isMap(root)) continue;
    const kind = root.get('kind', true);
    const kindName = isScalar(kind) ? String(kind.value) : undefined;
    if ((root.has('apiVersion') && kindName) || root.has('services')) isManifest = true;
    walk(root, 0, kindName === 'IstioOperator');
  }
  if (uses.length > 0) isManifest = true;
  return { findings: analyseSystemImages(uses, kb, mirrors), images: uses.length, isManifest };
}

const wordsCache = new WeakMap<KnowledgeBase, RegExp>();

function componentWords(kb: KnowledgeBase): RegExp {
  let re = wordsCache.get(kb);
  if (!re) {
    const words = new Set(['IstioOperator', 'proxyImage']);
    for (const e of kb.entries('system')) for (const a of [e.package, ...e.aliases]) words.add(a.split('/').pop()!);
    re = new RegExp([...words].map(escapeRegExp).join('|'));
    wordsCache.set(kb, re);
  }
  return re;
}

function templateImages(file: string, text: string, kb: KnowledgeBase, mirrors: Mirrors): ManifestScan {
  const uses: ImageUse[] = [];
  text.split('\n').forEach((l, i) => {
    const m = /^\s*-?\s*image:\s*["']?([^\s"'{}]+:[^\s"'{}]+)["']?\s*$/.exec(l);
    if (m) uses.push({ image: m[1]!, evidence: { file, line: i + 1, excerpt: lineText(text, i + 1) } });
  });
  return { findings: analyseSystemImages(uses, kb, mirrors), images: uses.length, isManifest: true };
}
