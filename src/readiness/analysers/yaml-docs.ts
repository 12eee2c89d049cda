// Shared by the YAML analysers: parse every document of a file keeping line numbers, and walk its nodes.
import {
  Composer,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  Parser,
  type Document,
  type Node,
  type Pair,
} from 'yaml';
import { readPlainYaml } from './yaml-plain.ts';

export interface YamlFile {
  docs: Document[];
  /** 1-based line of a node (or of its key, for a pair). */
  lineOf(node: Node | Pair | null | undefined): number;
  /** The first syntax error, when the file does not parse. */
  error?: { line: number; message: string };
}

const OPTIONS = { uniqueKeys: false, prettyErrors: false } as const;

export function parseYaml(text: string): YamlFile {
  const plain = readPlain(text);
  if (plain) return yamlFile(plain.docs, plain.lc);
  const lc = new LineCounter();
  return yamlFile([...parseAllDocuments(text, { lineCounter: lc, ...OPTIONS })], lc);
}

/** The fast reader's documents (yaml-plain.ts), with a line counter as yaml's parser fills it. */
function readPlain(text: string): { docs: Document[]; lc: LineCounter } | undefined {
  const plain = readPlainYaml(text);
  if (!plain) return undefined;
  const lc = new LineCounter();
  for (const start of plain.lineStarts) lc.addNewLine(start);
  return { docs: plain.docs, lc };
}

/** Documents composed between two yields to the event loop in parseYamlStreamed. */
const DOCUMENTS_PER_TURN = 25;

/**
 * parseYaml a document at a time: `onDocument` sees each document as soon as it is composed (until one
 * fails to parse), and the event loop turns every few documents. A 500-document manifest that only yaml
 * can read takes about half a second in a fresh process; registry lookups started for its first workloads
 * proceed meanwhile (the fast reader's documents are all read at once, in ~0.1 s, then handed on the same way).
 */
export async function parseYamlStreamed(text: string, onDocument: (doc: Document, lineOf: YamlFile['lineOf']) => void): Promise<YamlFile> {
  const plain = readPlain(text);
  const lc = plain?.lc ?? new LineCounter();
  const docs: Document[] = [];
  const lineOf = lineOfIn(lc);
  // What parseAllDocuments does, one document at a time (the fast reader's are all read already).
  for (const doc of plain?.docs ?? new Composer(OPTIONS).compose(new Parser(lc.addNewLine).parse(text))) {
    docs.push(doc);
    if (doc.errors.length) break;
    onDocument(doc, lineOf);
    if (docs.length % DOCUMENTS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return yamlFile(docs, lc);
}

const lineOfIn =
  (lc: LineCounter): YamlFile['lineOf'] =>
  (node) => {
    const n = node && isPair(node) ? (node.key as Node | null) : node;
    const start = (n as Node | null | undefined)?.range?.[0];
    return start === undefined ? 1 : lc.linePos(start).line;
  };

function yamlFile(docs: Document[], lc: LineCounter): YamlFile {
  const lineOf = lineOfIn(lc);
  for (const d of docs) {
    const e = d.errors[0];
    if (e) return { docs, lineOf, error: { line: e.linePos?.[0]?.line ?? 1, message: e.message.split('\n')[0]!.slice(0, 200) } };
  }
  return { docs, lineOf };
}

/** Every map pair in the tree under `node` whose key is `key`, depth-first, with the path of keys to it. */
export function findPairs(node: unknown, key: string, path: string[] = []): Array<{ pair: Pair; path: string[] }> {
  const out: Array<{ pair: Pair; path: string[] }> = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (k === key) out.push({ pair, path });
      if (k !== undefined) out.push(...findPairs(pair.value, key, [...path, k]));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => out.push(...findPairs(item, key, [...path, String(i)])));
  }
  return out;
}
