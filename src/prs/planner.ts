// Which edits go to which repo: a readiness report and the service's catalog entry become one planned
// PR per change kind (base image and dependency bumps in the service repo, the arm64 build flag in the
// pipeline repo, scheduling in the manifests repo), with deterministic branch names so re-runs find them.
import type { Service } from '../config/catalog.ts';
import type { Finding, Report } from '../readiness/report.ts';
import { rewriteBaseImage, type BaseImageEdit } from './editors/dockerfile.ts';
import { addClassifierTwin, bumpDependency, type ClassifierTwin, type DependencyBump } from './editors/dependency-bump.ts';
import { enableArm64Build, type PipelineEdit } from './editors/pipeline.ts';
import { addArm64Canary, addArm64HelmValues, addArm64Scheduling, type CanaryEdit, type SchedulingEdit } from './editors/workload.ts';
import { formatTaint, parseTaint, type Taint } from '../scheduling/taints.ts';
import type { EditResult } from './editors/text.ts';

export const CHANGE_KINDS = ['base', 'deps', 'pipeline', 'selectors'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export type EditSpec =
  | { editor: 'dockerfile'; edit: BaseImageEdit }
  | { editor: 'deps'; edit: DependencyBump }
  | { editor: 'deps-twin'; edit: ClassifierTwin }
  | { editor: 'pipeline'; edit: PipelineEdit }
  | { editor: 'workload'; edit: SchedulingEdit }
  | { editor: 'helm-values'; taint?: Taint }
  | { editor: 'canary'; edit: CanaryEdit };

export interface PlannedFile {
  path: string;
  edits: EditSpec[];
  /** One line per edit for the PR's table of changes. */
  describe: string[];
  findings: Finding[];
  /** Manifests files may hold other objects; a file without the Deployment is skipped, not an error. */
  mayNotApply?: boolean;
}

export interface PlannedChange {
  kind: ChangeKind;
  repo: string;
  /** Base branch from the catalog; the repo's default branch when absent. */
  base?: string;
  branch: string;
  title: string;
  files: PlannedFile[];
}

export interface Plan {
  service: string;
  changes: PlannedChange[];
  /** Kinds asked for that have nothing to do, with why. */
  skipped: Array<{ kind: ChangeKind; reason: string }>;
}

export function branchName(service: string, kind: ChangeKind): string {
  return `archshift/${service}/${kind}`;
}

export function parseKinds(word: string | undefined): ChangeKind[] {
  if (!word || word === 'all') return [...CHANGE_KINDS];
  if ((CHANGE_KINDS as readonly string[]).includes(word)) return [word as ChangeKind];
  throw new Error(`unknown change "${word}": use one of ${[...CHANGE_KINDS, 'all'].join(', ')}`);
}

function intParam(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function fileOf(files: Map<string, PlannedFile>, path: string, mayNotApply = false): PlannedFile {
  let f = files.get(path);
  if (!f) files.set(path, (f = { path, edits: [], describe: [], findings: [], mayNotApply }));
  return f;
}

const titles: Record<ChangeKind, (s: string) => string> = {
  base: (s) => `arm64: arm64-capable base image for ${s}`,
  deps: (s) => `arm64: bump dependencies of ${s} to arm64-ready versions`,
  pipeline: (s) => `arm64: build ${s} for linux/arm64 (mustBuildARM64)`,
  selectors: (s) => `arm64: schedule ${s} on arm64 nodes`,
};

export function planChanges(report: Report, service: Service, kinds: readonly ChangeKind[]): Plan {
  const plan: Plan = { service: service.name, changes: [], skipped: [] };
  const byKind = (k: ChangeKind) => report.findings.filter((f) => f.autofix?.kind === k);
  for (const kind of CHANGE_KINDS.filter((k) => kinds.includes(k))) {
    const files = new Map<string, PlannedFile>();
    let repo = service.repo;
    let base = service.branch;
    if (kind === 'base' || kind === 'deps') {
      for (const f of byKind(kind)) {
        const p = f.autofix!.params;
        if (kind === 'base') {
          const dropsFlag = p.to === '' && p.from?.startsWith('--platform=');
          if (!p.to && !dropsFlag) continue;
          // A new major version of a runtime or OS is a migration: only with the service's opt-in.
          if (p.majorBump && !service.allowMajorBump) continue;
          const file = fileOf(files, p.file ?? f.evidence.file ?? service.dockerfiles[0]);
          const spec: EditSpec = {
            editor: 'dockerfile',
            edit: { from: p.from, to: p.to ?? '', digest: p.digest, line: intParam(p.line) ?? f.evidence.line },
          };
          // A `--platform=linux/amd64` flag goes first: the image on that line cannot change while it is there.
          if (dropsFlag) file.edits.unshift(spec);
          else file.edits.push(spec);
          file.describe.push(
            dropsFlag
              ? `drop \`${p.from!.trim()}\` (line ${p.line})`
              : `base image ${p.from ? `\`${p.from}\` → ` : ''}\`${p.to}\`${p.majorBump ? ` (major version ${p.majorBump}: allowed by the catalog's allowMajorBump)` : ''}`,
          );
          file.findings.push(f);
        } else {
          const path = p.file ?? f.evidence.file;
          const line = intParam(p.line) ?? f.evidence.line;
          if (path && p.package && p.classifier && p.twin && line) {
            // Twins go after the bumps of their file, so the copied declaration carries the new version, and
            // bottom-up, so an inserted copy never moves the line of the next twin.
            const file = fileOf(files, path);
            const below = file.edits.findIndex((e) => e.editor === 'deps-twin' && e.edit.line < line);
            file.edits.splice(below < 0 ? file.edits.length : below, 0, {
              editor: 'deps-twin',
              edit: { package: p.package, classifier: p.classifier, twin: p.twin, line },
            });
            file.describe.push(`\`${p.package}\`: add classifier \`${p.twin}\` beside \`${p.classifier}\``);
            file.findings.push(f);
            continue;
          }
          if (!path || !p.package || !p.from || !p.to) continue;
          const file = fileOf(files, path);
          const firstTwin = file.edits.findIndex((e) => e.editor === 'deps-twin');
          file.edits.splice(firstTwin < 0 ? file.edits.length : firstTwin, 0, {
            editor: 'deps',
            edit: { package: p.package, from: p.from, to: p.to, line },
          });
          file.describe.push(`\`${p.package}\` ${p.from} → ${p.to}`);
          file.findings.push(f);
        }
      }
      if (!files.size) {
        plan.skipped.push({
          kind,
          reason:
            kind === 'base'
              ? 'the readiness report suggests no base image change'
              : 'the readiness report marks no dependency bump as PR-able',
        });
        continue;
      }
    } else if (kind === 'pipeline') {
      const finding = byKind('pipeline')[0];
      repo = finding?.autofix?.params.repo ?? service.pipeline.repo;
      base = undefined;
      const file = fileOf(files, finding?.autofix?.params.file ?? service.pipeline.file);
      file.edits.push({ editor: 'pipeline', edit: { step: finding?.autofix?.params.step, key: finding?.autofix?.params.key } });
      file.describe.push('`mustBuildARM64: true` in the docker-build step');
      if (finding) file.findings.push(finding);
    } else {
      repo = service.manifests.repo;
      base = undefined;
      const evidence = byKind('selectors');
      // The check learned the taint of this cluster's arm64 nodes and put it on the fix.
      const taint = evidence.map((f) => parseTaint(f.autofix?.params.taint)).find((t) => t !== undefined);
      const tolerationWords = taint ? `toleration of \`${formatTaint(taint)}\`` : 'toleration of the arm64 taint';
      if (service.manifests.helmValues.length) {
        if (service.canary) {
          plan.skipped.push({
            kind,
            reason:
              'the canary shape (a second -arm64 Deployment) must be added to the Helm chart by hand; archshift edits only values files',
          });
          continue;
        }
        for (const path of service.manifests.helmValues) {
          const file = fileOf(files, path);
          file.edits.push({ editor: 'helm-values', ...(taint ? { taint } : {}) });
          file.describe.push(`Helm values: nodeSelector \`kubernetes.io/arch: arm64\` + ${tolerationWords}`);
          file.findings.push(...evidence.filter((f) => f.evidence.file === path));
        }
      } else {
        for (const path of service.manifests.files) {
          const file = fileOf(files, path, true);
          if (service.canary) {
            file.edits.push({
              editor: 'canary',
              edit: { deployment: service.deployment, host: service.name, createDestinationRule: false, ...(taint ? { taint } : {}) },
            });
            file.describe.push(`canary: Deployment \`${service.deployment}-arm64\` on arm64 nodes + DestinationRule subsets amd64/arm64`);
          } else {
            file.edits.push({ editor: 'workload', edit: { deployment: service.deployment, ...(taint ? { taint } : {}) } });
            file.describe.push(`Deployment \`${service.deployment}\`: nodeSelector \`kubernetes.io/arch: arm64\` + ${tolerationWords}`);
          }
          file.findings.push(...evidence.filter((f) => f.evidence.file === path));
        }
      }
    }
    plan.changes.push({
      kind,
      repo,
      base,
      branch: branchName(service.name, kind),
      title: titles[kind](service.name),
      files: [...files.values()],
    });
  }
  return plan;
}

/** Runs one file's edits in order; the first that cannot place its change stops the file. */
export function applyEdits(text: string, specs: EditSpec[]): EditResult {
  let current = text;
  const notes: string[] = [];
  let skipped: string | undefined;
  for (const spec of specs) {
    const r = runSpec(current, spec);
    if (!r.ok) return r;
    notes.push(...r.notes);
    if (r.skipped) skipped = r.skipped;
    current = r.text;
  }
  return { ok: true, text: current, changed: current !== text, notes, ...(skipped && current === text ? { skipped } : {}) };
}

function runSpec(text: string, spec: EditSpec): EditResult {
  switch (spec.editor) {
    case 'dockerfile':
      return rewriteBaseImage(text, spec.edit);
    case 'deps':
      return bumpDependency(text, spec.edit);
    case 'deps-twin':
      return addClassifierTwin(text, spec.edit);
    case 'pipeline':
      return enableArm64Build(text, spec.edit);
    case 'workload':
      return addArm64Scheduling(text, spec.edit);
    case 'helm-values':
      return addArm64HelmValues(text, spec.taint);
    case 'canary':
      return addArm64Canary(text, spec.edit);
  }
}
