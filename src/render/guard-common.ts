// Words shared by the guard's surfaces (terminal, GitHub check, Slack): why a service counts as moved,
// and what the outcome means. Plain text, no markup.
import type { GuardVerdict, MoveFact } from '../guard/guard.ts';

export function moveFactText(f: MoveFact): string {
  switch (f.kind) {
    case 'pods-on-arm64':
      return `${f.pods} pod${f.pods === 1 ? '' : 's'} run on arm64 nodes in cluster ${f.cluster}`;
    case 'cluster-selects-arm64':
      return `the Deployment in cluster ${f.cluster} selects arm64 nodes`;
    case 'manifest-selects-arm64':
      return `the base's manifest${f.file ? ` ${f.file}` : ''} schedules it on arm64`;
    case 'selectors-pr-merged':
      return `archshift's selectors PR #${f.number} was merged (${f.url})`;
  }
}

export const outcomeHeadline: Record<GuardVerdict['outcome'], string> = {
  'breaks-arm64': 'this change breaks arm64 for a service that already runs there',
  warned: 'this change breaks arm64 for a service that already runs there (guard: warn, so the check does not fail)',
  'not-moved': 'the service is not on arm64 yet, so nothing here can break it there',
  unverified: 'this change adds something archshift could not verify on arm64',
  clean: 'this change introduces nothing that breaks arm64',
  off: 'the guard is off for this service (guard: off)',
};
