// The node preflight for a terminal (`archshift nodes`) and, with `slack`, for a Slack message: one section
// per cluster, verdict first, then what to fix, then where arm64 capacity comes from.
import type { ClusterPreflight, NodesReport } from '../nodes/model.ts';
import { escapeMrkdwn } from './report-blocks.ts';
import { capacityLines, daemonSetLine, issueLine, taintLine, verdictWords } from './nodes-words.ts';

type Style = 'terminal' | 'slack';

function clusterText(c: ClusterPreflight, style: Style): string[] {
  const esc = style === 'slack' ? escapeMrkdwn : (s: string) => s;
  const head = style === 'slack' ? `*${esc(c.cluster)}*: ${esc(verdictWords[c.verdict])}` : `${c.cluster}: ${verdictWords[c.verdict]}`;
  const lines = [head, esc(taintLine(c))];
  const blockers = c.daemonSets.filter((d) => d.problems.length);
  const sidecars = c.sidecars.filter((s) => s.status !== 'arm64');
  if (c.issues.length) lines.push('To fix:', ...c.issues.map((i) => `  • ${esc(issueLine(i))}`));
  if (blockers.length || sidecars.length) {
    lines.push('DaemonSets and sidecars first (they must run on arm64 nodes before any application moves):');
    lines.push(...blockers.map((d) => `  • ${esc(daemonSetLine(d))}`));
    lines.push(
      ...sidecars.map(
        (s) =>
          `  • sidecar ${esc(s.container)} ${esc(s.image)}: ${s.status === 'amd64-only' ? 'no linux/arm64' : `not checked (${esc(s.reason ?? 'unknown')})`} in ${s.pods} pod(s)`,
      ),
    );
  }
  const covered = c.daemonSets.length - blockers.length;
  if (covered) lines.push(`${covered} DaemonSet(s) run on arm64 nodes as they should.`);
  lines.push(...capacityLines(c).map(esc));
  return lines;
}

export function renderNodes(report: NodesReport, style: Style): string {
  return report.clusters.map((c) => clusterText(c, style).join('\n')).join('\n\n');
}
