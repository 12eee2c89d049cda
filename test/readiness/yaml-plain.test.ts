// The fast YAML reader must be invisible: for every file it accepts, the same documents, values, types
// and line numbers as the `yaml` package; everything else it declines (and yaml reads the file).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { readPlainYaml } from '../../src/readiness/analysers/yaml-plain.ts';

/** Every node as [path, kind, value, line, column]: what the analysers can observe. */
function shape(docs: Document[], lc: LineCounter): unknown[] {
  const out: unknown[] = [];
  const at = (n: { range?: [number, number, number] | null }) => (n.range ? lc.linePos(n.range[0]) : undefined);
  const walk = (n: unknown, path: string): void => {
    if (isScalar(n)) out.push([path, 'scalar', n.value, typeof n.value, at(n)]);
    else if (isMap(n)) {
      out.push([path, n.flow ? 'flow-map' : 'map', at(n)]);
      n.items.forEach((p, i) => {
        walk(p.key, `${path}.${i}k`);
        walk(p.value, `${path}.${i}v`);
      });
    } else if (isSeq(n)) {
      out.push([path, n.flow ? 'flow-seq' : 'seq', at(n)]);
      n.items.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (isPair(n)) assert.fail('a pair outside a map');
    else out.push([path, String(n)]);
  };
  docs.forEach((d, i) => {
    walk(d.contents, `#${i}`);
    out.push([`#${i}`, 'json', JSON.stringify(d.toJSON())]);
  });
  return out;
}

function viaYaml(text: string): unknown[] {
  const lc = new LineCounter();
  const docs = [...parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false })];
  assert.ok(
    docs.every((d) => !d.errors.length),
    'yaml reads it without errors',
  );
  return shape(docs, lc);
}

function viaPlain(text: string): unknown[] | undefined {
  const plain = readPlainYaml(text);
  if (!plain) return undefined;
  const lc = new LineCounter();
  for (const s of plain.lineStarts) lc.addNewLine(s);
  return shape(plain.docs, lc);
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

describe('the fast YAML reader', () => {
  test('reads the fixtures it accepts exactly as yaml does, and accepts the plain manifests', () => {
    const files = yamlFiles('test/fixtures');
    let accepted = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const plain = viaPlain(text);
      if (!plain) continue;
      accepted++;
      assert.deepEqual(plain, viaYaml(text), file);
    }
    assert.ok(accepted >= files.length / 2, `${accepted} of ${files.length} fixture files read by the fast reader`);
  });

  const same: Record<string, string> = {
    'a Deployment with flow maps, lists, quotes and comments': [
      '# the api',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: api   # trailing comment',
      '  labels: {app: api, "tier": backend}',
      'spec:',
      '  replicas: 3',
      '  template:',
      '    spec:',
      '      nodeSelector:',
      "        kubernetes.io/arch: 'amd64'",
      '      tolerations:',
      '      - key: kubernetes.io/arch',
      '        operator: Equal',
      '        value: arm64',
      '        effect: NoSchedule',
      '      containers:',
      '        -   name: api',
      '            image: "registry.example.com/api:1.2.3"',
      "            args: [\"--port\", 8080, --verbose, 'it''s']",
      '            ports: []',
      '            env: [ ]',
      '            resources: { }',
      '            command:',
      '              - /bin/app',
      '              - -Xmx512m',
      '              - http://x:80/y',
      '',
    ].join('\n'),
    'core schema types':
      'a: 007\nb: 0x1F\nc: 0o17\nd: 1e3\ne: .5\nf: -.inf\ng: .NaN\nh: ~\ni: Null\nj: TRUE\nk: yes\nl: "1"\nm: +5\nn: 1.0\n80: port\ntrue: key\n',
    'escapes in double quotes': 'a: "tab\\there \\"q\\" \\\\ \\u00e9 \\/"\n',
    'several documents and markers': '---\na: 1\n---\n# a comment\nb: [1, {c: d}]\n--- # note\n- x\n- y: z\n  w: v\n-\n  - nested\n',
    'a sequence at the key indentation': 'items:\n- a\n- b\nnext: 1\n',
    'a scalar document': 'just text\n',
    'no trailing newline': 'a: b',
    'duplicate keys (kept, as uniqueKeys is off)': 'a: 1\na: 2\n',
  };
  for (const [name, text] of Object.entries(same)) {
    test(`reads ${name} as yaml does`, () => {
      const plain = viaPlain(text);
      assert.ok(plain, 'accepted');
      assert.deepEqual(plain, viaYaml(text));
    });
  }

  const declined: Record<string, string> = {
    anchors: 'a: &x 1\nb: *x\n',
    tags: 'a: !!str 1\n',
    'block scalars': 'a: |\n  text\n',
    'multi-line plain scalars': 'a: one\n  two\n',
    'empty values': 'a:\nb: 1\n',
    tabs: 'a:\n\tb: 1\n',
    CRLF: 'a: 1\r\nb: 2\r\n',
    'a nested map on one line (an error)': 'a: b: c\n',
    'bad indentation (an error)': 'a:\n    b: 1\n  c: 2\n',
    'multi-line flow': 'a: [1,\n  2]\n',
    'a trailing comma': 'a: [1, 2,]\n',
    'merge keys': '<<: {a: 1}\n',
    'directives and document end markers': '%YAML 1.2\n---\na: 1\n...\n',
    'other escapes': 'a: "\\x41"\n',
    'empty documents': 'a: 1\n---\n---\nb: 2\n',
    'an unclosed quote': 'a: "b\n',
    'explicit keys': '? a\n: b\n',
  };
  for (const [name, text] of Object.entries(declined)) {
    test(`declines ${name}`, () => assert.equal(readPlainYaml(text), undefined));
  }
});
