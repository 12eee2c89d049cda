import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { builtinKnowledge, KnowledgeError, loadKnowledgeBase } from '../../src/readiness/knowledge/load.ts';
import { analyseSystemImages } from '../../src/readiness/analysers/system.ts';
import { analysePython } from '../../src/readiness/analysers/python.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'archshift-kb-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('built-in knowledge loads, with every ecosystem and normalised Python names', () => {
  const kb = builtinKnowledge();
  for (const e of ['jvm', 'python', 'node', 'go', 'system'] as const) assert.ok(kb.entries(e).length > 0, e);
  assert.equal(kb.lookup('python', 'Zope.Interface')?.package, 'zope.interface');
  assert.equal(kb.lookup('system', 'docker.io/istio/proxyv2')?.package, 'istio-proxy');
});

test('an operator file overrides a built-in entry and adds new ones', async () => {
  const file = path.join(dir, 'extra.yml');
  await writeFile(
    file,
    [
      'version: 1',
      'ecosystem: python',
      'entries:',
      '  - package: numpy',
      '    fixedIn: "1.22.0"',
      '    impact: fails',
      '    breaks: "our own build needs 1.22"',
      '    source: https://example.com/numpy',
      '  - package: in-house-native',
      '    impact: fails',
      '    breaks: "x86 only"',
      '    source: https://example.com/in-house',
    ].join('\n'),
  );
  const kb = await loadKnowledgeBase([file]);
  const findings = analysePython([{ path: 'requirements.txt', text: 'numpy==1.21.0\nin-house-native==2.0\n' }], kb);
  assert.deepEqual(
    findings.map((f) => [f.id, f.severity, f.evidence.line]),
    [
      ['python.numpy', 'change', 1],
      ['python.in-house-native', 'blocker', 2],
    ],
  );
  assert.equal(findings[0]!.autofix?.params.to, '1.22.0');
  // The built-in knowledge is untouched for everyone else.
  assert.equal(analysePython([{ path: 'r.txt', text: 'numpy==1.21.0\n' }], builtinKnowledge())[0]!.id, 'python.scanned');
});

test('a bad knowledge file is an error naming the file and the entry', async () => {
  const file = path.join(dir, 'bad.yml');
  await writeFile(
    file,
    'version: 1\necosystem: node\nentries:\n  - package: ok\n    impact: fails\n    breaks: x\n    source: https://e.com\n  - package: broken\n    fixedIn: 1.10\n    impact: fails\n    breaks: x\n    source: https://e.com\n',
  );
  await assert.rejects(loadKnowledgeBase([file]), (err: Error) => {
    assert.ok(err instanceof KnowledgeError);
    assert.match(err.message, /bad\.yml, entry 2 \(broken\): fixedIn/);
    return true;
  });
  await writeFile(file, 'version: 2\necosystem: node\nentries: []\n');
  await assert.rejects(loadKnowledgeBase([file]), /bad\.yml: version/);
  await assert.rejects(loadKnowledgeBase([path.join(dir, 'missing.yml')]), /missing\.yml: cannot read it: ENOENT/);
});

test('live images (from the cluster) are judged by name and tag; floating tags are a warning', () => {
  const kb = builtinKnowledge();
  const findings = analyseSystemImages(
    [
      { image: 'fluent/fluent-bit:1.7', evidence: { file: 'cluster:prod/logging/daemonset/fluent-bit' } },
      { image: 'fluent/fluent-bit:1.6', evidence: {} },
      { image: 'gcr.io/istio-release/proxyv2:1.14.6-distroless', evidence: {} },
      { image: 'istio/proxyv2:1.15.0', evidence: {} },
      { image: 'flink:latest', evidence: {} },
      { image: 'apache/flink:1.14.3-scala_2.12', evidence: {} },
      { image: 'not a reference', evidence: {} },
    ],
    kb,
  );
  assert.deepEqual(
    findings.map((f) => [f.id, f.severity, f.evidence.image]),
    [
      ['system.fluent-bit', 'warning', 'fluent/fluent-bit:1.7'],
      ['system.fluent-bit', 'change', 'fluent/fluent-bit:1.6'],
      ['system.istio', 'change', 'gcr.io/istio-release/proxyv2:1.14.6-distroless'],
    ],
  );
  assert.equal(findings[0]!.evidence.file, 'cluster:prod/logging/daemonset/fluent-bit');
});
