import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, type Finding } from '../../src/readiness/report.ts';
import { MAX_BLOCKS, MAX_SECTION_TEXT, renderReportBlocks } from '../../src/render/report-blocks.ts';
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
const jvm: Finding = { id: 'jvm.netty-epoll', severity: 'blocker', ecosystem: 'jvm', title: 'netty <x86_64 only> & friends', evidence: { file: 'pom.xml', line: 40 } };
const info: Finding = { id: 'image.arm64', severity: 'info', ecosystem: 'image', title: 'alpine:3.19 publishes linux/arm64', evidence: { image: 'alpine:3.19', digest: `sha256:${'b'.repeat(64)}` } };

describe('report renderers', () => {
  test('Block Kit: verdict headline, groups by ecosystem (most severe first), escaped text, Open PRs button', () => {
    const msg = renderReportBlocks(buildReport('api', [info, bump, jvm], now));
    const blocks = msg.blocks as Array<{ type: string; text?: { text: string }; elements?: Array<Record<string, unknown>> }>;
    assert.equal(blocks[0]!.type, 'header');
    assert.equal(blocks[0]!.text!.text, 'api: Blocked: cannot run on arm64 until the blockers are fixed by hand');
    const sections = blocks.filter((b) => b.type === 'section').map((b) => b.text!.text);
    assert.deepEqual(sections.map((s) => s.split('\n')[0]), ['*JVM*', '*Images*']);
    assert.match(sections[0]!, /netty &lt;x86_64 only&gt; &amp; friends/);
    assert.match(sections[0]!, /`pom.xml:40`/);
    const button = blocks.at(-1)!.elements![0]!;
    assert.deepEqual([button.action_id, button.value], ['open_prs', 'api']);
    assert.equal(msg.overflow, undefined);
    assert.match(msg.text, /^api: Blocked/);
  });

  test('no autofix, no button; ready says so', () => {
    const msg = renderReportBlocks(buildReport('api', [info], now));
    assert.ok(!(msg.blocks as Array<{ type: string }>).some((b) => b.type === 'actions'));
    assert.match(msg.text, /Ready for arm64/);
  });

  test('Block Kit stays within Slack limits and hands the rest to the thread', () => {
    const many: Finding[] = Array.from({ length: 400 }, (_, i) => ({
      ...bump,
      id: `x.${i}`,
      ecosystem: (['image', 'dockerfile', 'jvm', 'python', 'node', 'go', 'native', 'system'] as const)[i % 8]!,
      title: `finding ${i} ${'long words '.repeat(60)}`,
    }));
    const msg = renderReportBlocks(buildReport('big', many, now));
    const blocks = msg.blocks as Array<{ type: string; text?: { text: string }; elements?: Array<{ text?: string }> }>;
    assert.ok(blocks.length <= MAX_BLOCKS, `${blocks.length} blocks`);
    for (const b of blocks) if (b.text) assert.ok(b.text.text.length <= MAX_SECTION_TEXT);
    assert.equal(blocks.at(-1)!.type, 'actions', 'the button survives the cut');
    const note = blocks.at(-2)!.elements![0]!.text!;
    const hidden = Number(/^(\d+) more findings/.exec(note)![1]);
    const shown = blocks.filter((b) => b.type === 'section').reduce((n, b) => n + (b.text!.text.match(/:wrench:/g) ?? []).length, 0);
    assert.equal(shown + hidden, 400);
    assert.ok(msg.overflow!.includes('finding 399'));
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
