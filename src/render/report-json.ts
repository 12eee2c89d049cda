// The stable JSON form of a readiness report, for scripts (`archshift check --json`). Fields are only
// ever added, never renamed or removed; `schemaVersion` changes if that promise must ever be broken.
import type { Autofix, Ecosystem, Evidence, Report, Severity, Verdict } from '../readiness/report.ts';

export interface ReportJson {
  schemaVersion: 1;
  service: string;
  verdict: Verdict;
  checkedAt: string;
  findings: Array<{
    id: string;
    severity: Severity;
    ecosystem: Ecosystem;
    title: string;
    /** `file` and `line`, or `image` (with `digest` when known). */
    evidence: Evidence;
    fix: string | null;
    autofix: Autofix | null;
  }>;
}

export function reportToJson(report: Report): ReportJson {
  return {
    schemaVersion: 1,
    service: report.service,
    verdict: report.verdict,
    checkedAt: report.checkedAt,
    findings: report.findings.map((f) => ({
      id: f.id,
      severity: f.severity,
      ecosystem: f.ecosystem,
      title: f.title,
      evidence: f.evidence,
      fix: f.fix ?? null,
      autofix: f.autofix ?? null,
    })),
  };
}

export function renderReportJson(report: Report): string {
  return JSON.stringify(reportToJson(report), null, 2);
}
