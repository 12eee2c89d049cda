// CI files that build images (pure): GitHub Actions workflows (`docker/build-push-action` and its
// `platforms:`, or `docker buildx build --platform` in a `run:`), GitLab CI (`.gitlab-ci.yml`) and
// Jenkinsfiles (shell lines). Answers "does this checkout's CI build a linux/arm64 image?" for a local
// checkout, where the CD pipeline file may not be at hand.
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { Finding } from '../report.ts';
import { findPairs, parseYaml } from './yaml-docs.ts';

export type CiKind = 'github-actions' | 'gitlab-ci' | 'jenkins';

/** Which CI a checkout path is, if any. */
export function ciKindOf(rel: string): CiKind | undefined {
  if (/^\.github\/workflows\/[^/]+\.ya?ml$/.test(rel)) return 'github-actions';
  if (/(^|\/)\.gitlab-ci\.ya?ml$/.test(rel)) return 'gitlab-ci';
  if (/(^|\/)Jenkinsfile([.-][\w.-]+)?$/.test(rel)) return 'jenkins';
  return undefined;
}

export interface CiAnalysis {
  /** Whether the file builds an image at all. */
  builds: boolean;
  findings: Finding[];
}

interface Build {
  line: number;
  excerpt: string;
  /** Platforms asked for; undefined means none given (the runner's own, usually amd64). */
  platforms?: string[];
  /** An expression (`${{ matrix.platform }}`, `$PLATFORMS`) that cannot be read here. */
  unresolved?: string;
}

const splitPlatforms = (v: string) =>
  v
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
const isArm64 = (p: string) => /(^|\/)arm64(\/|$)|aarch64/.test(p);

