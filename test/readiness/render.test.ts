import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, type Finding } from '../../src/readiness/report.ts';
import { FOLD_AFTER, MAX_BLOCKS, MAX_SECTION_TEXT, renderReportBlocks } from '../../src/render/report-blocks.ts';
import { reportToJson, renderReportJson } from '../../src/render/report-json.ts';
import { renderReportText } from '../../src/render/report-text.ts';

const now = new Date('2026-01-05T10:00:00Z');
const bump: Finding = {
  id: 'image.arm64-tag-available',
  severity: 'change',
  ecosystem: 'image',
  title: 'Base image of stage build node:14 is amd64-only; node:16 publishes linux/arm64',
  evidence: { file: 'Dockerfile', line: 3 },
  fix: 'Use node:16.',
  autofix: { kind: 'base', params: { file: 'Dockerfile', line: '3', from: 'node:14', to: 'node:16' } },
};
const jvm: Finding = {
  id: 'jvm.netty-epoll',
  severity: 'blocker',
  ecosystem: 'jvm',
  title: 'netty <x86_64 only> & friends',
  evidence: { file: 'pom.xml', line: 40 },
};
const info: Finding = {
  id: 'image.arm64',
  severity: 'info',
  ecosystem: 'image',
  title: 'alpine:3.19 publishes linux/arm64',
  evidence: { image: 'alpine:3.19', digest: `sha256:${'b'.repeat(64)}` },
};

describe('report renderers', () => {
  test('Block Kit opens with the verdict, what to do and the Open PRs button, then findings grouped by what fixes them', () => {
    const msg = renderReportBlocks(buildReport('api', [info, bump, jvm], now));
    const blocks = msg.blocks as Array<{ type: string; text?: { text: string }; elements?: Array<Record<string, unknown>> }>;
    assert.deepEqual(
      blocks.slice(0, 4).map((b) => b.type),
      ['header', 'context', 'section', 'actions'],
    );
    assert.equal(blocks[0]!.text!.text, 'api: Blocked: cannot run on arm64 until the blockers are fixed by hand');
    assert.match(
      String(blocks[1]!.elements![0]!.text),
      /checked <!date\^1767607200\^\{date_short_pretty\} \{time\}\|2026-01-05T10:00:00.000Z>/,
    );
    assert.equal(
      blocks[2]!.text!.text,
      '*What to do*\n• *To fix by hand* (1 blocker): netty &lt;x86_64 only&gt; &amp; friends\n• *Base images* (1 change) · :robot_face: archshift can open a PR',
    );
    const button = blocks[3]!.elements![0]!;
    assert.deepEqual([button.action_id, button.value], ['open_prs', 'api']);
    const sections = blocks
      .slice(4)
      .filter((b) => b.type === 'section')
      .map((b) => b.text!.text);
    assert.deepEqual(
      sections.map((s) => s.split('\n')[0]),
      ['*To fix by hand* (1 blocker)', '*Base images* (1 change) · :robot_face: archshift can open a PR', '*Checked and fine* (1 info)'],
    );
    assert.match(sections[0]!, /`pom.xml:40`/);
    assert.equal(
      JSON.stringify(blocks).match(/archshift can open a PR/g)!.length,
      2,
      'the PR note once per group (and in what to do), never per finding',
    );
    assert.equal(msg.overflow, undefined);
    assert.match(msg.text, /^api: Blocked/);
  });

  test('no autofix, no button; ready says so and has nothing to do', () => {
    const msg = renderReportBlocks(buildReport('api', [info], now));
    const blocks = msg.blocks as Array<{ type: string; text?: { text: string } }>;
    assert.ok(!blocks.some((b) => b.type === 'actions'));
    assert.ok(!blocks.some((b) => b.text?.text.startsWith('*What to do*')));
    assert.match(msg.text, /Ready for arm64/);
  });

  test('a long report is folded to counts per group, within Slack limits, with the full report for the thread', () => {
    const many: Finding[] = Array.from({ length: 400 }, (_, i) => ({
      ...bump,
      id: `x.${i}`,
      ecosystem: (['image', 'dockerfile', 'jvm', 'python', 'node', 'go', 'native', 'system'] as const)[i % 8]!,
      title: `finding ${i} ${'long words '.repeat(60)}`,
      ...(i % 2 ? { autofix: undefined, severity: 'blocker' as const } : {}),
    }));
    const msg = renderReportBlocks(buildReport('big', many, now));
    const blocks = msg.blocks as Array<{ type: string; text?: { text: string }; elements?: Array<{ text?: string }> }>;
    assert.ok(blocks.length <= MAX_BLOCKS, `${blocks.length} blocks`);
    for (const b of blocks) if (b.text) assert.ok(b.text.text.length <= MAX_SECTION_TEXT);
    assert.equal(blocks[3]!.type, 'actions', 'the button stays at the top');
    assert.equal(
      blocks.at(-2)!.text!.text,
      '• *To fix by hand* (200 blockers)\n• *Base images* (200 changes) · :robot_face: archshift can open a PR',
    );
    assert.equal(blocks.at(-1)!.elements![0]!.text, '400 findings, folded: the full report is in the thread.');
    assert.doesNotMatch(JSON.stringify(blocks), /finding 399/);
    assert.ok(msg.overflow!.includes('finding 399'));
  });

  test(`more than ${FOLD_AFTER} findings to act on fold even when they would fit`, () => {
    const nine = Array.from({ length: FOLD_AFTER + 1 }, (_, i) => ({ ...bump, id: `x.${i}`, title: `bump ${i}` }));
    assert.ok(renderReportBlocks(buildReport('api', nine, now)).overflow);
    assert.equal(renderReportBlocks(buildReport('api', nine.slice(1), now)).overflow, undefined);
  });

  test('terminal text: verdict first, grouped, evidence, fix and PR note', () => {
    const text = renderReportText(buildReport('api', [info, bump], now));
    const lines = text.split('\n');
    assert.equal(lines[0], 'api: NEEDS-CHANGES - Needs changes before it can run on arm64');
    assert.ok(lines.includes('Images'));
    assert.ok(text.includes('at Dockerfile:3'));
    assert.ok(text.includes(`at alpine:3.19@sha256:bbbbbbbbbbbb…`));
    assert.ok(text.includes('fix: Use node:16.'));
    assert.ok(text.includes('archshift can open a PR for this (base)'));
  });

  test('JSON: the stable shape for scripts', () => {
    const report = buildReport('api', [bump, info], now);
    const json = JSON.parse(renderReportJson(report));
    assert.deepEqual(json, reportToJson(report));
    assert.equal(json.verdict, 'needs-changes');
    assert.deepEqual(Object.keys(json.findings[0]).sort(), ['autofix', 'ecosystem', 'evidence', 'fix', 'id', 'severity', 'title']);
    assert.deepEqual(json.findings[0].evidence, { file: 'Dockerfile', line: 3 });
    assert.equal(json.findings[1].fix, null);
    assert.equal(json.findings[1].autofix, null);
    assert.equal(json.findings[1].evidence.image, 'alpine:3.19');
  });
});
