// The pruned JSON reader for large lockfiles: what it builds equals JSON.parse's value restricted to the
// kept fields, and it refuses exactly what JSON.parse refuses (with JSON.parse's own message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonFields } from '../../src/readiness/analysers/json-fields.ts';

const all = () => true;
const pruned = (text: string, keep: (p: readonly string[]) => boolean = all) => parseJsonFields(text, keep, 0);

test('keeping every field gives what JSON.parse gives', () => {
  const texts = [
    '{}',
    '[]',
    '"x"',
    '0',
    '-1.5e+3',
    'true',
    'null',
    ' \n\t{"a" : [1, 2, {"b": null}], "c": "d"}\r\n',
    '{"esc": "a\\"b\\\\", "u": "\\u00e9\\n", "empty": "", "nested": [[[]], {}], "n": [0, 10, 1.25, -0.5E-2]}',
    '{"__proto__": {"polluted": true}, "k": 1}',
    '{"dup": 1, "dup": 2}',
  ];
  for (const t of texts) assert.deepEqual(pruned(t), JSON.parse(t), t);
  assert.deepEqual(Object.keys(pruned('{"b": 1, "a": 2}') as object), ['b', 'a']);
  assert.equal(Object.getPrototypeOf(pruned('{"__proto__": {"x": 1}}')), Object.prototype);
});

test('only the kept fields are built, and the skipped ones are still checked', () => {
  const lock = JSON.stringify(
    {
      lockfileVersion: 3,
      packages: { '': { name: 'app' }, 'node_modules/sharp': { version: '0.29.3', integrity: 'sha512-x', engines: { node: '>=14' } } },
    },
    null,
    2,
  );
  const keep = (p: readonly string[]) => p[0] === 'packages' && (p.length <= 2 || p[2] === 'version');
  assert.deepEqual(pruned(lock, keep), { packages: { '': {}, 'node_modules/sharp': { version: '0.29.3' } } });
  assert.throws(() => pruned('{"skipped": {"a": 01}, "packages": {}}', keep), SyntaxError);
});

test("malformed JSON is refused with JSON.parse's message", () => {
  for (const t of [
    '',
    '{',
    '{"a": 1,}',
    '[1 2]',
    '{"a" 1}',
    '{"a": tru}',
    '"unterminated',
    '{"a": "\\x"}',
    '{"a": "line\nbreak"}',
    '{} extra',
    '{"a": 01}',
    '\uFEFF{}',
  ]) {
    let native: Error | undefined;
    try {
      JSON.parse(t);
    } catch (err) {
      native = err as Error;
    }
    assert.ok(native, t);
    assert.throws(() => pruned(t, () => false), { name: 'SyntaxError', message: native!.message }, JSON.stringify(t));
  }
});

test('deep nesting is read as JSON.parse reads it', () => {
  const deep = `${'['.repeat(2_000)}${']'.repeat(2_000)}`;
  assert.equal(JSON.stringify(pruned(deep)), deep);
});

test('a package-lock.json over the size threshold gives the findings a small one gives', async () => {
  const { analyseNode } = await import('../../src/readiness/analysers/node.ts');
  const { builtinKnowledge } = await import('../../src/readiness/knowledge/load.ts');
  const lock = (n: number) => {
    const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
    for (let i = 0; i < n; i++)
      packages[`node_modules/pkg-${i}`] = {
        version: '1.0.0',
        integrity: `sha512-${'x'.repeat(80)}`,
        resolved: `https://registry.npmjs.org/pkg-${i}/-/pkg-${i}-1.0.0.tgz`,
      };
    packages['node_modules/sharp'] = { version: '0.29.3', integrity: 'sha512-y' };
    return JSON.stringify({ name: 'app', lockfileVersion: 3, packages }, null, 2);
  };
  const brief = (text: string) =>
    analyseNode([{ path: 'package-lock.json', text }], builtinKnowledge()).map((f) => `${f.severity} ${f.id} ${f.evidence.line}`);
  const big = lock(6000);
  assert.ok(big.length > 1024 * 1024);
  const sharpLine = big.split('\n').findIndex((l) => l.includes('"node_modules/sharp"')) + 1;
  assert.deepEqual(brief(big), [`change node.sharp ${sharpLine}`]);
  assert.deepEqual(
    brief(lock(10)).map((s) => s.split(' ').slice(0, 2).join(' ')),
    ['change node.sharp'],
  );
  assert.deepEqual(brief(big.slice(0, -2)), ['warning file.unreadable undefined']); // malformed: JSON.parse's refusal
});

test('a big lockfile reduced as it is read counts and finds what JSON.parse gives, repeated keys included', async () => {
  const { nodeFileDeclarations } = await import('../../src/readiness/analysers/node.ts');
  const { builtinKnowledge } = await import('../../src/readiness/knowledge/load.ts');
  // A repeated `packages` object replaces the first; a repeated key keeps its place and takes the last value.
  const text = [
    '{"lockfileVersion": 3,',
    '"packages": {"node_modules/dropped": {"version": "1.0.0"}},',
    '"packages": {"": {"name": "app"},',
    '"node_modules/sharp": {"version": "0.29.3"},',
    '"node_modules/alias": {"version": "1.0.0"},',
    '"node_modules/left": {"version": "2.0.0"},',
    '"node_modules/alias": {"name": "bcrypt", "version": "5.0.0"},',
    '"node_modules/left": {"resolved": "no version"}}}',
  ].join('\n');
  const padded = text.replace('{', `{${' '.repeat(1024 * 1024)}`); // over the threshold: the pruned reader, same lines
  const brief = (t: string) => {
    const d = nodeFileDeclarations({ path: 'package-lock.json', text: t }, builtinKnowledge());
    return { count: d.count, decls: d.decls.map((x) => `${x.name}@${x.written}:${x.line}`), findings: d.findings.length };
  };
  assert.deepEqual(brief(text), { count: 2, decls: ['sharp@0.29.3:4', 'bcrypt@5.0.0:5'], findings: 0 });
  assert.deepEqual(brief(padded), brief(text));
});
