// Dockerfile analyser (pure): every FROM of every stage with ARG defaults substituted, stage references,
// `--platform` pins, and RUN/ADD/ENV lines that fetch amd64-only artefacts or hard-code GOARCH=amd64.
// It returns findings about the text and the base images the check must look up in the registry, each
// with the place a PR would edit to change it.
import { Arg, Copy, DockerfileParser, Env, Run, type Instruction } from 'dockerfile-ast';
import type { Finding, Severity } from '../report.ts';

/**
 * target:     built for the target platform and part of the final image (or of a stage it copies from).
 * build-host: `--platform=$BUILDPLATFORM`, runs on the machine that builds; matters for arm64 builders only.
 * unused:     not reachable from the final stage, so not in the shipped image.
 */
export type StageRole = 'target' | 'build-host' | 'unused';

/** Where the text that names an image lives, so a PR can replace exactly that text. */
export interface TextEdit {
  file: string;
  /** 1-based. */
  line: number;
  /** The exact text on that line to replace. */
  text: string;
  /** `reference`: the text is a whole image reference; `tag`: only its tag (an `ARG TAG=...` default). */
  part: 'reference' | 'tag';
}

export interface BaseImage {
  /** As written in the Dockerfile, variables unexpanded. */
  written: string;
  /** With ARG defaults substituted: what the build pulls. */
  reference: string;
  file: string;
  line: number;
  /** Stage name, or `#<index>` for an unnamed stage. */
  stage: string;
  role: StageRole;
  /** `FROM` for a stage's base, `COPY --from` for an image files are copied out of. */
  via: 'FROM' | 'COPY --from' | 'RUN --mount';
  edit?: TextEdit;
}

export interface DockerfileAnalysis {
  findings: Finding[];
  images: BaseImage[];
  /** The registry image the final stage is built on (following `FROM <stage>`); absent for scratch or unknown. */
  finalBase?: string;
  /** The C library of the final image, when its base or its `apk`/`apt-get` use says so. */
  finalLibc?: 'musl' | 'glibc';
}

const KNOWN_INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'MAINTAINER',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

// BuildKit fills these per build; their values depend on the platform being built, so they never pin one.
const PLATFORM_ARGS = new Set([
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
]);

