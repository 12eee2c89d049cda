// Rewrites a Dockerfile's base image to an arm64-capable one. Only the image text (or the ARG default
// it comes from) is replaced, so every other byte of the file stays as it was.
import { DockerfileParser, type From } from 'dockerfile-ast';
import { applySplices, CannotEditError, lineStarts, offsetAt, runEdit, type EditResult, type Splice } from './text.ts';

export interface BaseImageEdit {
  /** The image as the readiness check saw it (ARGs expanded), e.g. `openjdk:8-jre`. */
  from?: string;
  /** The suggested image, `name:tag` or `name:tag@sha256:…`. */
  to: string;
  /** Digest for `to`, when it is not part of `to`; needed if the original FROM is pinned by digest. */
  digest?: string;
  /** 1-based line of the FROM instruction. */
  line?: number;
}

const variablePattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

function stripDockerHub(image: string): string {
  return image.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\//, '');
}

function splitDigest(ref: string): { ref: string; digest?: string } {
  const at = ref.indexOf('@');
  return at < 0 ? { ref } : { ref: ref.slice(0, at), digest: ref.slice(at + 1) };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The text that replaces `from`: keeps digest pinning as the original had it. */
function replacementFor(from: string, edit: BaseImageEdit, where: string, notes: string[]): string {
  const target = splitDigest(edit.to);
  const digest = target.digest ?? edit.digest;
  if (splitDigest(from).digest) {
    if (!digest) throw new CannotEditError(`${where} is pinned by digest, but no digest is known for ${edit.to}`);
    return `${target.ref}@${digest}`;
  }
  if (digest) notes.push(`${where} was not pinned by digest, so ${target.ref} is written without one`);
  return target.ref;
}

const amd64Platform = /--platform=\S*(amd64|x86_64)/;

/**
 * The readiness check's contract: `from` is the exact text at `line` (a FROM image, the ARG default it
 * comes from, a COPY --from image, or a `--platform=linux/amd64 ` flag to drop with `to: ''`).
 */
function literalSplice(
  src: string,
  starts: number[],
  df: ReturnType<typeof DockerfileParser.parse>,
  edit: BaseImageEdit,
  notes: string[],
): Splice | undefined {
  const line = edit.line!;
  const from = edit.from!;
  if (line < 1 || line > starts.length) throw new CannotEditError(`line ${line} is past the end of the file`);
  const lineStart = starts[line - 1];
  const text = src.slice(lineStart, line < starts.length ? starts[line] : src.length).replace(/\r?\n$|\r$/, '');
  const hits: number[] = [];
  for (let i = text.indexOf(from); i >= 0; i = text.indexOf(from, i + 1)) {
    const before = i === 0 ? ' ' : text[i - 1];
    const after = text[i + from.length] ?? ' ';
    if (/[\s="']/.test(before) && (from.endsWith(' ') || /[\s"']/.test(after))) hits.push(i);
  }
  if (!hits.length) {
    // Already applied (a re-run after the edit): nothing to do, rather than "file changed".
    if (edit.to && text.includes(splitDigest(edit.to).ref)) return { start: lineStart, end: lineStart, text: '' };
    return undefined;
  }
  if (hits.length > 1) throw new CannotEditError(`line ${line} holds ${from} ${hits.length} times; cannot tell which to change`);
  const instruction = df.getInstructions().find((i) => i.getRange().start.line <= line - 1 && i.getRange().end.line >= line - 1);
  const keyword = instruction?.getKeyword() ?? '';
  if (!['FROM', 'ARG', 'COPY', 'RUN'].includes(keyword)) throw new CannotEditError(`line ${line} is not a FROM, ARG or COPY instruction`);
  let replacement: string;
  if (edit.to === '') {
    if (!from.startsWith('--platform=')) throw new CannotEditError(`no replacement given for ${from} at line ${line}`);
    replacement = '';
  } else {
    if (keyword === 'FROM' && amd64Platform.test(text)) {
      throw new CannotEditError(`the FROM at line ${line} forces ${amd64Platform.exec(text)![0]}; remove that flag too`);
    }
    replacement = replacementFor(from, edit, `line ${line}`, notes);
  }
  return { start: lineStart + hits[0], end: lineStart + hits[0] + from.length, text: replacement };
}

export function rewriteBaseImage(src: string, edit: BaseImageEdit): EditResult {
  return runEdit(src, (notes) => {
    const df = DockerfileParser.parse(src);
    const starts = lineStarts(src);
    if (edit.line !== undefined && edit.from !== undefined) {
      const literal = literalSplice(src, starts, df, edit, notes);
      if (literal) return applySplices(src, [literal]);
    }
    return structuredEdit(src, starts, df, edit, notes);
  });
}

/** Without the exact text: find the FROM whose expanded image is `from` and rewrite it (or its ARGs). */
function structuredEdit(
  src: string,
  starts: number[],
  df: ReturnType<typeof DockerfileParser.parse>,
  edit: BaseImageEdit,
  notes: string[],
): string {
  const froms = df.getFROMs();
  const stages = new Set<string>();
  const candidates: From[] = [];
  const expanded: string[] = [];
  for (const f of froms) {
    const image = f.getImage() ?? '';
    const isStageRef = stages.has(image.toLowerCase());
    const stage = f.getBuildStage();
    if (stage) stages.add(stage.toLowerCase());
    if (isStageRef || !image) continue;
    const line = f.getRange().start.line;
    const full = image.replace(
      variablePattern,
      (m, a: string | undefined, _mod: string, b: string | undefined) => df.resolveVariable(a ?? b ?? '', line) ?? m,
    );
    expanded.push(full);
    const lineMatches = edit.line === undefined || line + 1 === edit.line;
    const imageMatches = edit.from === undefined || stripDockerHub(full) === stripDockerHub(edit.from);
    if (lineMatches && imageMatches) candidates.push(f);
    else if (lineMatches && edit.line !== undefined) {
      throw new CannotEditError(`line ${edit.line} has FROM ${full}, not ${edit.from}; the file changed since the check, run it again`);
    }
  }
  if (!candidates.length) {
    if (expanded.some((full) => stripDockerHub(splitDigest(full).ref) === stripDockerHub(splitDigest(edit.to).ref))) return src;
    throw new CannotEditError(
      edit.line !== undefined ? `no FROM instruction at line ${edit.line}` : `no FROM instruction uses ${edit.from ?? 'a base image'}`,
    );
  }
  const splices: Splice[] = [];
  for (const f of candidates) {
    const line = f.getRange().start.line + 1;
    const platform = f.getPlatformFlag()?.getValue();
    if (platform && /amd64|x86_64/.test(platform)) {
      throw new CannotEditError(`the FROM at line ${line} forces --platform=${platform}; remove that flag by hand first`);
    }
    const image = f.getImage()!;
    const replacement = replacementFor(image, edit, `the FROM at line ${line}`, notes);
    const range = f.getImageRange()!;
    if (!f.getVariables().length) {
      if (image !== replacement)
        splices.push({ start: offsetAt(starts, range.start), end: offsetAt(starts, range.end), text: replacement });
      continue;
    }
    splices.push(...argSplices(df, src, starts, image, replacement, line));
  }
  const unique = new Map(splices.map((s) => [`${s.start}:${s.end}`, s]));
  if (splices.some((s) => unique.get(`${s.start}:${s.end}`)!.text !== s.text)) {
    throw new CannotEditError('two FROM lines need different values for the same ARG; edit by hand');
  }
  return applySplices(src, [...unique.values()]);
}
/** FROM `${BASE}:${VERSION}`: edits the ARG defaults so the template expands to `replacement`. */
function argSplices(
  df: ReturnType<typeof DockerfileParser.parse>,
  src: string,
  starts: number[],
  template: string,
  replacement: string,
  line: number,
): Splice[] {
  const names: string[] = [];
  let pattern = '^';
  let last = 0;
  for (const m of template.matchAll(variablePattern)) {
    if (m[2]) throw new CannotEditError(`the FROM at line ${line} uses \${${m[1]}${m[2]}}; edit it by hand`);
    pattern += escapeRegExp(template.slice(last, m.index)) + '(.+?)';
    names.push(m[1] ?? m[3]);
    last = m.index! + m[0].length;
  }
  pattern += escapeRegExp(template.slice(last)) + '$';
  const match = new RegExp(pattern).exec(replacement);
  if (!match) {
    throw new CannotEditError(
      `the FROM at line ${line} is built from ARGs as ${template}, which cannot spell ${replacement}; edit it by hand`,
    );
  }
  const values = new Map<string, string>();
  names.forEach((n, i) => {
    if (values.has(n) && values.get(n) !== match[i + 1]) throw new CannotEditError(`ARG ${n} would need two values at line ${line}`);
    values.set(n, match[i + 1]);
  });
  const splices: Splice[] = [];
  for (const [name, value] of values) {
    if (df.resolveVariable(name, line - 1) === value) continue;
    const arg = df
      .getInitialARGs()
      .filter((a) => a.getProperty()?.getName() === name)
      .pop();
    const range = arg?.getProperty()?.getValueRange();
    if (!arg || !range) {
      throw new CannotEditError(
        `the FROM at line ${line} uses ARG ${name}, which has no default in the Dockerfile; it is set by the build, not here`,
      );
    }
    const start = offsetAt(starts, range.start);
    const end = offsetAt(starts, range.end);
    const raw = src.slice(start, end);
    const quote = /^["']/.test(raw) ? raw[0] : '';
    splices.push({ start, end, text: `${quote}${value}${quote}` });
  }
  return splices;
}
