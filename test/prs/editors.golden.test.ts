// Golden tests for the PR editors over real-world-shaped files (comments, anchors, flow style, CRLF,
// multi-document, Helm values). Each case folder holds `input`, `params.json`, and `expected` (the
// exact output bytes) or, for cases named *-refused, `reason` (why the editor would not edit).
// UPDATE_GOLDEN=1 rewrites the expected files; review the diff before committing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { rewriteBaseImage } from '../../src/prs/editors/dockerfile.ts';
import { enableArm64Build } from '../../src/prs/editors/pipeline.ts';
import { addArm64Canary, addArm64HelmValues, addArm64Scheduling } from '../../src/prs/editors/workload.ts';
import { addClassifierTwin, bumpDependency } from '../../src/prs/editors/dependency-bump.ts';
import type { EditResult } from '../../src/prs/editors/text.ts';
import { unifiedDiff } from '../../src/prs/diff.ts';

const root = 'test/fixtures/edits';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const editors: Record<string, (src: string, p: any) => EditResult> = {
  dockerfile: rewriteBaseImage,
  pipeline: enableArm64Build,
  workload: addArm64Scheduling,
  helm: (src) => addArm64HelmValues(src),
  canary: addArm64Canary,
  deps: bumpDependency,
  'deps-twin': addClassifierTwin,
};

const cases = readdirSync(root).flatMap((kind) =>
  readdirSync(join(root, kind)).map((name) => ({ kind, name, dir: join(root, kind, name) })),
);

test('there are golden cases for every editor', () => {
  for (const kind of Object.keys(editors))
    assert.ok(
      cases.some((c) => c.kind === kind),
      kind,
    );
  assert.ok(cases.length >= 20);
});

for (const c of cases) {
  test(`${c.kind}/${c.name}`, () => {
    const input = readFileSync(join(c.dir, 'input'), 'utf8');
    const params = JSON.parse(readFileSync(join(c.dir, 'params.json'), 'utf8')) as Record<string, unknown>;
    const result = editors[c.kind](input, params);
    const update = process.env.UPDATE_GOLDEN === '1';
    if (c.name.endsWith('-refused')) {
      assert.equal(result.ok, false, 'the editor must refuse');
      const reason = (result as { reason: string }).reason;
      if (update) writeFileSync(join(c.dir, 'reason'), reason + '\n');
      assert.equal(reason, readFileSync(join(c.dir, 'reason'), 'utf8').trimEnd());
      return;
    }
    assert.ok(result.ok, result.ok ? '' : result.reason);
    if (update) writeFileSync(join(c.dir, 'expected'), result.text);
    assert.ok(existsSync(join(c.dir, 'expected')), 'expected file missing; run with UPDATE_GOLDEN=1 and review');
    assert.equal(result.text, readFileSync(join(c.dir, 'expected'), 'utf8'));
    // Minimal diff: at most the edited lines go; everything else stays byte-identical, CRLF included.
    const removed = unifiedDiff('f', input, result.text)
      .split('\n')
      .filter((l) => l.startsWith('-') && !l.startsWith('---'));
    assert.ok(removed.length <= 2, `removed ${removed.length} lines:\n${removed.join('\n')}`);
    if (input.includes('\r\n')) assert.doesNotMatch(result.text.replace(/\r\n/g, ''), /\n/, 'CRLF file gained a bare LF');
    // Idempotent: running again changes nothing, so a re-run opens no empty PR.
    const again = editors[c.kind](result.text, params);
    assert.ok(again.ok && !again.changed, 'a second run must change nothing');
    if (!['dockerfile', 'deps', 'deps-twin'].includes(c.kind))
      for (const d of parseAllDocuments(result.text) as unknown as Array<{ errors: unknown[] }>) assert.deepEqual(d.errors, []);
  });
}
