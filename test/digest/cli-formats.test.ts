// The digest without Slack: `archshift digest --chart FILE.png`, `--format markdown|html`, and the
// burn-down's x-axis by calendar date (a day without data is an empty slot and breaks the line).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDigestCommand } from '../../src/cli/digest.ts';
import { cliCommand } from '../../src/cli/index.ts';
import { renderBurndownSvg } from '../../src/digest/chart.ts';
import type { HistoryPoint } from '../../src/digest/history.ts';
import type { Deps } from '../../src/deps.ts';
import { parseArgs, UsageError } from '../../src/args.ts';
import { startHarness, type Harness } from './setup.ts';

const point = (day: string, left: number): HistoryPoint => ({
  day,
  workloads: { total: 10, arm64: 10 - left, mixed: 0, ready: left, blocked: 0, unknown: 0 },
  pods: { total: 10, arm64: 10 - left },
  cpuMillis: { total: 1000, arm64: (10 - left) * 100 },
});

test('the chart is by date: a missing day keeps its slot and splits the line', () => {
  const svg = renderBurndownSvg([point('2026-11-20', 8), point('2026-11-21', 7), point('2026-11-24', 5), point('2026-11-25', 4)], {
    title: 't',
  });
  const bars = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill="#e8912d"\/>/g)]
    .map((m) => Number(m[1]))
    .slice(0, -1); // the last is the legend's swatch
  assert.equal(bars.length, 4);
  const step = bars[1]! - bars[0]!;
  assert.ok(Math.abs(bars[2]! - bars[1]! - 3 * step) < 0.5, 'two empty days between the 21st and the 24th');
  assert.equal(svg.match(/<polyline /g)?.length, 2, 'the line does not bridge the gap');
});

describe('archshift digest --chart / --format', () => {
  let h: Harness;
  let deps: Deps;
  let dir: string;
  before(async () => {
    h = await startHarness([{ name: 'prod-eu' }]);
    deps = (await h.deps()) as unknown as Deps;
    dir = await mkdtemp(join(tmpdir(), 'archshift-digest-cli-'));
  });
  after(async () => {
    await h?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runDigestCommand(
      parseArgs(argv, cliCommand('digest')!.booleanOptions),
      { out: (t) => out.push(t), err: (t) => out.push(t) },
      async () => deps,
    );
    return { code, out: out.join('\n') };
  };

  test('--chart writes a PNG; markdown and html carry the whole digest', async () => {
    const file = join(dir, 'burndown.png');
    const chart = await run('--chart', file);
    assert.equal(chart.code, 0);
    assert.equal(chart.out, '', 'only the file is written');
    assert.deepEqual([...(await readFile(file)).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const md = (await run('--format', 'markdown')).out;
    assert.match(md, /^# arm64 migration digest, \d{4}-\d\d-\d\d\n/);
    assert.ok(!md.includes('*') || md.includes('**'), 'markdown emphasis, not Slack mrkdwn');
    const html = (await run('--format', 'html')).out;
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<img alt="burn-down chart" src="data:image\/png;base64,/);
    assert.match(html, /default-src 'none'/);
    await assert.rejects(run('--format', 'pdf'), UsageError);
    await assert.rejects(run(), UsageError);
  });
});
