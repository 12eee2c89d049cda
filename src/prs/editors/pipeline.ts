// Turns on the arm64 build in a service's CD pipeline YAML: `mustBuildARM64: true` under the
// `docker-build` step's `with:`. The key is created (or flipped) in place; the rest of the file is untouched.
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import { applySplices, CannotEditError, runEdit, type EditResult, type Splice } from './text.ts';
import { fillEmptyValue, insertPairs, pairOf, parseYamlFile, plainMap, replaceScalar } from './yaml-splice.ts';

export const ARM64_BUILD_KEY = 'mustBuildARM64';

export interface PipelineEdit {
  /** The step to edit: a map key (`docker-build:`) or a list item with `uses: docker-build@…` or `name:`. */
  step?: string;
  /** The flag's name, when a pipeline template spells it differently. */
  key?: string;
}

interface StepMatch {
  map: YAMLMap;
  where: string;
}

function findSteps(node: unknown, step: string, path: string, out: StepMatch[]): void {
  if (isMap(node)) {
    const uses = pairOf(node, 'uses')?.value;
    const name = pairOf(node, 'name')?.value;
    const usesStep = isScalar(uses) && String(uses.value).split('@')[0] === step;
    const namedStep = isScalar(name) && String(name.value) === step && pairOf(node, 'with');
    if (usesStep || namedStep) out.push({ map: node, where: path || 'the document' });
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      if (key === step && pair.value !== null) {
        const map = plainMap(pair.value, `step ${key}`);
        if (map && !out.some((m) => m.map === map)) out.push({ map, where: `${path}${path ? '.' : ''}${key}` });
        continue;
      }
      findSteps(pair.value, step, `${path}${path ? '.' : ''}${key}`, out);
    }
  } else if (isSeq(node)) node.items.forEach((item, i) => findSteps(item, step, `${path}[${i}]`, out));
}

export function enableArm64Build(src: string, edit: PipelineEdit = {}): EditResult {
  const step = edit.step ?? 'docker-build';
  const flag = edit.key ?? ARM64_BUILD_KEY;
  return runEdit(src, (notes) => {
    const file = parseYamlFile(src);
    const found: StepMatch[] = [];
    file.docs.forEach((d) => findSteps(d.contents, step, '', found));
    if (!found.length) throw new CannotEditError(`no ${step} step found`);
    if (found.length > 1) {
      throw new CannotEditError(
        `${found.length} ${step} steps found (${found.map((f) => f.where).join(', ')}); cannot tell which builds the service`,
      );
    }
    const { map, where } = found[0];
    const withPair = pairOf(map, 'with');
    let splice: Splice;
    if (!withPair) {
      splice = insertPairs(file, map, { with: { [flag]: true } }, `step ${where}`);
    } else if (withPair.value === null || (isScalar(withPair.value) && withPair.value.value === null)) {
      splice = fillEmptyValue(file, withPair, { [flag]: true });
    } else {
      const withMap = plainMap(withPair.value, `${where}.with`)!;
      const current = pairOf(withMap, flag);
      if (current) {
        const value = current.value as Node | null;
        if (isScalar(value) && value.value === true) {
          notes.push(`${flag} is already true`);
          return src;
        }
        if (!isScalar(value)) throw new CannotEditError(`${where}.with.${flag} is not a plain value`);
        splice = replaceScalar(value, 'true');
      } else if (!withMap.items.length && !withMap.flow) {
        throw new CannotEditError(`${where}.with is empty; cannot tell its indentation`);
      } else {
        splice = insertPairs(file, withMap, { [flag]: true }, `${where}.with`);
      }
    }
    const out = applySplices(src, [splice]);
    verify(out, step, flag);
    return out;
  });
}

/** The spliced file must parse and say what we meant; otherwise we did not place the change safely. */
function verify(out: string, step: string, flag: string): void {
  const again = parseYamlFile(out);
  const found: StepMatch[] = [];
  again.docs.forEach((d) => findSteps(d.contents, step, '', found));
  const value = found.length === 1 ? (found[0].map.getIn(['with', flag]) as unknown) : undefined;
  if (value !== true) throw new CannotEditError(`could not place ${flag}: true safely in the ${step} step`);
}
