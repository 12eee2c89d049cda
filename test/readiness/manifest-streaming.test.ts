// A large manifest is parsed a few documents at a time, and each image's lookup starts as soon as its
// document is read (the registry works while the rest is parsed); every reference is still looked up once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYaml, parseYamlStreamed } from '../../src/readiness/analysers/yaml-docs.ts';
import { checkPath } from '../../src/readiness/check.ts';
import type { ImageInspector, ImageResult } from '../../src/images/types.ts';

const deployment = (i: number, image: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ${image}\n`;
const manifest = (n: number, image: (i: number) => string) => Array.from({ length: n }, (_, i) => deployment(i, image(i))).join('---\n');

test('parseYamlStreamed reads what parseYaml reads, handing out documents while the event loop keeps turning', async () => {
  const text = manifest(120, (i) => `registry.invalid/team/app-${i % 7}:1.${i}`);
  let turned = false;
  let seenBeforeTurn = 0;
  setImmediate(() => (turned = true));
  const streamed = await parseYamlStreamed(text, () => {
    if (!turned) seenBeforeTurn++;
  });
  assert.ok(turned && seenBeforeTurn > 0 && seenBeforeTurn < 120, `the loop turned after ${seenBeforeTurn} of 120 documents`);
  const whole = parseYaml(text);
  assert.deepEqual(
    streamed.docs.map((d) => d.toJS()),
    whole.docs.map((d) => d.toJS()),
  );
  const lines = (f: typeof whole) => f.docs.map((d) => f.lineOf(d.contents as never));
  assert.deepEqual(lines(streamed), lines(whole));
});

test('a document that does not parse stops the stream with the same error parseYaml gives', async () => {
  const text = `${manifest(30, () => 'registry.invalid/a:1')}---\nkind: Deployment\nspec: [\n`;
  let handed = 0;
  const streamed = await parseYamlStreamed(text, () => handed++);
  assert.equal(handed, 30);
  assert.deepEqual(streamed.error, parseYaml(text).error);
  assert.ok(streamed.error);
});

test('checkPath looks each valid reference up once: the lookups started while parsing are the ones judged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'archshift-stream-'));
  try {
    await mkdir(join(dir, 'deploy'));
    await writeFile(
      join(dir, 'deploy', 'apps.yaml'),
      manifest(200, (i) => (i === 5 ? 'not a valid reference!' : `registry.invalid/team/app-${i % 40}:1.0`)),
    );
    const calls = new Map<string, number>();
    const inspector: ImageInspector = {
      async inspect(reference): Promise<ImageResult> {
        calls.set(reference, (calls.get(reference) ?? 0) + 1);
        return { reference, normalized: reference, status: 'multi-arch-with-arm64', platforms: [{ os: 'linux', architecture: 'arm64' }] };
      },
    };
    const report = await checkPath(dir, { inspector });
    assert.equal(calls.size, 40, 'every valid reference, and not the invalid one');
    assert.ok(
      [...calls.values()].every((n) => n === 1),
      'one lookup per reference',
    );
    assert.ok(report.findings.some((f) => f.id === 'image.invalid-reference'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
