// The readiness corpus: small checkouts that reproduce patterns real repositories use (format in
// test/fixtures/corpus/README.md). Every case is checked offline, as `archshift check <path>` would
// check it with no registry: image findings are then `unknown` and are left out of the judgement
// unless a case lists them. The figures the issue is judged by are printed on every run:
// real blockers found/missed, false blockers, false change-level findings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { checkPath } from '../../src/readiness/check.ts';
import { verdictOf, type Finding } from '../../src/readiness/report.ts';

const root = fileURLToPath(new URL('../fixtures/corpus/', import.meta.url));

const expectation = z.object({ id: z.string().min(1), match: z.string().min(1).optional() }).strict();
const caseSchema = z
  .object({
    about: z.string().min(1),
    expect: z
      .object({
        blockers: z.array(expectation).default([]),
        changes: z.array(expectation).default([]),
        absent: z.array(expectation).default([]),
        notReady: z.boolean().default(false),
      })
      .strict(),
  })
  .strict();
type Expectation = z.infer<typeof expectation>;

/** A finding meets an expectation when the id is equal and `match` occurs in its package, title, evidence or fix. */
function meets(f: Finding, e: Expectation): boolean {
  if (f.id !== e.id) return false;
  if (!e.match) return true;
  const m = e.match.toLowerCase();
  return [f.title, f.fix, f.evidence.file, f.evidence.excerpt, f.evidence.image, f.autofix?.params.package].some((s) =>
    s?.toLowerCase().includes(m),
  );
}

/** Offline, an image's architectures are unknown: that says nothing about the case unless listed. */
const offlineImage = (f: Finding) => f.ecosystem === 'image' && f.severity === 'unknown';

interface Figures {
  cases: number;
  blockers: { expected: number; found: number };
  changes: { expected: number; found: number };
  falseBlockers: string[];
  falseChanges: string[];
  readyWhileBroken: string[];
}
const figures: Figures = {
  cases: 0,
  blockers: { expected: 0, found: 0 },
  changes: { expected: 0, found: 0 },
  falseBlockers: [],
  falseChanges: [],
  readyWhileBroken: [],
};

const names = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

test('the corpus has cases, each with an expected.yml', () => {
  assert.ok(names.length >= 1, `only ${names.length} cases`);
  for (const n of names) assert.ok(existsSync(join(root, n, 'expected.yml')), `${n}/expected.yml is missing`);
});

for (const name of names) {
  test(`corpus: ${name}`, async () => {
    const spec = caseSchema.parse(parseYaml(readFileSync(join(root, name, 'expected.yml'), 'utf8')));
    const report = await checkPath(join(root, name));
    const listed = [...spec.expect.blockers, ...spec.expect.changes, ...spec.expect.absent];
    const judged = report.findings.filter((f) => !offlineImage(f) || listed.some((e) => e.id === f.id));
    const brief = (f: Finding) => `${name}: ${f.severity} ${f.id} ${f.evidence.file ?? ''}:${f.evidence.line ?? ''} ${f.title}`;
    const problems: string[] = [];
    figures.cases++;
    for (const [kind, list, severity] of [
      ['blocker', spec.expect.blockers, 'blocker'],
      ['change', spec.expect.changes, 'change'],
    ] as const) {
      for (const e of list) {
        const bucket = kind === 'blocker' ? figures.blockers : figures.changes;
        bucket.expected++;
        if (judged.some((f) => f.severity === severity && meets(f, e))) bucket.found++;
        else problems.push(`missed ${kind} ${e.id}${e.match ? ` (${e.match})` : ''}`);
      }
    }
    for (const f of judged) {
      if (f.severity === 'blocker' && !spec.expect.blockers.some((e) => meets(f, e))) figures.falseBlockers.push(brief(f));
      if (f.severity === 'change' && !spec.expect.changes.some((e) => meets(f, e))) figures.falseChanges.push(brief(f));
    }
    for (const e of spec.expect.absent) {
      for (const f of judged.filter((f) => meets(f, e))) problems.push(`false alarm ${brief(f)}`);
    }
    const falseBlockers = judged.filter((f) => f.severity === 'blocker' && !spec.expect.blockers.some((e) => meets(f, e)));
    problems.push(...falseBlockers.map((f) => `false blocker ${brief(f)}`));
    // The verdict as it would be had every image answered linux/arm64.
    const verdict = verdictOf(judged);
    if (spec.expect.notReady && verdict === 'ready') {
      figures.readyWhileBroken.push(name);
      problems.push('verdict is ready although a real problem exists');
    }
    assert.deepEqual(problems, [], `findings were:\n${report.findings.map(brief).join('\n')}`);
  });
}

test('false change-level findings stay at most 1 per 10 cases', { concurrency: false }, () => {
  // Runs after the cases (node:test runs a file's top-level tests in order), so the figures are complete.
  const f = figures;
  const rows = [
    ['cases', String(f.cases)],
    ['real blockers found / missed', `${f.blockers.found} / ${f.blockers.expected - f.blockers.found}`],
    ['real changes found / missed', `${f.changes.found} / ${f.changes.expected - f.changes.found}`],
    ['false blockers', String(f.falseBlockers.length)],
    ['false change-level findings', `${f.falseChanges.length} (at most ${Math.floor(f.cases / 10)} allowed)`],
    ['ready while a real problem exists', String(f.readyWhileBroken.length)],
  ];
  const width = Math.max(...rows.map(([k]) => k!.length));
  console.log(
    ['readiness corpus', ...rows.map(([k, v]) => `  ${k!.padEnd(width)}  ${v}`), ...f.falseChanges.map((s) => `  false change: ${s}`)].join(
      '\n',
    ),
  );
  assert.ok(figures.falseChanges.length * 10 <= figures.cases, `false change-level findings:\n${figures.falseChanges.join('\n')}`);
});
