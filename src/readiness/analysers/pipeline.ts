// Pipeline analyser (pure): does the service's CD pipeline YAML turn on the arm64 build
// (`mustBuildARM64: true` under the `docker-build` step, names configurable)?
import { isMap, isScalar } from 'yaml';
import type { Finding } from '../report.ts';
import { findPairs, parseYaml } from './yaml-docs.ts';

export interface PipelineRule {
  /** The step whose settings hold the flag, found at any depth. */
  section: string;
  /** The flag that must be `true` somewhere under that step. */
  flag: string;
}

export const defaultPipelineRule: PipelineRule = { section: 'docker-build', flag: 'mustBuildARM64' };

function base(file: string, line: number, excerpt?: string): Finding['evidence'] {
  return { file, line, ...(excerpt ? { excerpt: excerpt.trim().slice(0, 200) } : {}) };
}

/** `text` undefined means the file does not exist. */
export function analysePipeline(file: string, text: string | undefined, rule: PipelineRule = defaultPipelineRule): Finding[] {
  const { section, flag } = rule;
  if (text === undefined) {
    return [
      {
        id: 'pipeline.missing',
        severity: 'unknown',
        ecosystem: 'pipeline',
        title: `Pipeline file ${file} was not found, so whether an arm64 image is built is unknown`,
        evidence: { file },
        fix: "Point the catalog entry's `pipeline.file` at the service's pipeline YAML (or create it).",
      },
    ];
  }
  const lines = text.split(/\r?\n/);
  const yaml = parseYaml(text);
  if (yaml.error) {
    return [
      {
        id: 'pipeline.unparseable',
        severity: 'unknown',
        ecosystem: 'pipeline',
        title: `${file} is not valid YAML: ${yaml.error.message}`,
        evidence: base(file, yaml.error.line, lines[yaml.error.line - 1]),
        fix: 'Fix the YAML; until then the arm64 build setting cannot be read.',
      },
    ];
  }
  const steps = yaml.docs.flatMap((d) => findPairs(d.contents, section));
  if (!steps.length) {
    return [
      {
        id: 'pipeline.no-build-step',
        severity: 'unknown',
        ecosystem: 'pipeline',
        title: `${file} has no \`${section}\` step, so how the image is built is unknown`,
        evidence: { file },
        fix: `Build the image with the \`${section}\` step and set \`${flag}: true\`, or configure readiness.pipeline.section if the step has another name.`,
      },
    ];
  }
  return steps.map(({ pair, path }) => {
    const stepPath = [...path, section];
    const line = yaml.lineOf(pair);
    const flags = findPairs(pair.value, flag);
    const on = flags.find(({ pair: p }) => isScalar(p.value) && (p.value.value === true || p.value.value === 'true'));
    if (on) {
      const l = yaml.lineOf(on.pair);
      return {
        id: 'pipeline.arm64-build',
        severity: 'info' as const,
        ecosystem: 'pipeline' as const,
        title: `The pipeline builds an arm64 image (${flag}: true)`,
        evidence: base(file, l, lines[l - 1]),
      };
    }
    // Where the flag goes: beside an existing `flag: false`, else in the step's `with:` block, else in the step.
    const existing = flags[0];
    const withBlock = isMap(pair.value) && isMap(pair.value.get('with')) ? ['with'] : [];
    const target = existing ? [...stepPath, ...existing.path] : [...stepPath, ...withBlock];
    const evidenceLine = existing ? yaml.lineOf(existing.pair) : line;
    return {
      id: 'pipeline.arm64-build-off',
      severity: 'change' as const,
      ecosystem: 'pipeline' as const,
      title: existing
        ? `The pipeline sets ${flag} to ${String((existing.pair.value as { value?: unknown })?.value)}`
        : `The pipeline's \`${section}\` step does not set ${flag}`,
      evidence: base(file, evidenceLine, lines[evidenceLine - 1]),
      fix: `Set \`${flag}: true\` under \`${target.join('.')}\` so every release publishes a linux/arm64 image.`,
      autofix: { kind: 'pipeline' as const, params: { file, path: JSON.stringify(target), key: flag, value: 'true' } },
    };
  });
}
