// The readiness check use case: "can this service run on arm64, and if not, what must change?"
// Reads the Dockerfiles, pipeline and manifests through a FileSource, the live workload through the
// Kubernetes adapter, asks the registry about every image, and combines it all into one Report.
// Whatever evidence cannot be had becomes an "unknown" finding; nothing missing is ever read as ready.
import { analysePreflight, type NodeLike } from '../nodes/analyse.ts';
import type { Taint } from '../scheduling/taints.ts';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { GitHubClient } from '../adapters/github.ts';
import type { Kubernetes } from '../adapters/kubernetes.ts';
import type { PomReader } from '../adapters/maven.ts';
import type { Clock } from '../clock.ts';
import type { Catalog } from '../config/catalog.ts';
import type { Config } from '../config/schema.ts';
import type { V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import { analyseDockerfile } from './analysers/dockerfile.ts';
import { oncePerKey } from '../once-per-key.ts';
import { imageFinding, invalidReferenceFinding, type ImageUse } from './analysers/images.ts';
import { analysePipeline, defaultPipelineRule, type PipelineRule } from './analysers/pipeline.ts';
import { allowedArchitectures, ARCH_LABEL, DEFAULT_ARM64_TAINT, toleratesArm64Taint } from '../scheduling/arm64.ts';
import { analyseCiFile, ciKindOf } from './analysers/ci.ts';
import { exclusionsOf } from './exclude.ts';
import {
  placementFinding,
  schedulingFindings,
  workloadFromLive,
  workloadsFromHelmValues,
  workloadsFromManifest,
  type LiveWorkload,
  type Workload,
} from './analysers/workload.ts';
import { parseImageRef } from '../images/ref.ts';
import type { Arm64Suggestion, ImageInspector, ImageResult } from '../images/types.ts';
import { buildReport, type Finding, type Report } from './report.ts';
import { builtinKnowledge, loadKnowledgeBase, type KnowledgeBase } from './knowledge/load.ts';
import { analyseSystemImages } from './analysers/system.ts';
import { lowerForMusl } from './analysers/python.ts';
import type { Mirrors } from '../images/nearest-tag.ts';
import { listCheckout, scanCheckout } from './scan.ts';
import { isImageLayerReader, scanImageLayers } from './image-scan.ts';
import { verifyArm64Binaries } from './image-elf.ts';
import { scanRepository } from './scan-github.ts';
import { githubSource, localSource, SourceError, type FileSource } from './sources.ts';
import type { TransitiveOptions } from './transitive.ts';

export interface CheckSettings {
  pipeline: PipelineRule;
  imageTimeoutMs: number;
  /** Look inside the service image's layers for x86-only native code (default true). */
  scanImageLayers?: boolean;
  /** Read the arm64 variant of the final stage's base images too (default false). */
  verifyBaseImages?: boolean;
  /** A local checkout's pipeline file, relative to it (`readiness.pipeline.path`). */
  pipelinePath?: string;
  /** Paths a local checkout's check leaves out (`readiness.exclude`), .gitignore syntax. */
  exclude?: string[];
}

export const defaultCheckSettings: CheckSettings = { pipeline: defaultPipelineRule, imageTimeoutMs: 60_000 };

/** Everything one check looks at; built from the catalog (checkService) or a local directory (checkPath). */
export interface CheckPlan {
  service: string;
  code: FileSource;
  dockerfiles: string[];
  /** `required: false` (a local checkout) turns a missing file into a note instead of "unknown". */
  pipeline?: { source: FileSource; file: string; required: boolean };
  manifests?: { source: FileSource; files: string[]; helmValues: string[]; required: boolean };
  /** The service's own image repository (containers running it are "the service image"). */
  serviceRepository?: string;
  /** Inspected when no manifest or live container names the service image. */
  serviceReference?: string;
  /** Reads the running workload; throws LiveUnavailable or any error (both become "unknown"). */
  live?: () => Promise<LiveWorkload>;
  /** Said when there is no live part (no cluster configured). */
  liveSkipped?: string;
  /** The configured arm64 taint of the service's cluster; the live nodes' own taint wins when read. */
  arm64Taint?: Taint;
  /** The native-dependency scan (of the checkout, or of the service repo through GitHub). */
  scan?: () => Promise<Finding[]>;
  /** `always`: the serviceReference is inspected even when containers name the service image (`--image`). */
  serviceReferenceMode?: 'always' | 'fallback';
  /** Scans the service image's layers (not base images: too costly); never throws. */
  scanImage?: (reference: string) => Promise<Finding[]>;
  /** The service opted in (catalog `allowMajorBump`) to base-image PRs that cross a major version. */
  allowMajorBump?: boolean;
  /** Knowledge for system components in base images (default: the built-in knowledge base). */
  knowledge?: Promise<KnowledgeBase>;
  /** `registry.mirrors`: image-name rules see through them. */
  mirrors?: Mirrors;
  /** CI files that may build the image (workflows, .gitlab-ci.yml, Jenkinsfile). */
  ci?: { source: FileSource; files: string[] };
}

export class LiveUnavailable extends Error {}

export interface CheckOptions {
  inspector?: ImageInspector;
  settings?: CheckSettings;
  now?: Date;
}

interface Use extends ImageUse {
  /** Which workload the container belongs to, for the arm64-without-image cross-check. */
  workload?: Workload;
}

/** A check in three steps: gather the evidence (all reads at once), judge it, summarise it as a Report. */
export async function runCheck(plan: CheckPlan, opts: CheckOptions = {}): Promise<Report> {
  const settings = opts.settings ?? defaultCheckSettings;
  const evidence = await gatherEvidence(plan);
  const findings = await judge(plan, evidence, opts.inspector, settings);
  return buildReport(plan.service, findings, opts.now);
}

/** A file's text, undefined when it does not exist, or why it could not be read. */
type Read = string | undefined | SourceError;

/** Everything read for one check, before any judgement. */
interface Evidence {
  dockerfiles: Read[];
  pipeline?: Read;
  /** Manifest files, then Helm values files, in plan order. */
  manifests: Array<{ file: string; kind: 'manifest' | 'helm'; text: Read }>;
  live?: LiveWorkload | Error;
  scanned?: Finding[] | Error;
  ci: Read[];
  knowledge: KnowledgeBase;
}

/** What judging builds up: the findings so far and every place an image is used. */
interface Judged {
  findings: Finding[];
  uses: Use[];
}

async function read(source: FileSource, path: string): Promise<Read> {
  try {
    return await source.read(path);
  } catch (err) {
    return err instanceof SourceError ? err : new SourceError(`cannot read ${path} from ${source.label}: ${(err as Error).message}`);
  }
}

function unreadable(path: string, err: SourceError): Finding {
  return {
    id: 'source.unreadable',
    severity: 'unknown',
    ecosystem: 'file',
    title: `${path} could not be read: ${err.message}`,
    evidence: { file: path },
    fix: 'Make the file readable to archshift (GitHub credentials and repository access), then check again.',
  };
}

/** Reads every file, the live workload and the dependency scan at once; nothing here throws. */
async function gatherEvidence(plan: CheckPlan): Promise<Evidence> {
  const manifestFiles = [
    ...(plan.manifests?.files ?? []).map((file) => ({ file, kind: 'manifest' as const })),
    ...(plan.manifests?.helmValues ?? []).map((file) => ({ file, kind: 'helm' as const })),
  ];
  const [dockerfiles, pipeline, manifestTexts, live, scanned, ci] = await Promise.all([
    Promise.all(plan.dockerfiles.map((p) => read(plan.code, p))),
    plan.pipeline ? read(plan.pipeline.source, plan.pipeline.file) : undefined,
    Promise.all(manifestFiles.map((m) => read(plan.manifests!.source, m.file))),
    plan.live
      ? plan.live().then(
          (l): LiveWorkload | Error => l,
          (err: Error) => err,
        )
      : undefined,
    plan.scan
      ? plan.scan().then(
          (f): Finding[] | Error => f,
          (err: Error) => err,
        )
      : undefined,
    Promise.all((plan.ci?.files ?? []).map((p) => read(plan.ci!.source, p))),
  ]);
  // Dockerfiles' base images may be system components (`FROM flink:1.13`); a bad knowledge file falls back to the built-in one.
  const knowledge = await (plan.knowledge ?? Promise.resolve(builtinKnowledge())).catch(() => builtinKnowledge());
  return {
    dockerfiles,
    pipeline,
    manifests: manifestFiles.map((m, i) => ({ ...m, text: manifestTexts[i] })),
    live,
    scanned,
    ci,
    knowledge,
  };
}

/** Every finding, in the order a reader follows the service: build, pipeline, pods, images, native code. */
async function judge(plan: CheckPlan, ev: Evidence, inspector: ImageInspector | undefined, settings: CheckSettings): Promise<Finding[]> {
  const j: Judged = { findings: [], uses: [] };
  const ciBuilds = judgeCiFiles(plan, ev, j);
  const finalImages = judgeDockerfiles(plan, ev, j);
  judgePipeline(plan, ev, ciBuilds, settings, j);
  const live = ev.live instanceof Error ? undefined : ev.live;
  const taint = live?.arm64Taint || plan.arm64Taint || DEFAULT_ARM64_TAINT;
  // One lookup per reference for the whole check, started as soon as a manifest names it.
  const inspect = inspector && oncePerKey((reference: string) => inspector.inspect(reference));
  const workloads = await judgeManifests(plan, ev, taint, j, inspect);
  judgeLive(plan, ev, workloads, taint, j);
  judgeServiceImage(plan, j);
  await judgeImages(plan, workloads, taint, live, inspector, inspect, settings, j);
  judgeNativeScan(ev, finalImages, j);
  return j.findings;
}

/** CI files that build the image; returns whether one does (it then answers whether arm64 is built). */
function judgeCiFiles(plan: CheckPlan, ev: Evidence, j: Judged): boolean {
  let ciBuilds = false;
  plan.ci?.files.forEach((path, i) => {
    const text = ev.ci[i];
    if (text instanceof SourceError) return void j.findings.push(unreadable(path, text));
    if (text === undefined) return;
    const analysis = analyseCiFile(path, text);
    ciBuilds ||= analysis.builds;
    j.findings.push(...analysis.findings);
  });
  return ciBuilds;
}

type FinalImage = { base?: string; libc?: 'musl' | 'glibc' };

/** Dockerfiles: their findings, system components among base images, and every image they use. Returns the final stages' images. */
function judgeDockerfiles(plan: CheckPlan, ev: Evidence, j: Judged): FinalImage[] {
  const finalImages: FinalImage[] = [];
  plan.dockerfiles.forEach((path, i) => {
    const text = ev.dockerfiles[i];
    if (text instanceof SourceError) return void j.findings.push(unreadable(path, text));
    if (text === undefined) {
      return void j.findings.push({
        id: 'dockerfile.missing',
        severity: 'unknown',
        ecosystem: 'dockerfile',
        title: `${path} was not found in ${plan.code.label}, so the base images are unknown`,
        evidence: { file: path },
        fix: "Point the catalog entry's `dockerfiles` at the Dockerfile(s) the service is built from.",
      });
    }
    const analysis = analyseDockerfile(path, text);
    j.findings.push(...analysis.findings);
    finalImages.push({ base: analysis.finalBase, libc: analysis.finalLibc });
    const bases = analysis.images.filter((image) => image.via === 'FROM' && image.role !== 'unused');
    j.findings.push(
      ...analyseSystemImages(
        bases.map((image) => ({ image: image.reference, evidence: { file: image.file, line: image.line } })),
        ev.knowledge,
        plan.mirrors,
      ),
    );
    for (const image of analysis.images) {
      j.uses.push({
        reference: image.reference,
        label: image.via === 'FROM' ? `Base image of stage ${image.stage}` : `Image copied from (${image.via}) in stage ${image.stage}`,
        role: image.role,
        evidence: { file: image.file, line: image.line },
        edit: image.edit,
      });
    }
  });
  if (!plan.dockerfiles.length) {
    j.findings.push({
      id: 'dockerfile.missing',
      severity: 'unknown',
      ecosystem: 'dockerfile',
      title: `No Dockerfile found in ${plan.code.label}, so the base images are unknown`,
      evidence: {},
      fix: 'Give the Dockerfile path (catalog `dockerfiles`), or run the check in the directory that holds it.',
    });
  }
  return finalImages;
}

function judgePipeline(plan: CheckPlan, ev: Evidence, ciBuilds: boolean, settings: CheckSettings, j: Judged): void {
  if (!plan.pipeline) return;
  const { file, required } = plan.pipeline;
  const text = ev.pipeline;
  if (text instanceof SourceError) j.findings.push(unreadable(file, text));
  else if (text === undefined && !required) {
    // A CI file that builds the image already answered whether arm64 is built.
    if (!ciBuilds)
      j.findings.push({
        id: 'pipeline.not-checked',
        severity: 'warning',
        ecosystem: 'pipeline',
        title: `No pipeline file (${file}) in this checkout: whether releases build an arm64 image was not checked`,
        evidence: {},
        fix: `Check the service with \`archshift check <service>\` to read its pipeline, or add ${file}.`,
      });
  } else j.findings.push(...analysePipeline(file, text, settings.pipeline));
}

/** Manifests and Helm values: their workloads, where those may schedule, and their containers' images. */
async function judgeManifests(plan: CheckPlan, ev: Evidence, taint: Taint, j: Judged, inspect?: Inspect): Promise<Workload[]> {
  const workloads: Workload[] = [];
  for (const { file, kind, text } of ev.manifests) {
    if (text instanceof SourceError) {
      j.findings.push(unreadable(file, text));
      continue;
    }
    if (text === undefined) {
      j.findings.push({
        id: 'kubernetes.manifest-missing',
        severity: plan.manifests!.required ? 'unknown' : 'warning',
        ecosystem: 'kubernetes',
        title: `${file} was not found, so its pods and images were not checked`,
        evidence: { file },
        fix: "Point the catalog entry's `manifests.files` (or `manifests.helmValues`) at the service's manifests.",
      });
      continue;
    }
    const analysis =
      kind === 'helm'
        ? workloadsFromHelmValues(file, text, plan.service)
        : // Lookups start while the rest of the file is parsed (the result is awaited in judgeImages).
          await workloadsFromManifest(file, text, (w) => w.containers.forEach((c) => inspect && prefetch(inspect, c.image)));
    j.findings.push(...analysis.findings);
    workloads.push(...analysis.workloads);
  }
  for (const w of workloads) {
    j.findings.push(...schedulingFindings(w, taint));
    for (const c of w.containers) j.uses.push(containerUse(c, w, plan.serviceRepository));
  }
  return workloads;
}

/** The running workload (added to `workloads`), and a required manifest set that holds no pod spec. */
function judgeLive(plan: CheckPlan, ev: Evidence, workloads: Workload[], taint: Taint, j: Judged): void {
  const { live } = ev;
  if (live instanceof Error) {
    j.findings.push({
      id: live instanceof LiveUnavailable ? 'kubernetes.workload-missing' : 'kubernetes.unreachable',
      severity: 'unknown',
      ecosystem: 'kubernetes',
      title: live instanceof LiveUnavailable ? live.message : `The cluster could not be read: ${live.message}`,
      evidence: {},
      fix: 'Containers injected at admission (sidecars) and the nodes the pods run on are only visible in the cluster; check again when it answers.',
    });
  } else if (live) {
    const w = workloadFromLive(live);
    j.findings.push(placementFinding(live));
    if (!workloads.length) j.findings.push(...schedulingFindings(w, taint));
    const seen = new Set(j.uses.map((u) => normalized(u.reference)));
    for (const c of w.containers) if (!seen.has(normalized(c.image))) j.uses.push(containerUse(c, w, plan.serviceRepository));
    workloads.push(w);
  } else if (plan.liveSkipped) {
    j.findings.push({
      id: 'kubernetes.live-not-checked',
      severity: 'warning',
      ecosystem: 'kubernetes',
      title: plan.liveSkipped,
      evidence: {},
    });
  }
  const allRead = ev.manifests.every((m) => m.text !== undefined && !(m.text instanceof SourceError));
  if (plan.manifests?.required && !workloads.length && allRead) {
    j.findings.push({
      id: 'kubernetes.no-workload',
      severity: 'unknown',
      ecosystem: 'kubernetes',
      title: `No pod spec (Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod) was found in ${ev.manifests.map((m) => m.file).join(', ')}`,
      evidence: { file: ev.manifests[0]?.file },
    });
  }
}

/** The service's own image when no container named it. */
function judgeServiceImage(plan: CheckPlan, j: Judged): void {
  if (!plan.serviceRepository && !plan.serviceReference) return;
  const { uses } = j;
  const named =
    plan.serviceReference && uses.some((u) => u.role === 'service' && normalized(u.reference) === normalized(plan.serviceReference!));
  if (named || (plan.serviceReferenceMode !== 'always' && uses.some((u) => u.role === 'service'))) return;
  if (plan.serviceReference) {
    uses.push({ reference: plan.serviceReference, label: 'Service image', role: 'service', evidence: { image: plan.serviceReference } });
  } else {
    j.findings.push({
      id: 'image.service-unchecked',
      severity: 'unknown',
      ecosystem: 'image',
      title: `No tag of the service image ${plan.serviceRepository} is known (not in the manifests, the cluster or the catalog), so whether it publishes linux/arm64 is unknown`,
      evidence: { image: plan.serviceRepository },
      fix: "Set the catalog entry's `tag`, or let archshift read the cluster.",
    });
  }
}

/** The registry, once per distinct reference; the service image's layers meanwhile; pods that may land on arm64 without an image for it. */
async function judgeImages(
  plan: CheckPlan,
  workloads: Workload[],
  taint: Taint,
  live: LiveWorkload | undefined,
  inspector: ImageInspector | undefined,
  inspect: Inspect | undefined,
  settings: CheckSettings,
  j: Judged,
): Promise<void> {
  const { uses, findings } = j;
  const layerTarget = plan.scanImage ? serviceImageOf(plan, uses) : undefined;
  const [results, layerFindings] = await Promise.all([
    inspectAll(uses, inspector && inspect && { inspector, inspect }, settings.imageTimeoutMs),
    layerTarget ? plan.scanImage!(layerTarget) : [],
  ]);
  findings.push(...layerFindings, ...(await verifyBases(uses, results, inspector, settings)));
  for (const use of dedupe(uses)) {
    const r = results.get(use.reference)!;
    findings.push(
      'invalid' in r ? invalidReferenceFinding(use, r.invalid) : imageFinding(use, r.result, r.suggestion, plan.allowMajorBump),
    );
  }
  findings.push(...arm64WithoutImage(workloads, uses, results, taint, live));
  // Every stage FROM scratch and no image named anywhere: what the copied artefacts are built for is unknown.
  if (!uses.length && !findings.some((f) => f.severity === 'unknown')) {
    findings.push({
      id: 'image.none-checked',
      severity: 'unknown',
      ecosystem: 'image',
      title:
        'No image was checked: every Dockerfile stage builds FROM scratch and no manifest, cluster or --image names the built image, so the architecture of what it copies in is unknown',
      evidence: { file: plan.dockerfiles[0] },
      fix: 'Run `archshift check <path> --image <the built image>`, or check the service by name so its image is read from the catalog and the cluster.',
    });
  }
}

/** Native dependencies from the scan; wheels only matter where pip can use them (on musl neither arch has manylinux wheels). */
function judgeNativeScan(ev: Evidence, finalImages: FinalImage[], j: Judged): void {
  const { scanned } = ev;
  if (scanned instanceof Error) {
    j.findings.push({
      id: 'native.scan-failed',
      severity: 'unknown',
      ecosystem: 'native',
      title: `The native-dependency scan failed: ${scanned.message}`,
      evidence: {},
    });
  } else if (scanned) {
    const musl = finalImages.length > 0 && finalImages.every((f) => f.libc === 'musl');
    j.findings.push(...(musl ? lowerForMusl(scanned, finalImages[0]!.base ?? 'Alpine') : scanned));
  }
}

/** With `verifyBaseImages`: the runtime base images that list linux/arm64, checked for x86-64 binaries under it. */
async function verifyBases(
  uses: Use[],
  results: Map<string, Looked>,
  inspector: ImageInspector | undefined,
  settings: CheckSettings,
): Promise<Finding[]> {
  if (!settings.verifyBaseImages || settings.scanImageLayers === false || !isImageLayerReader(inspector)) return [];
  const bases = [...new Set(uses.filter((u) => u.role === 'target').map((u) => u.reference))].filter((ref) => {
    const r = results.get(ref);
    return r !== undefined && 'result' in r && r.result.status === 'multi-arch-with-arm64';
  });
  return (await Promise.all(bases.map((ref) => verifyArm64Binaries(inspector, ref)))).flat();
}

/** The service image to look into: the one named (catalog tag, --image), else the one running, else one in the manifests. */
function serviceImageOf(plan: CheckPlan, uses: Use[]): string | undefined {
  const valid = (u: Use) => u.role === 'service' && repositoryOf(u.reference) !== undefined;
  return (
    plan.serviceReference ?? (uses.find((u) => valid(u) && u.workload && 'cluster' in u.workload.origin) ?? uses.find(valid))?.reference
  );
}

/**
 * The layer scan when it is switched on and the registry client can read blobs: x86-only native code in
 * the image that runs today, and whether its arm64 variant really holds arm64 binaries.
 */
function imageLayerScan(inspector: unknown, settings: CheckSettings): CheckPlan['scanImage'] {
  if (settings.scanImageLayers === false || !isImageLayerReader(inspector)) return undefined;
  return async (reference) =>
    (await Promise.all([scanImageLayers(inspector, reference), verifyArm64Binaries(inspector, reference)])).flat();
}

function normalized(reference: string): string {
  try {
    return parseImageRef(reference).normalized;
  } catch {
    return reference;
  }
}

function repositoryOf(reference: string): string | undefined {
  try {
    const r = parseImageRef(reference);
    return `${r.registry}/${r.repository}`;
  } catch {
    return undefined;
  }
}

function containerUse(c: Workload['containers'][number], w: Workload, serviceRepository?: string): Use {
  const isService = serviceRepository !== undefined && repositoryOf(c.image) === repositoryOf(serviceRepository);
  const editable =
    c.evidence.file && c.evidence.line
      ? { file: c.evidence.file, line: c.evidence.line, text: c.image, part: 'reference' as const }
      : undefined;
  return {
    reference: c.image,
    label: `${c.kind === 'init' ? 'Init container' : 'Container'} ${c.container} of ${w.kind} ${w.name}:`,
    role: isService ? 'service' : 'container',
    evidence: c.evidence,
    edit: isService ? undefined : editable,
    workload: w,
  };
}

/** One finding per image per place; the same image seen live after a manifest names it is not repeated. */
function dedupe(uses: Use[]): Use[] {
  const seen = new Set<string>();
  return uses.filter((u) => {
    // One edit place is one finding (two stages built FROM the same ARG share the fix).
    const key = u.edit
      ? `${u.edit.file}:${u.edit.line}:${u.edit.text}`
      : `${u.reference}|${u.role}|${u.evidence.file ?? 'live'}:${u.evidence.line ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

type Looked = { invalid: string } | { result: ImageResult; suggestion?: Arm64Suggestion };
type Inspect = (reference: string) => Promise<ImageResult>;
/** The inspector, and its `inspect` called once per reference for the whole check. */
type Images = { inspector: ImageInspector; inspect: Inspect };

/** Starts the lookup of a valid reference; its result (or failure) is read when the images are judged. */
function prefetch(inspect: Inspect, reference: string): void {
  try {
    parseImageRef(reference);
  } catch {
    return; // judged as an invalid reference, never looked up
  }
  void inspect(reference).catch(() => undefined);
}

async function inspectAll(uses: Use[], images: Images | undefined, timeoutMs: number): Promise<Map<string, Looked>> {
  const byRef = new Map<string, Use[]>();
  for (const u of uses) byRef.set(u.reference, [...(byRef.get(u.reference) ?? []), u]);
  const out = new Map<string, Looked>();
  await Promise.all(
    [...byRef.entries()].map(async ([reference, group]) => {
      try {
        parseImageRef(reference);
      } catch (err) {
        out.set(reference, { invalid: (err as Error).message.replace(/^invalid image reference "[^"]*": /, '') });
        return;
      }
      if (!images) {
        out.set(reference, {
          result: { reference, normalized: reference, status: 'error', platforms: [], reason: 'no registry client is configured' },
        });
        return;
      }
      const needsSuggestion = group.some((u) => u.role !== 'service');
      out.set(
        reference,
        await within(timeoutMs, lookUp(images, reference, needsSuggestion), () => ({
          result: {
            reference,
            normalized: reference,
            status: 'error',
            platforms: [],
            reason: `no answer within ${Math.round(timeoutMs / 1000)} s`,
          },
        })),
      );
    }),
  );
  return out;
}

async function lookUp({ inspector, inspect }: Images, reference: string, needsSuggestion: boolean): Promise<Looked> {
  let result: ImageResult;
  try {
    result = await inspect(reference);
  } catch (err) {
    return { result: { reference, normalized: reference, status: 'error', platforms: [], reason: (err as Error).message } };
  }
  if (result.status !== 'amd64-only' || !needsSuggestion) return { result };
  try {
    if (inspector.suggestArm64Image) return { result, suggestion: await inspector.suggestArm64Image(reference) };
    const tag = await inspector.nearestArm64Tag?.(reference);
    if (tag === undefined)
      return {
        result,
        suggestion: {
          kind: 'none',
          prApplicable: false,
          reason: inspector.nearestArm64Tag ? 'no newer tag publishes linux/arm64' : 'the registry client cannot search tags',
        },
      };
    const ref = parseImageRef(reference);
    return {
      result,
      suggestion: { kind: 'tag-bump', image: `${ref.writtenName}:${tag}`, prApplicable: true, reason: `tag ${tag} publishes linux/arm64` },
    };
  } catch (err) {
    return {
      result,
      suggestion: { kind: 'none', prApplicable: false, reason: `the search for an arm64 tag failed: ${(err as Error).message}` },
    };
  }
}

/** Resolves to `fallback()` when `promise` takes longer than `ms`; the timer never holds the process open. */
function within<T>(ms: number, promise: Promise<T>, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback()), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The failure this product must never cause: pods that can land on arm64 nodes while one of their
 * images has no arm64 variant crash with "exec format error".
 */
function arm64WithoutImage(workloads: Workload[], uses: Use[], results: Map<string, Looked>, taint: Taint, live?: LiveWorkload): Finding[] {
  const out: Finding[] = [];
  const amd64Only = (ref: string): boolean => {
    const r = results.get(ref);
    return r !== undefined && 'result' in r && r.result.status === 'amd64-only';
  };
  for (const w of workloads) {
    const allowed = allowedArchitectures(w.spec);
    // Untainted arm64 nodes take any pod its selectors allow, tolerations or not.
    const mayRunOnArm64 =
      (allowed === 'any' || allowed.has('arm64')) && (toleratesArm64Taint(w.spec, taint) || live?.arm64NodesUntainted === true);
    const runsOnArm64 =
      'cluster' in w.origin && live !== undefined && live.pods.some((p) => p.nodeName && live.nodeArch.get(p.nodeName) === 'arm64');
    if (!mayRunOnArm64 && !runsOnArm64) continue;
    const bad = [...new Set(uses.filter((u) => u.workload === w && amd64Only(u.reference)).map((u) => u.reference))];
    if (!bad.length) continue;
    out.push({
      id: 'kubernetes.arm64-without-image',
      severity: 'blocker',
      ecosystem: 'kubernetes',
      title: `${w.kind} ${w.name} ${runsOnArm64 ? 'has pods on arm64 nodes' : 'can be scheduled on arm64 nodes'} but ${bad.join(', ')} ${bad.length === 1 ? 'has' : 'have'} no arm64 image: those pods fail with "exec format error"`,
      evidence:
        'file' in w.origin
          ? { file: w.origin.file, line: w.origin.line }
          : { excerpt: `${w.origin.cluster}: ${w.kind} ${w.origin.namespace}/${w.name}` },
      fix: 'Keep the pods off arm64 nodes (remove the arm64 toleration or select amd64) until every image publishes linux/arm64.',
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Entry points.

/** What checking a catalog service uses (the composition root's bag has it all). */
export interface CheckNeeds {
  readonly config: Config;
  readonly catalog: Catalog;
  readonly clock: Clock;
  /** Absent: the live part is skipped (said in the report). */
  readonly kube?: Kubernetes;
  /** Absent: repositories cannot be read (said in the report). */
  readonly github?: GitHubClient;
  /** Absent: every image is "unknown". */
  readonly registry?: ImageInspector;
  /** Present when `maven.transitive` is on. */
  readonly maven?: PomReader;
}

/** The dependency-tree resolution, when a Maven repository adapter is configured (maven.transitive). */
export function transitiveOf(deps: Pick<CheckNeeds, 'config' | 'maven'>): TransitiveOptions | undefined {
  return deps.maven
    ? { reader: deps.maven, limits: { maxPoms: deps.config.maven.maxPoms, maxDepth: deps.config.maven.maxDepth } }
    : undefined;
}

export function checkSettingsOf(deps: Pick<CheckNeeds, 'config'>): CheckSettings {
  const r = deps.config.readiness;
  return {
    pipeline: { section: r.pipeline.section, flag: r.pipeline.flag },
    imageTimeoutMs: r.imageTimeoutMs,
    scanImageLayers: r.scanImageLayers,
    verifyBaseImages: r.verifyBaseImages,
    pipelinePath: r.pipeline.path,
    exclude: r.exclude,
  };
}

/** Reads the live Deployment, its pods and their nodes' architectures. */
export async function readLive(
  deps: Pick<CheckNeeds, 'config' | 'kube'>,
  cluster: string | undefined,
  namespace: string,
  name: string,
): Promise<LiveWorkload> {
  const c = deps.kube!.cluster(cluster);
  const deployment: V1Deployment | undefined = await c.getDeployment(namespace, name);
  if (!deployment)
    throw new LiveUnavailable(`Deployment ${namespace}/${name} does not exist in cluster ${c.name}, so its running containers are unknown`);
  const labels = deployment.spec?.selector?.matchLabels ?? {};
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const [pods, nodes]: [V1Pod[], V1Node[]] = await Promise.all([
    selector ? c.listPods({ namespace, labelSelector: selector }) : Promise.resolve([]),
    c.listNodes(),
  ]);
  const nodeArch = new Map<string, string>();
  for (const n of nodes) {
    const arch = n.metadata?.labels?.[ARCH_LABEL] ?? n.status?.nodeInfo?.architecture;
    if (n.metadata?.name && arch) nodeArch.set(n.metadata.name, arch);
  }
  const learned = analysePreflight({
    cluster: c.name,
    configuredTaint: deps.config.kubernetes.clusters[c.name]?.arm64Taint,
    nodes: nodes as NodeLike[],
    images: new Map(),
    unreadable: [],
  });
  return {
    cluster: c.name,
    namespace,
    kind: 'Deployment',
    name,
    spec: deployment.spec?.template?.spec ?? { containers: [] },
    nodeArch,
    arm64Taint: learned.taint.taint,
    arm64NodesUntainted: learned.issues.some((i) => i.kind === 'arm64-node-untainted'),
    pods: pods.map((p) => {
      const statuses = new Map(
        [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].map((s) => [s.name, s.imageID]),
      );
      return {
        name: p.metadata?.name ?? '?',
        nodeName: p.spec?.nodeName,
        images: [
          ...(p.spec?.initContainers ?? []).map((ct) => ({
            container: ct.name,
            kind: 'init' as const,
            image: ct.image ?? '',
            imageID: statuses.get(ct.name),
          })),
          ...(p.spec?.containers ?? []).map((ct) => ({
            container: ct.name,
            kind: 'container' as const,
            image: ct.image ?? '',
            imageID: statuses.get(ct.name),
          })),
        ].filter((i) => i.image),
      };
    }),
  };
}

export interface ServicePlanOptions {
  /** The commit (or branch) to read a repository at, by `owner/name`; other repos are read at their default branch (the service repo at its catalog branch). */
  refs?: Record<string, string>;
  /** false: the cluster is left out (a base/head comparison reads it once, on its own). */
  live?: boolean;
}

/** What checkService looks at for a catalog service: its repos through the GitHub adapter, its cluster through deps.kube. */
export function servicePlan(deps: CheckNeeds, name: string, opts: ServicePlanOptions = {}): CheckPlan {
  const svc = deps.catalog.resolve(name);
  const refOf = (repo: string, fallback?: string) =>
    Object.entries(opts.refs ?? {}).find(([r]) => r.toLowerCase() === repo.toLowerCase())?.[1] ?? fallback;
  const source = (repo: string, ref?: string) => githubSource(deps.github, repo, refOf(repo, ref));
  const knowledge = loadKnowledgeBase(deps.config.knowledge.files);
  knowledge.catch(() => undefined); // a bad file is reported by the scan below
  const live =
    opts.live === false
      ? {}
      : deps.kube
        ? { live: () => readLive(deps, svc.cluster, svc.namespace, svc.deployment) }
        : { liveSkipped: 'No cluster is configured: sidecars injected at admission and the nodes the pods run on were not checked' };
  return {
    service: svc.name,
    code: source(svc.repo, svc.branch),
    dockerfiles: svc.dockerfiles,
    pipeline: { source: source(svc.pipeline.repo), file: svc.pipeline.file, required: true },
    manifests: { source: source(svc.manifests.repo), files: svc.manifests.files, helmValues: svc.manifests.helmValues, required: true },
    serviceRepository: svc.image,
    serviceReference: svc.tag ? `${svc.image}:${svc.tag}` : undefined,
    ...live,
    arm64Taint: svc.cluster ? deps.config.kubernetes.clusters[svc.cluster]?.arm64Taint : undefined,
    // The service repo's dependency files, read through GitHub like the rest (no clone).
    scan: async () =>
      scanRepository(deps.github, svc.repo, refOf(svc.repo, svc.branch), {
        knowledge: await knowledge,
        maven: transitiveOf(deps),
        mirrors: deps.config.registry.mirrors,
      }),
    scanImage: imageLayerScan(deps.registry, checkSettingsOf(deps)),
    allowMajorBump: svc.allowMajorBump,
    knowledge,
    mirrors: deps.config.registry.mirrors,
  };
}

/** Checks a catalog service: its repos through the GitHub adapter, its cluster through deps.kube. */
export async function checkService(deps: CheckNeeds, name: string): Promise<Report> {
  return runCheck(servicePlan(deps, name), { inspector: deps.registry, settings: checkSettingsOf(deps), now: deps.clock.now() });
}

const DOCKERFILE_NAME = /(^|\/)(Dockerfile|Containerfile)(\.[\w.-]+)?$|\.(Dockerfile|dockerfile)$/;
const PIPELINE_FILES = ['pipeline.yml', 'pipeline.yaml'];
const MANIFEST_NAME = /\.ya?ml$/;
const MAX_DEPTH = 4;

export interface CheckPathOptions {
  /** The image the checkout is released as, e.g. `registry.acme.io/shop/api:1.4.2`. */
  image?: string;
  inspector?: ImageInspector;
  settings?: CheckSettings;
  now?: Date;
  /** The service's image repository when known (e.g. from the catalog); otherwise guessed from the directory name. */
  serviceRepository?: string;
  /** Resolve the JVM dependency tree through a Maven repository. */
  maven?: TransitiveOptions;
  scan?: (root: string, excluded: (rel: string, isDir?: boolean) => boolean) => Promise<Finding[]>;
  /** `--pipeline FILE`: the pipeline file (absolute, or relative to the working directory), wherever it is. */
  pipelineFile?: string;
}

/** Checks a local checkout: no catalog, Slack or cluster needed. */
export async function checkPath(root: string, opts: CheckPathOptions = {}): Promise<Report> {
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new SourceError(`${root} is not a directory`);
  const source = localSource(root);
  const settings = opts.settings ?? defaultCheckSettings;
  const { excluded } = await exclusionsOf(source.root!, settings.exclude);
  // One walk of the checkout: the scan names every file it meets, and the plan's files are picked from those.
  const files: string[] = [];
  const listed = (rel: string) => void (rel.split('/').length <= MAX_DEPTH && files.push(rel));
  const scanning = opts.scan
    ? listCheckout(source.root!, excluded, listed).then(() => opts.scan!(source.root!, excluded))
    : scanCheckout(source.root!, { excluded, maven: opts.maven, listed });
  await scanning.catch(() => undefined); // a failed scan becomes a finding in runCheck
  files.sort();
  const dockerfiles = files.filter((f) => DOCKERFILE_NAME.test(f));
  const pipelineFile = settings.pipelinePath ?? PIPELINE_FILES.find((f) => files.includes(f)) ?? PIPELINE_FILES[0]!;
  const pipeline: CheckPlan['pipeline'] = opts.pipelineFile
    ? { source: localSource(dirname(resolve(opts.pipelineFile))), file: basename(opts.pipelineFile), required: true }
    : { source, file: pipelineFile, required: settings.pipelinePath !== undefined };
  // Manifests are any YAML file holding a pod spec; the pipeline file and CI configs are not manifests.
  const yamlFiles = files.filter((f) => MANIFEST_NAME.test(f) && !PIPELINE_FILES.includes(f) && !f.startsWith('.github/'));
  const manifestFiles: string[] = [];
  for (const f of yamlFiles) {
    const text = await source.read(f).catch(() => undefined);
    if (text && /^kind:\s*(Deployment|StatefulSet|DaemonSet|ReplicaSet|Job|CronJob|Pod|List)\s*$/m.test(text)) manifestFiles.push(f);
  }
  // Without --image, a container whose image is named like the checkout's directory is the service's own.
  let serviceRepository = opts.image ? (repositoryOf(opts.image) ?? opts.image) : opts.serviceRepository;
  if (!serviceRepository) {
    const dir = basename(resolve(root));
    for (const f of manifestFiles) {
      const text = (await source.read(f).catch(() => undefined)) ?? '';
      const own = [...text.matchAll(/^\s*-?\s*image:\s*["']?([^\s"'#]+)/gm)]
        .map((m) => m[1]!)
        .find((img) => repositoryOf(img)?.split('/').at(-1) === dir);
      if (own) serviceRepository = repositoryOf(own);
    }
  }
  const plan: CheckPlan = {
    service: root,
    code: source,
    dockerfiles,
    pipeline,
    manifests: { source, files: manifestFiles, helmValues: [], required: false },
    ci: { source, files: files.filter((f) => ciKindOf(f) !== undefined) },
    serviceRepository,
    serviceReference: opts.image,
    serviceReferenceMode: opts.image ? 'always' : 'fallback',
    scan: () => scanning,
    // Only an image the user names is looked into: a guessed one may not be what this checkout builds.
    scanImage: opts.image ? imageLayerScan(opts.inspector, opts.settings ?? defaultCheckSettings) : undefined,
  };
  return runCheck(plan, { inspector: opts.inspector, settings: opts.settings, now: opts.now });
}
