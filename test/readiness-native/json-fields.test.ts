// The pruned JSON reader for large lockfiles: what it builds equals JSON.parse's value restricted to the
// kept fields, and it refuses exactly what JSON.parse refuses (with JSON.parse's own message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonFields } from '../../src/readiness/analysers/json-fields.ts';

const all = () => true;
const pruned = (text: string, keep: (p: readonly string[]) => boolean = all) => parseJsonFields(text, keep, 0);

test('keeping every field gives what JSON.parse gives', () => {
  const texts = [
    '{}', '[]', '"x"', '0', '-1.5e+3', 'true', 'null', ' \n\t{"a" : [1, 2, {"b": null}], "c": "d"}\r\n',
    '{"esc": "a\\"b\\\\", "u": "\\u00e9\\n", "empty": "", "nested": [[[]], {}], "n": [0, 10, 1.25, -0.5E-2]}',
    '{"__proto__": {"polluted": true}, "k": 1}',
    '{"dup": 1, "dup": 2}',
  ];
  for (const t of texts) assert.deepEqual(pruned(t), JSON.parse(t), t);
  assert.deepEqual(Object.keys(pruned('{"b": 1, "a": 2}') as object), ['b', 'a']);
  assert.equal(Object.getPrototypeOf(pruned('{"__proto__": {"x": 1}}')), Object.prototype);
});

test('only the kept fields are built, and the skipped ones are still checked', () => {
  const lock = JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'app' }, 'node_modules/sharp': { version: '0.29.3', integrity: 'sha512-x', engines: { node: '>=14' } } } }, null, 2);
  const keep = (p: readonly string[]) => p[0] === 'packages' && (p.length <= 2 || p[2] === 'version');
  assert.deepEqual(pruned(lock, keep), { packages: { '': {}, 'node_modules/sharp': { version: '0.29.3' } } });
  assert.throws(() => pruned('{"skipped": {"a": 01}, "packages": {}}', keep), SyntaxError);
});

test('malformed JSON is refused with JSON.parse\'s message', () => {
  for (const t of ['', '{', '{"a": 1,}', '[1 2]', '{"a" 1}', '{"a": tru}', '"unterminated', '{"a": "\\x"}', '{"a": "line\nbreak"}', '{} extra', '{"a": 01}', '\uFEFF{}']) {
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
