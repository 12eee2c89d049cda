// The fleet check as one self-contained HTML file (`archshift check --all --format html`) a person opens
// or attaches: summary, one row per service (sortable, filterable by team and verdict), its findings
// grouped by ecosystem with links to the files on GitHub. Inline CSS and script only; the
// Content-Security-Policy forbids every fetch, so opening it loads nothing from the network.
import type { FleetEntry, FleetResult } from '../fleet/check-all.ts';
import type { Finding, Severity } from '../readiness/report.ts';
import { ecosystemTitle, groupByEcosystem } from './report-common.ts';
import { headlineOf, VERDICT_ORDER } from './fleet-text.ts';

export interface FleetHtmlOptions {
  /** GitHub's web address (https://github.com, or a GitHub Enterprise host): file links point there. */
  githubWebUrl?: string;
}

const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The web address for GitHub's API address: api.github.com -> github.com, https://ghe/api/v3 -> https://ghe. */
export function githubWebUrlOf(apiUrl: string): string {
  const u = new URL(apiUrl);
  if (u.hostname === 'api.github.com') return 'https://github.com';
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/$/, '')}`;
}

function fileLink(e: FleetEntry, f: Finding, web: string | undefined): string {
  const { file, line } = f.evidence;
  if (!file) return '';
  const where = esc(line ? `${file}:${line}` : file);
  if (!web || !e.repos) return `<code>${where}</code>`;
  const r = e.repos;
  const [repo, ref] =
    file === r.pipeline.file
      ? [r.pipeline.repo, 'HEAD']
      : r.manifests.files.includes(file)
        ? [r.manifests.repo, 'HEAD']
        : [r.code, r.branch ?? 'HEAD'];
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `<a href="${esc(`${web}/${repo}/blob/${encodeURIComponent(ref)}/${path}${line ? `#L${line}` : ''}`)}"><code>${where}</code></a>`;
}

function findingsHtml(e: FleetEntry, web: string | undefined): string {
  if (e.error) return `<p class="error">${esc(e.error)}</p>`;
  const groups = groupByEcosystem(e.report?.findings ?? []);
  if (!groups.length) return '<p>No findings.</p>';
  return groups
    .map(
      (g) =>
        `<h4>${esc(ecosystemTitle[g.ecosystem])}</h4><ul>${g.findings
          .map(
            (f) =>
              `<li class="finding sev-${f.severity}"><span class="badge sev-${f.severity}">${f.severity}</span> ${esc(f.title)} <code class="id">${esc(f.id)}</code>` +
              `${f.evidence.file ? ` ${fileLink(e, f, web)}` : f.evidence.image ? ` <code>${esc(f.evidence.image)}</code>` : ''}` +
              `${f.fix ? `<div class="fix">${esc(f.fix)}</div>` : ''}${f.autofix ? `<div class="pr">archshift can open a PR (${esc(f.autofix.kind)})</div>` : ''}</li>`,
          )
          .join('')}</ul>`,
    )
    .join('');
}

const n = (e: FleetEntry, s: Severity) => e.report?.findings.filter((f) => f.severity === s).length ?? 0;

function serviceRows(r: FleetResult, web: string | undefined): string {
  return r.entries
    .map((e) => {
      const counts = { blockers: n(e, 'blocker'), unknowns: n(e, 'unknown'), changes: n(e, 'change') };
      const findings = e.report?.findings.length ?? 0;
      return (
        `<tbody class="service" data-service="${esc(e.service)}" data-team="${esc(e.team ?? '')}" data-cluster="${esc(e.cluster ?? '')}" data-verdict="${e.verdict}" data-rank="${VERDICT_ORDER.indexOf(e.verdict)}" data-headline="${esc(headlineOf(e))}"` +
        ` data-blockers="${counts.blockers}" data-unknowns="${counts.unknowns}" data-changes="${counts.changes}">` +
        `<tr><td class="name">${esc(e.service)}</td><td>${esc(e.team ?? '')}</td><td>${esc(e.cluster ?? '')}</td><td><span class="verdict v-${e.verdict}">${e.verdict}</span></td>` +
        `<td class="num">${counts.blockers}</td><td class="num">${counts.unknowns}</td><td class="num">${counts.changes}</td><td>${esc(headlineOf(e))}</td></tr>` +
        `<tr class="detail"><td colspan="8"><details><summary>${e.error ? 'no report' : `${findings} finding${findings === 1 ? '' : 's'}`}</summary>${findingsHtml(e, web)}</details></td></tr></tbody>`
      );
    })
    .join('\n');
}

function summaryHtml(r: FleetResult): string {
  const s = r.summary;
  const list = (items: string[]) => (items.length ? `<ul>${items.join('')}</ul>` : '<p>None.</p>');
  return (
    `<section id="summary"><h2>Summary</h2><p class="verdicts">${s.total} services: ${VERDICT_ORDER.map((v) => `<span class="verdict v-${v}" data-count="${v}">${s.verdicts[v]} ${v}</span>`).join(' ')}</p>` +
    `<h3>Blockers affecting most services</h3>${list(s.topBlockers.slice(0, 10).map((c) => `<li><b>${c.services.length}</b> <code>${esc(c.id)}</code> ${esc(c.title)}</li>`))}` +
    `<h3>Evidence missing most often</h3>${list(s.topUnknowns.slice(0, 10).map((c) => `<li><b>${c.services.length}</b> <code>${esc(c.id)}</code> ${esc(c.title)}</li>`))}` +
    `<h3>What PRs would fix</h3>${list([...s.prs.map((p) => `<li><b>${p.services.length}</b> ${esc(p.kind)}</li>`), `<li><b>${s.readyAfterPrs.length}</b> ready once their PRs merge</li>`])}</section>`
  );
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top}th{cursor:pointer;background:#f4f4f4;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}td.num{text-align:right}
tr.detail td{border-bottom:2px solid #ccc;padding-top:0}details summary{cursor:pointer;color:#555}code{font-size:12px}
.verdict,.badge{padding:1px 6px;border-radius:3px;font-size:12px;color:#fff}.v-ready{background:#2e7d32}.v-needs-changes{background:#ef6c00}
.v-blocked{background:#c62828}.v-unknown{background:#616161}.sev-blocker{background:#c62828}.sev-unknown{background:#616161}
.sev-change{background:#ef6c00}.sev-warning{background:#f9a825}.sev-info{background:#1565c0}li.finding{background:none;margin:4px 0}
.fix{color:#444;margin-left:1em}.pr{color:#2e7d32;margin-left:1em}.error{color:#c62828}#filters{margin:1em 0}#filters label{margin-right:1em}`;

