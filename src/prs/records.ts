// The store's `prs` section: the PRs archshift opened per service, so the check report and the digest
// can show "PR open" / "merged" without asking GitHub.
import type { Store } from '../adapters/store.ts';
import type { PullState } from '../adapters/github.ts';
import type { ChangeKind } from './planner.ts';

export interface PrRecord {
  kind: ChangeKind;
  repo: string;
  branch: string;
  number: number;
  url: string;
  state: PullState;
  draft: boolean;
  /** The commit archshift last pushed; a different branch head means a person pushed. */
  headSha: string;
  updatedAt: string;
}

export interface PrsSection {
  services: Record<string, Partial<Record<ChangeKind, PrRecord>>>;
}

export const PRS_SECTION = 'prs';

export function prsSection(store: Store) {
  return store.section<PrsSection>(PRS_SECTION, () => ({ services: {} }));
}

/** The PRs recorded for a service, in merge order. */
export function prsOf(store: Store, service: string): PrRecord[] {
  const recorded = prsSection(store).get().services[service] ?? {};
  return (['base', 'deps', 'pipeline', 'selectors'] as const).flatMap((k) => (recorded[k] ? [recorded[k]] : []));
}
