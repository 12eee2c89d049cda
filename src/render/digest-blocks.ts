// The digest as Block Kit, within Slack's limits (50 blocks, 3000 characters per section text, 150 per
// header, 10 context elements). The words come from digestParts, shared with the text renderer.
import type { DigestModel } from '../digest/model.ts';
import { digestParts } from './digest-text.ts';
import { openPrsButton, openReadyPrsButton } from './pr-buttons.ts';

const MAX_BLOCKS = 50;
const MAX_SECTION = 3000;
const MAX_HEADER = 150;

type Block = Record<string, unknown>;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: clip(text, MAX_SECTION) } });
const context = (...texts: string[]): Block => ({
  type: 'context',
  elements: texts.slice(0, 10).map((t) => ({ type: 'mrkdwn', text: clip(t, MAX_SECTION) })),
});

export function renderDigestBlocks(m: DigestModel): Block[] {
  const p = digestParts(m, 'slack');
  const needPrs = servicesNeedingPrs(m);
  const head: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(p.title, MAX_HEADER), emoji: false } },
    section(p.headline),
    context(`\`${p.bar}\``, ...(p.trend ? [p.trend] : [])),
    section(p.clusters),
    section(p.changes),
    section(p.cost),
    ...(p.measured ? [section(p.measured)] : []),
    { type: 'divider' },
    section(`${p.namespaces}\n${p.teams}`),
    { type: 'divider' },
    section(`*${p.readyTitle}*${p.ready.length ? '' : '\nnone'}`),
    ...(needPrs.length ? [{ type: 'actions', elements: [openReadyPrsButton(needPrs)] }] : []),
  ];
  const tail: Block[] = [
    ...(p.readyMore ? [context(p.readyMore)] : []),
    { type: 'divider' },
    section(p.blockers),
    ...(p.moveProblems ? [section(p.moveProblems)] : []),
    section(p.unknown),
    section(p.prs),
    context(p.footer),
  ];
  // Ready rows take what is left of the 50-block budget; each row with a catalog service gets the button.
  const rows = p.ready.slice(0, MAX_BLOCKS - head.length - tail.length - 1).map((r): Block =>
    r.service
      ? {
          ...section(r.line),
          accessory: openPrsButton(r.service, `Open PRs: ${r.service}`),
        }
      : section(r.line),
  );
  return [...head, ...rows, ...tail];
}

/** Ready catalog services with no archshift PR open yet: what the batch button would open PRs for. */
function servicesNeedingPrs(m: DigestModel): string[] {
  const withPrs = new Set(m.prs.map((pr) => pr.service));
  return [...new Set(m.ready.flatMap((r) => (r.service && !withPrs.has(r.service) ? [r.service] : [])))];
}
