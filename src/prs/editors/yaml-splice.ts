// Minimal-diff YAML edits: the `yaml` parser finds where a change goes (node ranges), and new text is
// spliced in at that offset, rendered in the style of its neighbours (indent width, compact or
// indented sequences, flow or block collections, the file's line endings). Nothing is re-serialised.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  stringify,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { CannotEditError, endOfLine, eolOf, lineOf, startOfLine, type Splice } from './text.ts';

export interface YamlFile {
  src: string;
  docs: Document.Parsed[];
  eol: string;
  /** Spaces per nesting level in this file. */
  indentUnit: number;
  /** `- item` written at the parent key's column (true) or indented under it (false). */
  compactSeq: boolean;
}

export function parseYamlFile(src: string): YamlFile {
  const docs = parseAllDocuments(src);
  if (!Array.isArray(docs)) throw new CannotEditError('the file is not YAML');
  for (const d of docs) {
    const e = d.errors[0];
    if (e) throw new CannotEditError(`the file is not valid YAML (line ${lineOf(src, e.pos[0])}: ${e.message.split('\n')[0]})`);
  }
  const file: YamlFile = { src, docs, eol: eolOf(src), indentUnit: 2, compactSeq: true };
  detectStyle(file);
  return file;
}

function column(src: string, offset: number): number {
  return offset - startOfLine(src, offset);
}

/** Reads the indent width and sequence style from the first nested block map and block sequence. */
function detectStyle(file: YamlFile): void {
  let unit: number | undefined;
  let compact: boolean | undefined;
  const visit = (node: unknown): void => {
    if (unit !== undefined && compact !== undefined) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        const value = pair.value as Node | null;
        if (key?.range && value && !(value as YAMLMap).flow) {
          if (isMap(value) && value.items[0] && unit === undefined) {
            const child = value.items[0].key as Node | null;
            if (child?.range) unit = column(file.src, child.range[0]) - column(file.src, key.range[0]);
          }
          if (isSeq(value) && value.range && compact === undefined && value.items.length) {
            compact = column(file.src, value.range[0]) === column(file.src, key.range[0]);
          }
        }
        visit(value);
      }
    } else if (isSeq(node)) node.items.forEach(visit);
  };
  file.docs.forEach((d) => visit(d.contents));
  if (unit !== undefined && unit > 0) file.indentUnit = unit;
  if (compact !== undefined) file.compactSeq = compact;
}

export function pairOf(map: YAMLMap, key: string): Pair<Node, Node | null> | undefined {
  return map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) as Pair<Node, Node | null> | undefined;
}

/** Refuses aliases and merge keys on the path we edit: changing them would change other places too. */
export function plainMap(node: unknown, what: string): YAMLMap | undefined {
  if (node === null || node === undefined) return undefined;
  if (isAlias(node))
    throw new CannotEditError(`${what} is a YAML alias (*${node.source}); editing it would change every place that uses the anchor`);
  if (!isMap(node)) throw new CannotEditError(`${what} is not a mapping`);
  return node;
}

export function plainSeq(node: unknown, what: string): YAMLSeq | undefined {
  if (node === null || node === undefined) return undefined;
  if (isAlias(node))
    throw new CannotEditError(`${what} is a YAML alias (*${node.source}); editing it would change every place that uses the anchor`);
  if (!isSeq(node)) throw new CannotEditError(`${what} is not a list`);
  return node;
}

function flowText(value: unknown): string {
  return stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trim();
}

function blockLines(file: YamlFile, value: unknown, indent: number): string {
  const text = stringify(value, { indent: file.indentUnit, indentSeq: !file.compactSeq, lineWidth: 0 }).replace(/\n$/, '');
  const pad = ' '.repeat(indent);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join(file.eol);
}

/** Adds `entries` as new keys at the end of `map`, written in the map's own style. */
export function insertPairs(file: YamlFile, map: YAMLMap, entries: Record<string, unknown>, what: string): Splice {
  const { src } = file;
  if (!map.range) throw new CannotEditError(`${what} has no position in the file`);
  if (map.flow) {
    const close = src.lastIndexOf('}', map.range[1] - 1);
    const inner = Object.entries(entries)
      .map(([k, v]) => `${k}: ${flowText(v)}`)
      .join(', ');
    if (!map.items.length) return { start: map.range[0], end: map.range[1], text: `{ ${inner} }` };
    const before = src.slice(map.range[0], close).trimEnd();
    const at = map.range[0] + before.length;
    return { start: at, end: at, text: `, ${inner}` };
  }
  const last = map.items[map.items.length - 1];
  const firstKey = map.items[0]?.key as Node | null;
  if (!last || !firstKey?.range) throw new CannotEditError(`${what} is empty; cannot tell its indentation`);
  const lastNode = ((last.value as Node | null) ?? (last.key as Node)) as Node;
  const at = endOfLine(src, Math.max(lastNode.range![1] - 1, (last.key as Node).range![0]));
  return { start: at, end: at, text: file.eol + blockLines(file, entries, column(src, firstKey.range[0])) };
}

/** Sets an empty value (`key:`, `key: {}`, `key: []`, `key: null`) to `value`, block style under the key. */
export function fillEmptyValue(file: YamlFile, pair: Pair<Node, Node | null>, value: unknown): Splice {
  const { src } = file;
  const key = pair.key;
  const keyCol = column(src, key.range![0]);
  const node = pair.value;
  const start = node?.range ? node.range[0] : key.range![1];
  const end = node?.range ? node.range[1] : key.range![1];
  const colon = src.indexOf(':', key.range![1]);
  const nested = blockLines(file, value, keyCol + (Array.isArray(value) && file.compactSeq ? 0 : file.indentUnit));
  // Keep `key:` as written; replace what follows the colon on that line.
  const from = Math.min(colon + 1, start);
  return { start: from, end: Math.max(end, from), text: file.eol + nested };
}

/** Appends an item to a sequence, in its style. */
export function appendSeqItem(file: YamlFile, seq: YAMLSeq, item: unknown, what: string): Splice {
  const { src } = file;
  if (!seq.range) throw new CannotEditError(`${what} has no position in the file`);
  if (seq.flow) {
    const close = src.lastIndexOf(']', seq.range[1] - 1);
    if (!seq.items.length) return { start: seq.range[0], end: seq.range[1], text: `[${flowText(item)}]` };
    const at = seq.range[0] + src.slice(seq.range[0], close).trimEnd().length;
    return { start: at, end: at, text: `, ${flowText(item)}` };
  }
  const last = seq.items[seq.items.length - 1] as Node | null;
  if (!last?.range) throw new CannotEditError(`${what} is empty; cannot tell its indentation`);
  const at = endOfLine(src, last.range[1] - 1);
  return { start: at, end: at, text: file.eol + blockLines(file, [item], column(src, seq.range[0])) };
}

export function replaceScalar(node: Node, text: string): Splice {
  return { start: node.range![0], end: node.range![1], text };
}

export function isEmptyCollection(node: Node | null): boolean {
  return (
    node === null ||
    (isScalar(node) && (node.value === null || node.value === '')) ||
    ((isMap(node) || isSeq(node)) && node.items.length === 0)
  );
}
