// Turns what the registry said about one image use (a FROM, a container, the service's own image) into a
// finding (pure). Severity follows what the use means: an image outside the final image only warns, the
// service's own image is fixed by its pipeline, and any image the registry could not answer for is
// "unknown", never "ready".
import { parseImageRef } from '../../images/ref.ts';
import type { Arm64Suggestion, ImageResult } from '../../images/types.ts';
import type { Evidence, Finding, Severity } from '../report.ts';
import type { StageRole, TextEdit } from './dockerfile.ts';

export interface ImageUse {
  reference: string;
  /** What the image is to the service, e.g. "base image of stage build", "container istio-proxy". */
  label: string;
  role: StageRole | 'container' | 'service';
  evidence: Evidence;
  /** Where a PR would change the reference, when archshift can. */
  edit?: TextEdit;
}

const unknownIds: Record<string, string> = {
  'not-found': 'image.not-found',
  unauthorized: 'image.unauthorized',
  error: 'image.unreachable',
};

/**
 * `suggestion` is what the registry proposed for an amd64-only image (absent when it was not asked).
 * `allowMajorBump` (the service's catalog opt-in) lets a PR cross a runtime/OS major version.
 */
export function imageFinding(use: ImageUse, result: ImageResult, suggestion?: Arm64Suggestion, allowMajorBump = false): Finding {
  const evidence: Evidence = { ...use.evidence, image: use.reference, ...(result.digest ? { digest: result.digest } : {}) };
  const minor = use.role === 'unused';
  const soften = (s: Severity): Severity => (minor && s !== 'info' ? 'warning' : s);
  const where = minor ? ' (not part of the final image)' : '';
  const base = { ecosystem: 'image' as const, evidence };

  if (result.status === 'multi-arch-with-arm64') {
    return { ...base, id: 'image.arm64', severity: 'info', title: `${use.label} ${use.reference} publishes linux/arm64` };
  }
  if (result.status !== 'amd64-only') {
    const id = unknownIds[result.status] ?? 'image.unreachable';
    return {
      ...base,
      id,
      severity: soften('unknown'),
      title: `${use.label} ${use.reference} could not be checked: ${result.reason ?? result.status}${where}`,
      fix:
        result.status === 'unauthorized'
          ? 'Give archshift pull credentials for this registry (registry.credentials or registry.dockerConfig).'
          : result.status === 'not-found'
            ? 'Check the reference: the registry has no such repository or tag.'
            : 'Run the check again when the registry answers; the verdict stays "unknown" until then.',
    };
  }
  const platforms =
    result.platforms.map((p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`).join(', ') || 'no runnable platform';
  if (use.role === 'service') {
    return {
      ...base,
      id: 'image.service-amd64-only',
      severity: 'change',
      title: `The service image ${use.reference} has no linux/arm64 image (${platforms})`,
      fix: 'Build and release it with the arm64 build turned on (see the pipeline finding), then deploy that tag.',
    };
  }
  const major = suggestion?.majorUpgrade;
  if (major && !allowMajorBump) {
    return {
      ...base,
      id: 'image.arm64-needs-major-upgrade',
      severity: soften('change'),
      title: `${use.label} ${use.reference} is amd64-only and no ${major.from}.x tag publishes linux/arm64; only a newer major version does: ${major.candidates.join(', ')}${where}`,
      fix: `Moving from ${major.from} to ${major.to} is a migration of the runtime or OS, not an arm64 fix: its behaviour and APIs change, so plan and test it as its own change. archshift offers no PR for it unless the service sets \`allowMajorBump: true\` in the catalog.`,
    };
  }
  if (suggestion?.image && suggestion.kind !== 'none') {
    const fix = use.edit && !minor && suggestion.prApplicable ? autofixFor(use.edit, suggestion) : undefined;
    // The planner checks the opt-in again from the catalog: a report alone never opens a major bump.
    const autofix = fix && major ? { ...fix, params: { ...fix.params, majorBump: `${major.from}→${major.to}` } } : fix;
    const replaced = suggestion.kind === 'replacement';
    return {
      ...base,
      id: replaced ? 'image.replaced' : 'image.arm64-tag-available',
      severity: soften('change'),
      title: `${use.label} ${use.reference} is amd64-only; ${replaced ? 'its successor ' : ''}${suggestion.image} ${replaced ? 'replaces it' : 'publishes linux/arm64'}${where}`,
      fix: `Use ${suggestion.image} (${suggestion.reason}). ${autofix ? 'archshift can open this PR.' : whyNoAutofix(use, suggestion)}`.trim(),
      ...(autofix ? { autofix } : {}),
    };
  }
  return {
    ...base,
    id: 'image.amd64-only',
    severity: soften('blocker'),
    title: `${use.label} ${use.reference} is amd64-only (${platforms})${where}`,
    fix: `${suggestion ? `No arm64 alternative was found: ${suggestion.reason}. ` : ''}Find or build an arm64 variant (another image, or build this one multi-arch); archshift cannot fix this for you.`,
  };
}

function whyNoAutofix(use: ImageUse, s: Arm64Suggestion): string {
  if (use.role === 'unused') return '';
  if (!s.prApplicable) return 'Pick the tag by hand; archshift will not guess it.';
  if (!use.edit)
    return 'archshift cannot edit this reference for you (it is built from several build arguments or is not in a file it edits).';
  return 'Only the tag is a build argument here, so change the image name by hand.';
}

function autofixFor(edit: TextEdit, s: Arm64Suggestion): Finding['autofix'] {
  let to = s.image!;
  if (edit.part === 'tag') {
    // Only the tag lives in the edited ARG; a different repository cannot be written there.
    const tag = s.kind === 'tag-bump' ? parseImageRef(to).tag : undefined;
    if (!tag) return undefined;
    to = tag;
  }
  return { kind: 'base', params: { file: edit.file, line: String(edit.line), from: edit.text, to } };
}

/** For a reference that could not even be parsed: the registry was never asked. */
export function invalidReferenceFinding(use: ImageUse, reason: string): Finding {
  return {
    id: 'image.invalid-reference',
    severity: use.role === 'unused' ? 'warning' : 'unknown',
    ecosystem: 'image',
    title: `${use.label} "${use.reference.slice(0, 200)}" is not a valid image reference: ${reason}`,
    evidence: { ...use.evidence, image: use.reference.slice(0, 200) },
    fix: 'Write the reference as [registry/]name[:tag][@sha256:digest].',
  };
}