// Sorting and filtering; runs on the rows already in the page (the report reads fine without it).
const SCRIPT = `(function(){
var table=document.getElementById('services'),rows=function(){return Array.prototype.slice.call(table.tBodies)};
var team=document.getElementById('team'),verdict=document.getElementById('verdict'),shown=document.getElementById('shown');
function apply(){var n=0;rows().forEach(function(b){var ok=(!team.value||b.dataset.team===team.value)&&(!verdict.value||b.dataset.verdict===verdict.value);b.hidden=!ok;if(ok)n++});shown.textContent=n+' of '+rows().length+' services shown'}
team.addEventListener('change',apply);verdict.addEventListener('change',apply);
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th){th.addEventListener('click',function(){
var key=th.dataset.key,num=th.dataset.type==='number',dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.removeAttribute('aria-sort')});th.setAttribute('aria-sort',dir===1?'ascending':'descending');
rows().sort(function(a,b){var x=a.dataset[key],y=b.dataset[key];return dir*(num?Number(x)-Number(y):x.localeCompare(y))}).forEach(function(b){table.appendChild(b)})})});
apply()})();`;

export function renderFleetHtml(r: FleetResult, opts: FleetHtmlOptions = {}): string {
  const teams = [...new Set(r.entries.map((e) => e.team).filter((t): t is string => !!t))].sort();
  const head: Array<[string, string, string?]> = [
    ['service', 'service'],
    ['team', 'team'],
    ['cluster', 'cluster'],
    ['verdict', 'rank', 'number'],
    ['blockers', 'blockers', 'number'],
    ['unknowns', 'unknowns', 'number'],
    ['changes', 'changes', 'number'],
    ['first thing to fix', 'headline'],
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>arm64 readiness of the fleet, ${esc(r.checkedAt.slice(0, 10))}</title><style>${STYLE}</style></head>
<body><h1>arm64 readiness of the fleet</h1><p>Checked ${esc(r.checkedAt)}${r.filter.team ? `, team ${esc(r.filter.team)}` : ''}${r.filter.cluster ? `, cluster ${esc(r.filter.cluster)}` : ''}. An unknown verdict means evidence was missing; it is never counted as ready.</p>
${summaryHtml(r)}
<section><h2>Services</h2><div id="filters"><label>Team <select id="team"><option value="">all</option>${teams.map((t) => `<option>${esc(t)}</option>`).join('')}</select></label>
<label>Verdict <select id="verdict"><option value="">all</option>${VERDICT_ORDER.map((v) => `<option>${v}</option>`).join('')}</select></label> <span id="shown"></span></div>
<table id="services"><thead><tr>${head.map(([label, key, type]) => `<th data-key="${key}"${type ? ` data-type="${type}"` : ''}>${label}</th>`).join('')}</tr></thead>
${serviceRows(r, opts.githubWebUrl)}
</table></section>
<script>${SCRIPT}</script></body></html>
`;
}