const AMD64_PLATFORM = /^(linux\/)?(amd64|x86_64|x86-64)(\/v\d)?$/i;
const ARCH_MARKER = /(?<![a-z0-9])(amd64|x86_64|x86-64|x64|linux64)(?![a-z0-9])/i;
// An instruction that also names arm64 is choosing per architecture (a `case "$TARGETARCH"`), not pinning.
const ARM_MARKER = /(?<![a-z0-9])(arm64|aarch64|aarch_64|armv8)(?![a-z0-9])/i;
const URL = /(?:https?|ftp):\/\/[^\s'"|;&<>)`]+/gi;
const DEB_AMD64 = /(?<![\w.+-])[a-z0-9][\w.+-]*:amd64(?![\w])/gi;
const GOARCH_RUN = /\bGOARCH\s*=\s*["']?amd64\b/;
const GOARCH_ENV = /\bGOARCH(\s*=\s*|\s+)["']?amd64\b/;

interface ArgValue {
  value?: string;
  line: number;
  /** The default as written, when it is a plain literal a PR can replace. */
  literal?: string;
}

type Vars = Map<string, ArgValue>;

class Unresolved extends Error {
  constructor(readonly variable: string) {
    super(variable);
  }
}

/** `$X`, `${X}`, `${X:-default}`, `${X:+alt}` with the shell's meaning; an unknown variable throws. */
export function expandVariables(text: string, vars: Vars, allowed: (name: string) => boolean = () => false): string {
  return text.replace(/\$(?:\{([A-Za-z_]\w*)(?::?([-+])([^}]*))?\}|([A-Za-z_]\w*))/g, (whole, braced, op, word, bare) => {
    const name = (braced ?? bare) as string;
    const v = vars.get(name)?.value;
    if (op === '-') return v ? v : expandVariables(word as string, vars, allowed);
    if (op === '+') return v ? expandVariables(word as string, vars, allowed) : '';
    if (v !== undefined) return v;
    if (allowed(name)) return whole as string;
    throw new Unresolved(name);
  });
}

function finding(id: string, severity: Severity, title: string, file: string, line: number, excerpt: string, fix?: string): Finding {
  return { id, severity, ecosystem: 'dockerfile', title, evidence: { file, line, excerpt: excerpt.trim().slice(0, 200) }, fix };
}

function unparseable(file: string, line: number, excerpt: string, why: string): DockerfileAnalysis {
  return {
    findings: [
      finding(
        'dockerfile.unparseable',
        'unknown',
        `${file} cannot be parsed: ${why}`,
        file,
        line,
        excerpt,
        'Fix the Dockerfile so `docker build` accepts it; until then its base images cannot be checked.',
      ),
    ],
    images: [],
  };
}

interface Stage {
  index: number;
  name: string;
  fromLine: number;
  platform?: string;
  /** The platform came from a declared default of BUILDPLATFORM/TARGETPLATFORM, which BuildKit keeps. */
  platformFromDefault?: string;
  role: StageRole;
  deps: Set<number>;
  /** `FROM <stage>`: this stage is that stage plus more (same platform, same files). */
  parent?: number;
  /** COPY --from / RUN --mount from an earlier stage: only those files come across. */
  copies: { from: number; line: number; paths: string[] }[];
  instructions: Instruction[];
}

/*
 * BuildKit's platform arguments (moby/buildkit, commit 73ed6825c4b7569379ef89df0aedcdbe64473d31):
 * frontend/dockerfile/dockerfile2llb/platform.go `defaultArgs` fills BUILDPLATFORM, TARGETARCH, ... from
 * the build, then convert.go `buildMetaArgs` walks the ARGs before the first FROM and, unless the same
 * name was passed with --build-arg, replaces that value with the declared default
 * (`args = args.AddOrReplace(kp.Key, *kp.Value)`). Inside a stage, `dispatchArg` uses a declared default
 * before the global value too. So `ARG BUILDPLATFORM=linux/amd64` pins every `--platform=$BUILDPLATFORM`
 * stage to linux/amd64, and `ARG TARGETARCH=amd64` makes an arm64 build compile for amd64.
 */
const TARGET_ARGS = /\$\{?(TARGETARCH|TARGETPLATFORM|TARGETOS|TARGETVARIANT)\b/;
// tonistiigi/xx helpers cross-compile for $TARGETPLATFORM on their own.
const XX_HELPER = /\bxx-(go|cargo|clang|clang\+\+|apk|apt-get|apt|cc|c\+\+|info|verify)\b/;
const DOTNET_RID = /\bdotnet\s+publish\b[^\n]*\s(-r|--runtime|-a|--arch)[\s=]+\S*(\$|arm64)/;
// What produces native code for the machine the stage runs on.
const NATIVE_BUILD =
  /\b(go\s+(build|install)|cargo\s+(build|install)|gcc|g\+\+|clang|make\b|cmake|ninja|pip3?\s+(install|wheel)|npm\s+(ci|install)|yarn(\s+install)?\s*($|&&|;)|pnpm\s+install|bundle\s+install|apt-get\s+install|apk\s+add|dnf\s+install|yum\s+install)/m;
// Architecture-independent artefacts: JVM archives and static web assets.
const NEUTRAL_PATH =
  /\.(jar|war|ear|class|html?|css|js|mjs|map|json|svg|png|ico|txt|md|ya?ml|properties|conf)$|(^|\/)(dist|public|static|www|html)(\/|$)/i;
const JVM_BUILD_IMAGE =
  /(^|\/)(maven|gradle|sbt|openjdk|eclipse-temurin|amazoncorretto|azul\/zulu-openjdk\w*|ibm-semeru-runtimes|sapmachine)(:|$)/;
const ARCH_VALUE = /^(amd64|x86_64|x86-64|x64|arm64|aarch64|arm64v8)$/i;

type HostJudgement = { kind: 'cross' | 'neutral' | 'native' | 'unclear'; why: string };

/** What a stage that runs on the build host hands to the image: built for the target, arch-free, or host code. */
function judgeHostStage(stage: Stage, image: string | undefined, copied: string[], lines: string[], targetPinned: boolean): HostJudgement {
  const text = stage.instructions
    .filter((i) => ['RUN', 'ENV', 'ARG'].includes(i.getKeyword()))
    .map((i) => lines.slice(i.getRange().start.line, i.getRange().end.line + 1).join('\n'))
    .join('\n');
  if (!targetPinned && TARGET_ARGS.test(text)) return { kind: 'cross', why: 'it builds for $TARGETARCH/$TARGETPLATFORM' };
  if (XX_HELPER.test(text)) return { kind: 'cross', why: 'it cross-compiles with the xx helpers' };
  if (DOTNET_RID.test(text)) return { kind: 'cross', why: '`dotnet publish` names the runtime it builds for' };
  if (copied.length && copied.every((p) => NEUTRAL_PATH.test(p.replace(/\/+$/, '')))) {
    return { kind: 'neutral', why: `what is copied (${copied.slice(0, 3).join(', ')}) is architecture-independent` };
  }
  if (image && JVM_BUILD_IMAGE.test(image) && !copied.some((p) => /\.(so|dll|dylib)$|\/bin\//.test(p))) {
    return { kind: 'neutral', why: 'it is a JVM build, whose jars run on any architecture' };
  }
  if (NATIVE_BUILD.test(text))
    return { kind: 'native', why: `it builds or installs native code (\`${NATIVE_BUILD.exec(text)![0].trim()}\`) for the build host` };
  return { kind: 'unclear', why: 'nothing in it builds for $TARGETARCH' };
}

export function analyseDockerfile(file: string, text: string): DockerfileAnalysis {
  if (text.includes('\u0000')) return unparseable(file, 1, '', 'it is binary, not text');
  const lines = text.split(/\r?\n/);
  const df = DockerfileParser.parse(text);
  const instructions = df.getInstructions();
  const lineOf = (i: Instruction): number => i.getRange().start.line + 1;

  for (const i of instructions) {
    const kw = i.getKeyword();
    if (!KNOWN_INSTRUCTIONS.has(kw))
      return unparseable(file, lineOf(i), lines[lineOf(i) - 1] ?? '', `unknown instruction "${kw.slice(0, 40)}"`);
  }
  const firstFrom = instructions.findIndex((i) => i.getKeyword() === 'FROM');
  if (firstFrom < 0) return unparseable(file, 1, lines[0] ?? '', 'it has no FROM instruction');
  const early = instructions.slice(0, firstFrom).find((i) => i.getKeyword() !== 'ARG');
  if (early) return unparseable(file, lineOf(early), lines[lineOf(early) - 1] ?? '', `${early.getKeyword()} comes before the first FROM`);

  const findings: Finding[] = [];
  const images: BaseImage[] = [];

  // Global ARGs (before the first FROM) are the only variables a FROM line can use.
  const globals: Vars = new Map();
  for (const arg of df.getInitialARGs()) {
    const prop = arg.getProperty();
    const name = prop?.getName();
    if (!prop || !name) continue;
    const raw = prop.getValue();
    let value: string | undefined;
    if (raw !== null) {
      try {
        value = expandVariables(raw, globals);
      } catch {
        value = undefined;
      }
    }
    globals.set(name, { value, line: lineOf(arg), literal: raw !== null && !raw.includes('$') ? raw : undefined });
  }
  const isPlatformArg = (name: string): boolean => PLATFORM_ARGS.has(name) && !globals.get(name)?.value;

  // Split into stages.
  const stages: Stage[] = [];
  for (const i of instructions.slice(firstFrom)) {
    if (i.getKeyword() === 'FROM') {
      stages.push({
        index: stages.length,
        name: `#${stages.length}`,
        fromLine: lineOf(i),
        role: 'target',
        deps: new Set(),
        copies: [],
        instructions: [i],
      });
    } else {
      stages[stages.length - 1]!.instructions.push(i);
    }
  }
  const stageByName = new Map<string, number>();
  const stageRef = (ref: string, before: number): number | undefined => {
    const named = stageByName.get(ref.toLowerCase());
    if (named !== undefined && named < before) return named;
    if (/^\d+$/.test(ref) && Number(ref) < before) return Number(ref);
    return undefined;
  };

  interface PendingImage extends Omit<BaseImage, 'role'> {
    stageIndex: number;
  }
  const pending: PendingImage[] = [];
  const froms = df.getFROMs();

  for (const stage of stages) {
    const from = froms[stage.index]!;
    const line = stage.fromLine;
    const excerpt = lines[line - 1] ?? '';
    const written = from.getImage();
    if (!written) return unparseable(file, line, excerpt, `FROM on line ${line} names no image`);
    const name = from.getBuildStage();
    if (name) {
      stage.name = name;
      stageByName.set(name.toLowerCase(), stage.index);
    }

    const platformRaw = from.getPlatformFlag()?.getValue() ?? undefined;
    if (platformRaw !== undefined) {
      try {
        stage.platform = expandVariables(platformRaw, globals, isPlatformArg);
      } catch (err) {
        if (!(err instanceof Unresolved)) throw err;
        findings.push(unresolvedArg(file, line, excerpt, err.variable, `the platform of stage ${stage.name}`));
      }
      if (stage.platform && /\$\{?BUILDPLATFORM\b/.test(stage.platform)) stage.role = 'build-host';
      const defaulted = /\$\{?(BUILDPLATFORM|TARGETPLATFORM|TARGETARCH|BUILDARCH)\b/.exec(platformRaw)?.[1];
      if (defaulted && globals.get(defaulted)?.value) stage.platformFromDefault = `ARG ${defaulted}=${globals.get(defaulted)!.value}`;
    }

    // `ARG ARCH=amd64` in an image name: a build argument the pipeline may set per architecture.
    const archArgs = [...written.matchAll(/\$\{?([A-Za-z_]\w*)\}?/g)]
      .map((m) => m[1]!)
      .filter((n) => !PLATFORM_ARGS.has(n) && ARCH_VALUE.test(globals.get(n)?.value ?? ''));
    const vars = archArgs.length ? new Map(globals) : globals;
    for (const n of archArgs) {
      // Docker Hub's per-architecture namespaces spell arm64 `arm64v8` (`amd64/alpine` -> `arm64v8/alpine`).
      const asNamespace = new RegExp(`(^|/)\\$\\{?${n}\\}?/`).test(written);
      vars.set(n, { ...globals.get(n)!, value: asNamespace ? 'arm64v8' : 'arm64' });
    }

    let reference: string;
    try {
      reference = expandVariables(written, vars);
    } catch (err) {
      if (!(err instanceof Unresolved)) throw err;
      findings.push(unresolvedArg(file, line, excerpt, err.variable, `the base image of stage ${stage.name}`));
      continue;
    }
    if (archArgs.length) {
      const n = archArgs[0]!;
      findings.push(
        finding(
          'dockerfile.arch-build-arg',
          'warning',
          `The base image of stage ${stage.name} is named with build argument ${n} (default ${globals.get(n)!.value}): the pipeline may set it per architecture, so the image is not amd64-only; archshift checked ${reference}, the name an arm64 build gets with --build-arg ${n}=${vars.get(n)!.value}`,
          file,
          line,
          excerpt,
          `Make sure the arm64 build passes --build-arg ${n}=${vars.get(n)!.value}, or name the image with $TARGETARCH (or a multi-arch tag) so BuildKit picks it per platform.`,
        ),
      );
    }
    const parent = stageRef(reference, stage.index);
    if (parent !== undefined) {
      stage.deps.add(parent);
      stage.parent = parent;
      continue;
    }
    if (reference.toLowerCase() === 'scratch') continue;
    pending.push({
      written,
      reference,
      file,
      line,
      stage: stage.name,
      stageIndex: stage.index,
      via: 'FROM',
      edit: editFor(file, line, written, globals),
    });
  }

  // COPY --from and RUN --mount=from=... tie stages together, or pull files out of another image.
  for (const stage of stages) {
    for (const i of stage.instructions) {
      const kw = i.getKeyword();
      if (!(i instanceof Copy || i instanceof Run)) continue;
      for (const flag of i.getFlags()) {
        let source: string | undefined;
        if (kw === 'COPY' && flag.getName() === 'from') source = flag.getValue() ?? undefined;
        if (kw === 'RUN' && flag.getName() === 'mount') source = /(?:^|,)from=([^,]+)/.exec(flag.getValue() ?? '')?.[1];
        if (!source) continue;
        const ref = stageRef(source, stage.index);
        if (ref !== undefined) {
          stage.deps.add(ref);
          const args = kw === 'COPY' ? (i.getArgumentsContent() ?? '').split(/\s+/).filter((a) => a && !a.startsWith('--')) : [];
          stage.copies.push({
            from: ref,
            line: lineOf(i),
            paths: args.length > 1 ? args.slice(0, -1).map((a) => a.replace(/^["'[,]+|["',\]]+$/g, '')) : [],
          });
        } else if (!source.includes('$')) {
          const line = lineOf(i);
          pending.push({
            written: source,
            reference: source,
            file,
            line,
            stage: stage.name,
            stageIndex: stage.index,
            via: kw === 'COPY' ? 'COPY --from' : 'RUN --mount',
            edit: { file, line, text: source, part: 'reference' },
          });
        }
      }
    }
  }

  // What the final stage reaches is shipped; the rest is not.
  const reached = new Set<number>();
  const walk = (i: number): void => {
    if (reached.has(i)) return;
    reached.add(i);
    for (const d of stages[i]!.deps) walk(d);
  };
  walk(stages.length - 1);
  for (const s of stages) if (!reached.has(s.index)) s.role = 'unused';
  for (const p of pending) {
    const { stageIndex, ...image } = p;
    images.push({ ...image, role: stages[stageIndex]!.role });
  }

  // The final image is the last stage and the stages it is built FROM; other reached stages only hand files over.
  const imageChain = new Set<number>();
  for (let i: number | undefined = stages.length - 1; i !== undefined && !imageChain.has(i); i = stages[i]!.parent) imageChain.add(i);
  const baseOf = (i: number): string | undefined => {
    for (let s: number | undefined = i; s !== undefined; s = stages[s]!.parent) {
      const p = pending.find((x) => x.stageIndex === s && x.via === 'FROM');
      if (p) return p.reference;
    }
    return undefined;
  };
  const context: StageContext = {
    inImage: (i) => imageChain.has(i),
    copiedFrom: (i) =>
      stages.filter((s) => s.role !== 'unused').flatMap((s) => s.copies.filter((c) => c.from === i).map((c) => ({ ...c, by: s.name }))),
    baseOf,
  };
  for (const stage of stages) findings.push(...stageFindings(file, lines, stage, globals, lineOf, context));
  const finalBase = baseOf(stages.length - 1);
  const chainText = [...imageChain]
    .flatMap((i) => stages[i]!.instructions.filter((x) => x.getKeyword() === 'RUN').map((x) => x.getArgumentsContent() ?? ''))
    .join('\n');
  const finalLibc =
    finalBase && /(^|[/:@-])alpine|(^|\/)wolfi-base\b/.test(finalBase)
      ? /wolfi/.test(finalBase)
        ? 'glibc'
        : 'musl'
      : /\bapk\s+add\b/.test(chainText)
        ? 'musl'
        : /\b(apt-get|dnf|yum|microdnf)\s+install\b/.test(chainText) ||
            (finalBase &&
              /debian|ubuntu|slim|bookworm|bullseye|buster|jammy|noble|focal|ubi|amazonlinux|centos|rocky|alma|fedora/.test(finalBase))
          ? 'glibc'
          : undefined;
  return { findings, images, finalBase, finalLibc };
}

interface StageContext {
  /** Whether the stage is the final image or one it is built FROM. */
  inImage(index: number): boolean;
  /** Copies out of the stage made by shipped stages. */
  copiedFrom(index: number): { from: number; line: number; paths: string[]; by: string }[];
  /** The registry image under the stage (following FROM <stage>). */
  baseOf(index: number): string | undefined;
}

/** A declared default of TARGETARCH/TARGETPLATFORM in the stage (or globally, re-declared) pins it: see the BuildKit note. */
function pinnedTargetArg(stage: Stage, globals: Vars): { name: string; value: string; line: number } | undefined {
  for (const i of stage.instructions) {
    if (!(i instanceof Arg)) continue;
    const prop = i.getProperty();
    const name = prop?.getName();
    if (!prop || !name || !/^TARGET(ARCH|PLATFORM)$/.test(name)) continue;
    const value = prop.getValue() ?? globals.get(name)?.value;
    if (value && !value.includes('$')) return { name, value, line: i.getRange().start.line + 1 };
  }
  return undefined;
}

function unresolvedArg(file: string, line: number, excerpt: string, variable: string, what: string): Finding {
  return finding(
    'dockerfile.unresolved-arg',
    'unknown',
    `${what} uses build argument ${variable}, which has no default`,
    file,
    line,
    excerpt,
    `Give ${variable} a default (\`ARG ${variable}=...\` before the first FROM) so the image can be checked; a value passed with --build-arg is not visible to archshift.`,
  );
}

/** The text a PR would change to swap this base image, when the image is a literal or a single ARG. */
function editFor(file: string, line: number, written: string, globals: Vars): TextEdit | undefined {
  if (!written.includes('$')) return { file, line, text: written, part: 'reference' };
  const whole = /^\$\{?([A-Za-z_]\w*)\}?$/.exec(written);
  if (whole) {
    const arg = globals.get(whole[1]!);
    return arg?.literal ? { file, line: arg.line, text: arg.literal, part: 'reference' } : undefined;
  }
  const tagOnly = /^[^$@]+:\$\{?([A-Za-z_]\w*)\}?$/.exec(written);
  if (tagOnly) {
    const arg = globals.get(tagOnly[1]!);
    return arg?.literal ? { file, line: arg.line, text: arg.literal, part: 'tag' } : undefined;
  }
  return undefined;
}

function stageFindings(
  file: string,
  lines: string[],
  stage: Stage,
  globals: Vars,
  lineOf: (i: Instruction) => number,
  context: StageContext,
): Finding[] {
  const out: Finding[] = [];
  const unused = stage.role === 'unused';
  const where = unused ? ` (stage ${stage.name} is not part of the final image)` : '';
  const targetPin = pinnedTargetArg(stage, globals);
  const hostPinned = (stage.platform && AMD64_PLATFORM.test(stage.platform)) || stage.role === 'build-host';
  // A stage on the build host matters only through what the final image takes from it.
  const copies = hostPinned && !unused && !context.inImage(stage.index) ? context.copiedFrom(stage.index) : [];
  const judged = copies.length
    ? judgeHostStage(
        stage,
        context.baseOf(stage.index),
        copies.flatMap((c) => c.paths),
        lines,
        targetPin !== undefined,
      )
    : undefined;
  const copiedText = copies.length
    ? `stage ${copies[0]!.by} copies ${copies[0]!.paths.slice(0, 3).join(', ') || 'files'} from it (line ${copies[0]!.line})`
    : '';
  const defaultNote = stage.platformFromDefault
    ? `; the declared default \`${stage.platformFromDefault}\` replaces the value BuildKit supplies (moby/buildkit dockerfile2llb buildMetaArgs)`
    : '';

  if (stage.platform && AMD64_PLATFORM.test(stage.platform) && !(judged && (judged.kind === 'cross' || judged.kind === 'neutral'))) {
    const line = stage.fromLine;
    const text = lines[line - 1] ?? '';
    const flag = /--platform=\S+\s+/.exec(text)?.[0];
    const inImage = !unused && context.inImage(stage.index);
    const effect = unused
      ? where
      : inImage
        ? ': the final image is built from it, so an arm64 build still ships linux/amd64'
        : judged
          ? `, and ${copiedText}: ${judged.why}, so the arm64 image would ship the build host's linux/amd64 code`
          : '';
    out.push({
      ...finding(
        'dockerfile.platform-pinned',
        unused ? 'warning' : 'change',
        `Stage ${stage.name} is pinned to ${stage.platform}${defaultNote}${effect}`,
        file,
        line,
        text,
        stage.platformFromDefault
          ? `Remove the default from \`${stage.platformFromDefault}\` (declare \`ARG ${stage.platformFromDefault.split(/[ =]/)[1]}\` without a value) so BuildKit's value is used.`
          : 'Remove the --platform flag (or use $TARGETPLATFORM) so the stage is built for the platform being built; use $BUILDPLATFORM only for stages that run build tools, and build for $TARGETARCH there.',
      ),
      ...(flag && !unused && !stage.platformFromDefault
        ? { autofix: { kind: 'base' as const, params: { file, line: String(line), from: flag, to: '' } } }
        : {}),
    });
  } else if (stage.role === 'build-host' && judged?.kind === 'native' && !targetPin) {
    out.push(
      finding(
        'dockerfile.build-host-content',
        'change',
        `Stage ${stage.name} runs on the build host (--platform=$BUILDPLATFORM) and ${copiedText}: ${judged.why}, so an arm64 image built on an amd64 builder ships amd64 code`,
        file,
        copies[0]!.line,
        lines[copies[0]!.line - 1] ?? '',
        'Cross-compile in that stage for the target (`ARG TARGETARCH`, then e.g. `GOARCH=$TARGETARCH go build`, `dotnet publish -r linux-$TARGETARCH`, or the tonistiigi/xx helpers), or drop --platform=$BUILDPLATFORM so the stage builds on the target platform.',
      ),
    );
  }
  if (targetPin && !unused && !ARM_MARKER.test(targetPin.value)) {
    out.push(
      finding(
        'dockerfile.target-arg-default',
        'change',
        `Stage ${stage.name} declares \`ARG ${targetPin.name}=${targetPin.value}\`: BuildKit keeps a declared default instead of the platform being built (moby/buildkit dockerfile2llb dispatchArg), so an arm64 build uses ${targetPin.value}`,
        file,
        targetPin.line,
        lines[targetPin.line - 1] ?? '',
        `Declare \`ARG ${targetPin.name}\` without a default; BuildKit fills it per platform.`,
      ),
    );
  }

  // Variables a RUN can see: global ARGs re-declared in the stage, and the stage's own ARG/ENV literals.
  const vars: Vars = new Map();
  for (const i of stage.instructions) {
    const kw = i.getKeyword();
    const line = lineOf(i);
    if (i instanceof Arg || i instanceof Env) {
      const props = i instanceof Arg ? [i.getProperty()] : i.getProperties();
      for (const prop of props) {
        if (!prop) continue;
        const name = prop.getName();
        const value = prop.getUnescapedValue() ?? (i instanceof Arg ? globals.get(name)?.value : undefined);
        if (value !== undefined && !PLATFORM_ARGS.has(name)) vars.set(name, { value: safeExpand(value, vars), line });
      }
      if (i instanceof Env && GOARCH_ENV.test(i.getArgumentsContent() ?? ''))
        out.push(goarch(file, line, lines[line - 1] ?? '', unused, where));
      continue;
    }
    if (kw !== 'RUN' && kw !== 'ADD') continue;
    const start = i.getRange().start.line;
    const end = i.getRange().end.line;
    const physical = lines.slice(start, end + 1);
    const raw = physical.join('\n');
    const expanded = safeExpand(raw, vars);
    if (kw === 'RUN' && GOARCH_RUN.test(expanded)) {
      const at = physical.findIndex((l) => /GOARCH/.test(l));
      out.push(goarch(file, start + 1 + Math.max(at, 0), physical[Math.max(at, 0)] ?? '', unused, where));
    }
    if (ARM_MARKER.test(expanded)) continue;
    const hits = [...(expanded.match(URL) ?? []), ...(kw === 'RUN' ? (expanded.match(DEB_AMD64) ?? []) : [])].filter((u) =>
      ARCH_MARKER.test(u),
    );
    if (!hits.length) continue;
    // Point at the physical line holding the first hit (before expansion, the line holds its URL's start).
    const hit = hits[0]!;
    const prefix = hit.slice(0, 20);
    let at = physical.findIndex((l) => safeExpand(l, vars).includes(prefix));
    if (at < 0) at = 0;
    const severity: Severity = unused || stage.role === 'build-host' ? 'warning' : 'blocker';
    const context = unused ? where : stage.role === 'build-host' ? ` (stage ${stage.name} runs on the build host)` : '';
    out.push(
      finding(
        'dockerfile.amd64-download',
        severity,
        `${kw} fetches an amd64-only artefact: ${hit.slice(0, 120)}${context}`,
        file,
        start + 1 + at,
        physical[at] ?? '',
        'Fetch the artefact for the architecture being built: use $TARGETARCH (declare `ARG TARGETARCH` in the stage) in the URL or package name, after checking that the vendor publishes an arm64 build.',
      ),
    );
  }
  return out;
}

function safeExpand(text: string, vars: Vars): string {
  try {
    return expandVariables(text, vars, () => true);
  } catch {
    return text;
  }
}

function goarch(file: string, line: number, text: string, unused: boolean, where: string): Finding {
  return finding(
    'dockerfile.goarch-amd64',
    unused ? 'warning' : 'change',
    `GOARCH is hard-coded to amd64${where}`,
    file,
    line,
    text,
    'Build for the target: `ARG TARGETARCH` in the stage and `GOARCH=$TARGETARCH` (Go cross-compiles, so a `--platform=$BUILDPLATFORM` build stage stays fast).',
  );
}
