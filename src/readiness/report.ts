// The one report model every surface renders (Slack, terminal, JSON). Renderers never compute verdicts:
// the verdict is derived here from the findings, so "unknown" can never be rendered as "ready".

export type Verdict = 'ready' | 'needs-changes' | 'blocked' | 'unknown';

/**
 * blocker: the service cannot run on arm64 until this is fixed and archshift cannot fix it for you.
 * change:  must change before moving, and the fix is known (often a PR archshift can open).
 * unknown: evidence is missing (registry down, file unreadable); the verdict cannot be "ready".
 * warning: worth a look, does not stop the move.
 * info:    evidence that supports the verdict (e.g. "image publishes linux/arm64").
 */
export type Severity = 'blocker' | 'change' | 'unknown' | 'warning' | 'info';

export type Ecosystem =
  'image' | 'dockerfile' | 'pipeline' | 'kubernetes' | 'jvm' | 'python' | 'node' | 'go' | 'native' | 'system' | 'file';

export interface Evidence {
  file?: string;
  line?: number;
  image?: string;
  digest?: string;
  /** The source text the finding points at, trimmed to one line. */
  excerpt?: string;
}

/** What a PR can change for this finding; `kind` names the PR change it belongs to. */
export interface Autofix {
  kind: 'base' | 'pipeline' | 'selectors' | 'deps';
  /** Free-form data the PR editors need, e.g. { from: 'openjdk:8', to: 'eclipse-temurin:8-jre' }. */
  params: Record<string, string>;
}

export interface Finding {
  /** Stable id for scripts, e.g. 'image.amd64-only', 'jvm.netty-epoll'. */
  id: string;
  severity: Severity;
  ecosystem: Ecosystem;
  title: string;
  evidence: Evidence;
  /** What to do, one or two sentences. */
  fix?: string;
  autofix?: Autofix;
  source?: string;
  /** For a known-package finding: what the package does on arm64 (knowledge `impact`). */
  impact?: 'fails' | 'source-build' | 'degrades' | 'investigate';
}

export interface Report {
  service: string;
  verdict: Verdict;
  checkedAt: string;
  findings: Finding[];
}

const severityOrder: Severity[] = ['blocker', 'unknown', 'change', 'warning', 'info'];

export function verdictOf(findings: Finding[]): Verdict {
  if (findings.some((f) => f.severity === 'blocker')) return 'blocked';
  if (findings.some((f) => f.severity === 'unknown')) return 'unknown';
  if (findings.some((f) => f.severity === 'change')) return 'needs-changes';
  return 'ready';
}

export function buildReport(service: string, findings: Finding[], now: Date = new Date()): Report {
  const sorted = [...findings].sort((a, b) => severityOrder.indexOf(a.severity) - severityOrder.indexOf(b.severity));
  return { service, verdict: verdictOf(findings), checkedAt: now.toISOString(), findings: sorted };
}
