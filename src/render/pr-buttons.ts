// The Block Kit buttons that start the PR flow, shared by every message that offers it (check
// report, digest, promoted canary) and by the handlers in commands/actions/open-prs.ts.

export const OPEN_PRS_ACTION = 'open_prs';
export const ARM64_ONLY_PR_ACTION = 'open_arm64_only_pr';
export const OPEN_READY_PRS_ACTION = 'open_ready_prs';

/** Slack's limit on a button's value. */
const MAX_BUTTON_VALUE = 2000;

/** Opens (or updates) all of a service's PRs, after a confirmation. */
export function openPrsButton(service: string, label = 'Open PRs'): Record<string, unknown> {
  return {
    type: 'button',
    action_id: OPEN_PRS_ACTION,
    value: service,
    style: 'primary',
    text: { type: 'plain_text', text: label.slice(0, 75) },
    confirm: {
      title: { type: 'plain_text', text: `Open PRs for ${service}?`.slice(0, 100) },
      text: {
        type: 'mrkdwn',
        text: 'archshift opens (or updates) the base image, dependency, pipeline and scheduling PRs. The scheduling PR stays a draft until the image publishes linux/arm64.',
      },
      confirm: { type: 'plain_text', text: 'Open PRs' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

/** After a promoted canary: the scheduling PR that moves the main Deployment itself to arm64. */
export function arm64OnlyPrButton(service: string): Record<string, unknown> {
  return {
    type: 'button',
    action_id: ARM64_ONLY_PR_ACTION,
    value: service,
    style: 'primary',
    text: { type: 'plain_text', text: 'Open the arm64-only PR' },
    confirm: {
      title: { type: 'plain_text', text: `Make arm64 the only Deployment?`.slice(0, 100) },
      text: {
        type: 'mrkdwn',
        text: `archshift opens (or updates) the scheduling PR that puts ${service}'s main Deployment on arm64 nodes. Once it is rolled out, the -arm64 copy and the DestinationRule subsets can go.`,
      },
      confirm: { type: 'plain_text', text: 'Open the PR' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

/**
 * The digest's batch button: the PRs of every ready service it lists, paced to GitHub's limits. The
 * value carries the service names (comma-separated, as many as fit in Slack's 2,000 characters).
 */
export function openReadyPrsButton(services: readonly string[]): Record<string, unknown> {
  const names: string[] = [];
  for (const s of services) if ([...names, s].join(',').length <= MAX_BUTTON_VALUE) names.push(s);
  const n = names.length;
  return {
    type: 'button',
    action_id: OPEN_READY_PRS_ACTION,
    value: names.join(','),
    style: 'primary',
    text: { type: 'plain_text', text: `Open PRs for ${n === 1 ? 'the ready service' : `all ${n} ready services`}` },
    confirm: {
      title: { type: 'plain_text', text: `Open PRs for ${n} service${n === 1 ? '' : 's'}?` },
      text: {
        type: 'mrkdwn',
        text: "archshift checks each service again and opens (or updates) its PRs, one service after another, paced to GitHub's limits. Progress and the final table go to this message's thread.",
      },
      confirm: { type: 'plain_text', text: 'Open PRs' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

/** Parses the batch button's value back into service names. */
export function readyPrsServices(value: string | undefined): string[] {
  return [
    ...new Set(
      (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}
