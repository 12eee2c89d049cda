// The whole digest as a document without Slack (`archshift digest --format markdown|html`): the same
// parts as the Slack and terminal digests; the HTML embeds the burn-down chart as a data: URI, so the
// file is self-contained.
import type { DigestModel } from '../digest/model.ts';
import { renderDigestText } from './digest-text.ts';

export function renderDigestMarkdown(m: DigestModel): string {
  const [title, ...rest] = renderDigestText(m, 'markdown').split('\n');
  return [`# ${title}`, ...rest.map((l) => l.replace(/^• /, '- '))].join('\n') + '\n';
}

const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderDigestHtml(m: DigestModel, chartPng?: Buffer): string {
  const [title, ...rest] = renderDigestText(m, 'terminal').split('\n');
  const body = rest
    .map((l) => (l === '' ? '' : l.startsWith('• ') ? `<li>${esc(l.slice(2))}</li>` : `<p>${esc(l)}</p>`))
    .join('\n')
    .replace(/(<li>.*<\/li>\n?)+/g, (list) => `<ul>${list}</ul>`);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title!)}</title><style>body{font:14px/1.5 system-ui,sans-serif;margin:1.5em;max-width:60em}p{margin:.3em 0}</style></head>
<body><h1>${esc(title!)}</h1>
${chartPng ? `<img alt="burn-down chart" src="data:image/png;base64,${chartPng.toString('base64')}">` : ''}
${body}
</body></html>
`;
}
