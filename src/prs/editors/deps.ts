// Bumps one literal dependency version that the readiness check marked as PR-able (pom.xml,
// build.gradle, package.json, requirements.txt, go.mod, ...). Format-agnostic on purpose: it replaces
// the exact version text on the line the check pointed at, so nothing else in the file moves.
import { CannotEditError, lineStarts, runEdit, type EditResult } from './text.ts';

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
    if (matches.length > 1) throw new CannotEditError(`line ${line} has ${bump.from} ${matches.length} times; cannot tell which is ${bump.package}`);
    if (/\$\{|\$\(|\{\{/.test(text.slice(0, matches[0].index))) notes.push(`line ${line} also holds a template; only the literal ${bump.from} changed`);
    const at = starts[line - 1] + matches[0].index!;
    return src.slice(0, at) + bump.to + src.slice(at + bump.from.length);
  });
}
