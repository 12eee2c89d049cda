// The Block Kit buttons that start the PR flow, shared by every message that offers it (check
// report, digest, promoted canary) and by the handlers in commands/actions/open-prs.ts.

export const OPEN_PRS_ACTION = 'open_prs';
export const ARM64_ONLY_PR_ACTION = 'open_arm64_only_pr';

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
      text: { type: 'mrkdwn', text: 'archshift opens (or updates) the base image, dependency, pipeline and scheduling PRs. The scheduling PR stays a draft until the image publishes linux/arm64.' },
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
