// Dependency edits the readiness check marked as PR-able: bumping one literal version (pom.xml,
// build.gradle, package.json, requirements.txt, go.mod, ...), format-agnostic on purpose: it replaces
// the exact version text on the line the check pointed at, so nothing else in the file moves; and adding
// the arm64 twin of a dependency pulled with an x86-64 classifier only.
import { CannotEditError, endOfLine, eolOf, lineStarts, runEdit, startOfLine, type EditResult } from './text.ts';

export interface DependencyBump {
  package: string;
  from: string;
  to: string;
  /** 1-based line where the version literal is; without it the package must appear on exactly one line with `from`. */
  line?: number;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function bumpDependency(src: string, bump: DependencyBump): EditResult {
  return runEdit(src, (notes) => {
    if (!bump.from || !bump.to) throw new CannotEditError(`no literal version to change for ${bump.package}`);
    // The version must stand alone: `1.2` must not match inside `1.2.3` or `11.2`.
    const version = new RegExp(`(?<![\\w.-])${escapeRegExp(bump.from)}(?![\\w-]|\\.\\w)`, 'g');
    const starts = lineStarts(src);
    const lineText = (n: number) => src.slice(starts[n - 1], n < starts.length ? starts[n] : src.length);
    let line = bump.line;
    if (line === undefined) {
      const hits: number[] = [];
      for (let n = 1; n <= starts.length; n++) {
        const t = lineText(n);
        if (t.includes(bump.package) && new RegExp(version.source).test(t)) hits.push(n);
      }
      if (!hits.length && src.split(/\r?\n|\r/).some((t) => t.includes(bump.package) && t.includes(bump.to))) {
        notes.push(`${bump.package} is already ${bump.to}`);
        return src;
      }
      if (hits.length !== 1) {
        throw new CannotEditError(`${bump.package} ${bump.from} appears on ${hits.length} lines; the check must say which line to change`);
      }
      line = hits[0];
    }
    if (line < 1 || line > starts.length) throw new CannotEditError(`line ${line} is past the end of the file`);
    const text = lineText(line);
    const matches = [...text.matchAll(version)];
    if (matches.length === 0) {
      if (text.includes(bump.to)) {
        notes.push(`${bump.package} is already ${bump.to}`);
        return src;
      }
      throw new CannotEditError(`line ${line} has no version ${bump.from} for ${bump.package}; the file changed since the check`);
    }
    if (matches.length > 1)
      throw new CannotEditError(`line ${line} has ${bump.from} ${matches.length} times; cannot tell which is ${bump.package}`);
    if (/\$\{|\$\(|\{\{/.test(text.slice(0, matches[0].index)))
      notes.push(`line ${line} also holds a template; only the literal ${bump.from} changed`);
    const at = starts[line - 1] + matches[0].index!;
    return src.slice(0, at) + bump.to + src.slice(at + bump.from.length);
  });
}

export interface ClassifierTwin {
  /** `groupId:artifactId` of the dependency pulled with an x86-64 classifier only. */
  package: string;
  /** The classifier written today, e.g. `linux-x86_64`. */
  classifier: string;
  /** The classifier to add beside it, e.g. `linux-aarch_64`. */
  twin: string;
  /** 1-based line of the declaration (Maven: the `<dependency>` line; Gradle: the coordinate's line). */
  line: number;
}

/**
 * Adds the arm64 twin of a classifier dependency: the Maven `<dependency>` block or the Gradle line is
 * copied right below itself with only the classifier changed, so the version, scope and style follow the
 * original. Run after any version bump of the same file, so the copy carries the new version.
 */
export function addClassifierTwin(src: string, twin: ClassifierTwin): EditResult {
  return runEdit(src, (notes) => {
    const artifact = twin.package.split(':')[1] ?? twin.package;
    const starts = lineStarts(src);
    if (twin.line < 1 || twin.line > starts.length) throw new CannotEditError(`line ${twin.line} is past the end of the file`);
    const at = starts[twin.line - 1]!;
    const mentionsTwin = (text: string) => text.includes(artifact) && text.includes(twin.twin);
    const block = /<dependency>[\s\S]*?<\/dependency>/g;
    block.lastIndex = at;
    const m = block.exec(src);
    const isPom = m !== null && m.index < (starts[twin.line] ?? src.length);
    if (isPom) {
      const hasTwin = [...src.matchAll(/<dependency>([\s\S]*?)<\/dependency>/g)].some(
        (d) =>
          new RegExp(`<artifactId>\\s*${escapeRegExp(artifact)}\\s*</artifactId>`).test(d[1]!) &&
          new RegExp(`<classifier>\\s*${escapeRegExp(twin.twin)}\\s*</classifier>`).test(d[1]!),
      );
      if (hasTwin) {
        notes.push(`${twin.package} already has classifier ${twin.twin}`);
        return src;
      }
      const body = m![0];
      if (!body.includes(`<artifactId>${artifact}</artifactId>`))
        throw new CannotEditError(`line ${twin.line} is not the <dependency> of ${twin.package}; the file changed since the check`);
      const classifier = new RegExp(`<classifier>\\s*${escapeRegExp(twin.classifier)}\\s*</classifier>`);
      if (!classifier.test(body))
        throw new CannotEditError(`the <dependency> of ${twin.package} at line ${twin.line} has no classifier ${twin.classifier}`);
      const lineStart = startOfLine(src, m!.index);
      const indent = src.slice(lineStart, m!.index);
      if (indent.trim())
        throw new CannotEditError(
          `the <dependency> at line ${twin.line} shares its line with other XML; add the ${twin.twin} twin by hand`,
        );
      const end = m!.index + body.length;
      const copy = `${eolOf(src)}${indent}${body.replace(classifier, `<classifier>${twin.twin}</classifier>`)}`;
      return src.slice(0, end) + copy + src.slice(end);
    }
    const lineEnd = endOfLine(src, at);
    const text = src.slice(at, lineEnd);
    const hits = text.split(twin.classifier).length - 1;
    if (!text.includes(artifact) || hits === 0)
      throw new CannotEditError(
        `line ${twin.line} has no ${twin.package} with classifier ${twin.classifier}; the file changed since the check`,
      );
    if (hits > 1 || /\blistOf\(|\bforEach\b|\beach\b/.test(text))
      throw new CannotEditError(`line ${twin.line} builds ${twin.classifier} in a loop or names it twice; add ${twin.twin} by hand`);
    const next = src.slice(lineEnd).replace(/^\r?\n|^\r/, '');
    if (mentionsTwin(next.slice(0, endOfLine(next, 0)))) {
      notes.push(`${twin.package} already has classifier ${twin.twin}`);
      return src;
    }
    // An unclosed bracket means a multi-line statement: copying one line would break the script.
    const opened = (text.match(/[([{]/g) ?? []).length - (text.match(/[)\]}]/g) ?? []).length;
    if (opened !== 0) throw new CannotEditError(`the declaration at line ${twin.line} spans several lines; add ${twin.twin} by hand`);
    // The copy leaves a trailing comment behind: it spoke of the original line.
    const copy = text.replace(twin.classifier, twin.twin).replace(/\s*\/\/[^"']*$/, '');
    return src.slice(0, lineEnd) + eolOf(src) + copy + src.slice(lineEnd);
  });
}