/** `docker build`, `docker buildx build`, `buildah bud|build`, `podman build`, kaniko's executor, in shell text. */
function shellBuilds(text: string, firstLine = 1): Build[] {
  const out: Build[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let cmd = lines[i]!;
    const start = i;
    while (/\\\s*$/.test(cmd) && i + 1 < lines.length) cmd = cmd.replace(/\\\s*$/, ' ') + lines[++i]!;
    if (!/\b(docker\s+(buildx\s+)?build|buildah\s+(bud|build)|podman\s+build|\/kaniko\/executor|executor\s+--context)\b/.test(cmd))
      continue;
    const flag = /--(?:custom-)?platform[=\s]+["']?([^\s"']+)/.exec(cmd)?.[1];
    const excerpt = cmd.trim().replace(/\s+/g, ' ').slice(0, 200);
    if (flag === undefined) out.push({ line: firstLine + start, excerpt });
    else if (/\$/.test(flag)) out.push({ line: firstLine + start, excerpt, unresolved: flag });
    else out.push({ line: firstLine + start, excerpt, platforms: splitPlatforms(flag) });
  }
  return out;
}

function scalarText(node: unknown): string | undefined {
  if (isScalar(node)) return String(node.value ?? '');
  if (isSeq(node)) return node.items.map((i) => (isScalar(i) ? String(i.value ?? '') : '')).join('\n');
  return undefined;
}

type Parsed = ReturnType<typeof parseYaml>;

/** The builds of every document of a YAML CI file, or its syntax error. */
function yamlBuilds(
  text: string,
  builds: (doc: Parsed['docs'][number], yaml: Parsed) => Build[],
): Build[] | { error: string; line: number } {
  const yaml = parseYaml(text);
  if (yaml.error) return { error: yaml.error.message, line: yaml.error.line };
  return yaml.docs.flatMap((doc) => builds(doc, yaml));
}

function actionsBuilds(text: string): Build[] | { error: string; line: number } {
  return yamlBuilds(text, (doc, yaml) => {
    const out: Build[] = [];
    for (const { pair } of findPairs(doc.contents, 'uses')) {
      const uses = scalarText(pair.value) ?? '';
      if (!/^docker\/build-push-action@/.test(uses)) continue;
      const step = findStep(doc.contents as Node, pair.value as Node);
      const withMap = step && isMap(step) ? step.get('with', true) : undefined;
      const platforms = isMap(withMap) ? scalarText(withMap.get('platforms', true)) : undefined;
      const line = yaml.lineOf(pair);
      const excerpt = `uses: ${uses}${platforms ? ` platforms: ${platforms.replace(/\s+/g, ' ')}` : ''}`;
      if (platforms === undefined) out.push({ line, excerpt });
      else if (/\$\{\{/.test(platforms)) out.push({ line, excerpt, unresolved: platforms.trim() });
      else out.push({ line, excerpt, platforms: splitPlatforms(platforms) });
    }
    for (const { pair } of findPairs(doc.contents, 'run')) {
      const script = scalarText(pair.value);
      if (script) out.push(...shellBuilds(script, yaml.lineOf(pair.value as Node)));
    }
    return out;
  });
}

/** GitLab jobs' `script`, `before_script`, `after_script`: each command a scalar (folded ones already joined). */
function gitlabBuilds(text: string): Build[] | { error: string; line: number } {
  return yamlBuilds(text, (doc, yaml) => {
    const out: Build[] = [];
    for (const key of ['before_script', 'script', 'after_script']) {
      for (const { pair } of findPairs(doc.contents, key)) {
        const items = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const item of items) {
          const command = scalarText(item);
          if (command) out.push(...shellBuilds(command, yaml.lineOf(item as Node)));
        }
      }
    }
    return out;
  });
}

/** The map (step) that holds `value` directly. */
function findStep(root: Node, value: Node): Node | undefined {
  let found: Node | undefined;
  const visit = (n: unknown) => {
    if (found) return;
    if (isMap(n)) {
      if (n.items.some((p) => p.value === value)) found = n;
      else n.items.forEach((p) => visit(p.value));
    } else if (isSeq(n)) n.items.forEach(visit);
  };
  visit(root);
  return found;
}

export function analyseCiFile(file: string, text: string): CiAnalysis {
  const kind = ciKindOf(file);
  const builds = kind === 'github-actions' ? actionsBuilds(text) : kind === 'gitlab-ci' ? gitlabBuilds(text) : shellBuilds(text);
  if (!Array.isArray(builds)) {
    return {
      builds: false,
      findings: [
        {
          id: 'ci.unparseable',
          severity: 'warning',
          ecosystem: 'pipeline',
          title: `${file} is not valid YAML (${builds.error}), so whether it builds an arm64 image was not read`,
          evidence: { file, line: builds.line },
        },
      ],
    };
  }
  const findings = builds.map((b): Finding => {
    const evidence = { file, line: b.line, excerpt: b.excerpt };
    if (b.unresolved) {
      return {
        id: 'ci.platforms-unresolved',
        severity: 'warning',
        ecosystem: 'pipeline',
        title: `${file} builds an image for ${b.unresolved}, which is only known when the CI runs: check that it includes linux/arm64`,
        evidence,
      };
    }
    if (b.platforms?.some(isArm64)) {
      return {
        id: 'ci.arm64-build',
        severity: 'info',
        ecosystem: 'pipeline',
        title: `${file} builds the image for ${b.platforms.join(', ')}`,
        evidence,
      };
    }
    return {
      id: 'ci.no-arm64-build',
      severity: 'change',
      ecosystem: 'pipeline',
      title: `${file} builds the image for ${b.platforms ? b.platforms.join(', ') : "the CI runner's architecture only (no --platform, usually linux/amd64)"}: no linux/arm64 image is published`,
      evidence,
      fix:
        kind === 'github-actions' && b.excerpt.startsWith('uses:')
          ? "Add linux/arm64 to the step's `platforms:` (with docker/setup-qemu-action and docker/setup-buildx-action before it, or an arm64 runner)."
          : 'Build with `docker buildx build --platform linux/amd64,linux/arm64` (QEMU or an arm64 builder), and push the multi-arch index.',
    };
  });
  return { builds: builds.length > 0, findings };
}
