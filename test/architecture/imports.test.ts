// The layering the README's layout section promises, checked on the source itself: no import cycles
// (type-only imports included: they are still a dependency a reader must follow), use cases that never
// reach the Slack surface, the Slack adapter or the renderers, Slack mentions only where Slack is spoken,
// and the Deps bag seen only by the composition roots and the two surfaces' type modules (each use case
// declares what it needs), never assigned into after it is built.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const files = [...sources('src'), ...sources('commands')];
const text = new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')]));

/** Relative imports of a file (static, `export … from` and dynamic), as repository paths. */
function importsOf(file: string): string[] {
  const out = new Set<string>();
  for (const m of text.get(file)!.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    out.add(relative(root, resolve(root, dirname(file), m[1])));
  }
  return [...out];
}

const graph = new Map(files.map((f) => [f, importsOf(f).filter((i) => text.has(i))]));

/** Strongly connected components with more than one file (or a file importing itself): Tarjan's algorithm. */
function cycles(): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v)!) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)!.includes(v)) found.push(scc.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  return found;
}

describe('architecture: imports', () => {
  test('the source has no import cycles', () => {
    assert.deepEqual(cycles(), []);
  });

  test('the canary and digest use cases import neither the renderers nor the Slack adapter nor the Slack surface', () => {
    const offending = files
      .filter((f) => f.startsWith('src/canary/') || f.startsWith('src/digest/'))
      .flatMap((f) =>
        graph
          .get(f)!
          .filter((i) => i.startsWith('src/render/') || i === 'src/adapters/slack.ts' || i.startsWith('commands/'))
          .map((i) => `${f} → ${i}`),
      );
    assert.deepEqual(offending, []);
  });

  test('below commands/, only the composition root imports the Slack adapter', () => {
    const offending = files.filter(
      (f) => f.startsWith('src/') && f !== 'src/app.ts' && f !== 'src/adapters/slack.ts' && graph.get(f)!.includes('src/adapters/slack.ts'),
    );
    assert.deepEqual(offending, []);
  });

  test('Slack mentions are written only by the Slack surface and the people renderer', () => {
    const offending = files.filter(
      (f) => !f.startsWith('commands/') && f !== 'src/render/people.ts' && /<@/.test(text.get(f)!.replace(/^\s*(\/\/|\*).*$/gm, '')),
    );
    assert.deepEqual(offending, []);
  });

  test("only the composition roots and the surfaces' type modules import the Deps bag", () => {
    const allowed = new Set(['src/app.ts', 'src/build-deps.ts', 'src/cli.ts', 'src/cli/types.ts', 'commands/types.ts']);
    const offending = files.filter((f) => !allowed.has(f) && graph.get(f)!.includes('src/deps.ts'));
    assert.deepEqual(offending, []);
  });

  test('nothing assigns into a built dependency bag (a config reload swaps the settings holder instead)', () => {
    const offending = files.filter((f) => /\bdeps\??\.\w+\s*(\?\?|\|\||&&)?=(?!=)/.test(text.get(f)!.replace(/^\s*(\/\/|\*).*$/gm, '')));
    assert.deepEqual(offending, []);
  });

  test('the terminal surface imports neither the Slack surface, the Slack adapter nor a Block Kit renderer', () => {
    const slackOnly = new Set([
      'src/adapters/slack.ts',
      'src/render/report-blocks.ts',
      'src/render/digest-blocks.ts',
      'src/render/guard-slack.ts',
      'src/render/pr-buttons.ts',
    ]);
    const offending = files
      .filter((f) => f === 'src/cli.ts' || f.startsWith('src/cli/'))
      .flatMap((f) =>
        graph
          .get(f)!
          .filter((i) => slackOnly.has(i) || i.startsWith('commands/'))
          .map((i) => `${f} → ${i}`),
      );
    assert.deepEqual(offending, []);
  });
});
