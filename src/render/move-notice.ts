// Slack's words for a problem found after a move: what the pods show, in the scheduler's or runtime's own
// words, and the fix (the `nodes` report, the Auto Scaling group tag, the image to build for arm64).
import type { MoveWatch } from '../nodes/move-watch.ts';
import { verdictWords } from './nodes-words.ts';

/** Slack escapes: &, < and > only. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function moveWords(w: MoveWatch): string {
  const t = w.trigger;
  return t.kind === 'canary-started'
    ? `its canary started (\`${esc(w.target.deployment)}\`)`
    : `its selectors PR <${t.url}|${esc(t.repo)}#${t.number}> merged`;
}

function fixWords(w: MoveWatch, p: NonNullable<MoveWatch['problem']>): string[] {
  const svc = w.target.service;
  const nodesCmd = `\`/arm64 nodes${w.target.cluster ? ` ${w.target.cluster}` : ''}\``;
  const image = p.image ? `\`${esc(p.image)}\`` : 'the image';
  const back =
    w.trigger.kind === 'canary-started'
      ? ` Meanwhile \`/arm64 canary ${svc} rollback\` sends the traffic back to amd64.`
      : ' Meanwhile revert the selectors PR to put the pods back on amd64.';
  switch (p.kind) {
    case 'unschedulable':
    case 'no-scale-up': {
      const lines: string[] = [];
      for (const g of p.nodes?.cannotScaleFromZero ?? [])
        lines.push(
          `Tag the Auto Scaling group \`${esc(g.group)}\` with \`${g.missingTag}=arm64\`: without it cluster-autoscaler cannot scale it up from zero for arm64 pods.`,
        );
      if (p.nodes) lines.push(`${nodesCmd} says ${esc(verdictWords[p.nodes.verdict])}.`);
      else
        lines.push(
          `${nodesCmd} shows where arm64 capacity should come from (nodes, Karpenter NodePools, node groups and their tags) and which taint the pods must tolerate.`,
        );
      if (!p.nodes?.cannotScaleFromZero.length && p.kind === 'no-scale-up')
        lines.push(
          'An arm64 node group at 0 nodes needs the tag `k8s.io/cluster-autoscaler/node-template/label/kubernetes.io/arch=arm64`.',
        );
      return lines;
    }
    case 'exec-format-error':
      return [
        `${image} runs an amd64 binary on arm64: build it for linux/arm64 (\`/arm64 pr ${svc} pipeline\` sets \`mustBuildARM64: true\`), and \`/arm64 check ${svc}\` shows what else the image needs.${back}`,
      ];
    case 'image-platform-missing':
      return [
        `${image} has no linux/arm64 manifest: publish it for arm64 before moving (\`/arm64 check ${svc}\` names the base image or pipeline change).${back}`,
      ];
  }
}

const headWords: Record<NonNullable<MoveWatch['problem']>['kind'], string> = {
  unschedulable: 'its pods stay Pending: the scheduler finds no node for them',
  'no-scale-up': 'its pods stay Pending: cluster-autoscaler will not add a node for them',
  'exec-format-error': 'a container crashes with `exec format error`',
  'image-platform-missing': 'its image cannot be pulled for linux/arm64',
};

export function renderMoveNotice(w: MoveWatch): { text: string; blocks: unknown[] } {
  const p = w.problem!;
  const where = `${w.target.cluster ? `${esc(w.target.cluster)}: ` : ''}${esc(w.target.namespace)}/${esc(w.target.deployment)}`;
  const head = `:warning: *${esc(w.target.service)}*: after ${moveWords(w)}, ${headWords[p.kind]} (${where}).`;
  const evidence = `> ${esc(p.message)}\n> pod \`${esc(p.pod)}\`${p.container ? `, container \`${esc(p.container)}\`` : ''}`;
  const fix = fixWords(w, p).map((l) => `• ${l}`);
  const text = [head, evidence, '*Fix:*', ...fix].join('\n').slice(0, 3000);
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
