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

test('a lockfile read in chunks of any size gives what its whole text gives', async () => {
  const { nodeFileDeclarations, npmLockFileDeclarations } = await import('../../src/readiness/analysers/node.ts');
  const { builtinKnowledge } = await import('../../src/readiness/knowledge/load.ts');
  const kb = builtinKnowledge();
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
  for (let i = 0; i < 300; i++)
    packages[`node_modules/pkg-${i}`] = { version: `1.${i}.0`, integrity: `sha512-${'q'.repeat(40)}`, dev: true };
  packages['node_modules/sharp'] = { version: '0.29.3', engines: { node: '>=14' }, n: [1, -2.5e3, null] };
  packages['node_modules/al\u00e9\\"x'] = { name: 'bcrypt', version: '5.0.0' };
  const v3 = JSON.stringify({ name: 'app', lockfileVersion: 3, packages }, null, 2);
  const v1 = JSON.stringify(
    { lockfileVersion: 1, dependencies: { sharp: { version: '0.29.3', dependencies: { bcrypt: { version: '5.0.0' } } } } },
    null,
    2,
  );
  const texts = [
    v3,
    v3.replace(/\n/g, '\r\n'),
    v3.replace(/\n\s*/g, ''), // minified: one line
    v1,
    '{"packages": {"node_modules/sharp": {"version": "0.29.3"}}}  x', // trailing garbage
    v3.slice(0, -3), // cut short
    '[]',
    '',
  ];
  const brief = (d: {
    count: number;
    decls: { name: string; written: string; line: number; excerpt?: string }[];
    findings: { title: string }[];
  }) => ({
    count: d.count,
    decls: d.decls.map((x) => `${x.name}@${x.written}:${x.line}:${x.excerpt}`),
    findings: d.findings.map((x) => x.title),
  });
  for (const text of texts) {
    const whole = brief(nodeFileDeclarations({ path: 'package-lock.json', text }, kb));
    for (const size of [1, 7, 64, 1000, 1 << 20]) {
      const chunks = function* () {
        for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
      };
      assert.deepEqual(
        brief(npmLockFileDeclarations({ path: 'package-lock.json', chunks }, kb)),
        whole,
        `${JSON.stringify(text.slice(0, 40))} in chunks of ${size}`,
      );
    }
  }
});

test('the scan of a checkout reads a big package-lock.json in chunks with the findings of its whole text, and refuses a binary one', async () => {
  const { mkdtemp, mkdir, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { scanCheckout } = await import('../../src/readiness/scan.ts');
  const { analyseNode } = await import('../../src/readiness/analysers/node.ts');
  const { builtinKnowledge } = await import('../../src/readiness/knowledge/load.ts');
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
  for (let i = 0; i < 8000; i++) packages[`node_modules/pkg-${i}`] = { version: '1.0.0', integrity: `sha512-${'x'.repeat(86)}==` };
  packages['node_modules/sharp'] = { version: '0.29.3', description: 'caf\u00e9 \u{1F600}'.repeat(5000) }; // multibyte across chunks
  const text = JSON.stringify({ name: 'app', lockfileVersion: 3, packages }, null, 2);
  assert.ok(Buffer.byteLength(text) > 1024 * 1024);
  const dir = await mkdtemp(join(tmpdir(), 'archshift-lock-'));
  try {
    await mkdir(join(dir, 'binary'));
    await writeFile(join(dir, 'package-lock.json'), text);
    await writeFile(
      join(dir, 'binary', 'package-lock.json'),
      Buffer.concat([Buffer.from('{"a":"\0'), Buffer.alloc(2 * 1024 * 1024, 0x20), Buffer.from('"}')]),
    );
    const brief = (f: { id: string; severity: string; evidence: { file?: string; line?: number; excerpt?: string }; title: string }) =>
      `${f.id} ${f.severity} ${f.evidence.file}:${f.evidence.line} ${f.evidence.excerpt ?? ''} ${f.title}`;
    const found = (await scanCheckout(dir)).map(brief);
    const expected = analyseNode([{ path: 'package-lock.json', text }], builtinKnowledge())
      .filter((f) => f.id === 'node.sharp')
      .map(brief);
    assert.equal(expected.length, 1);
    assert.ok(found.includes(expected[0]!), found.join('\n'));
    assert.ok(
      found.some((f) => f.startsWith('file.unreadable unknown binary/package-lock.json') && f.includes('binary content')),
      found.join('\n'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
