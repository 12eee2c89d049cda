import type { Catalog } from '../config/catalog.ts';

/** The catalog as text; `slack` wraps names in code spans. */
export function renderServices(catalog: Catalog, warning: string | undefined, style: 'slack' | 'terminal'): string {
  const code = (s: string) => (style === 'slack' ? `\`${s}\`` : s);
  const entries = catalog.list();
  const lines = entries.length
    ? entries.map((e) =>
        'error' in e
          ? `${code(e.name)}  incomplete: ${e.error}`
          : `${code(e.name)}  repo ${e.repo}  image ${e.image}${e.tag ? `:${e.tag}` : ''}  deploy ${e.cluster ? `${e.cluster}/` : ''}${e.namespace}/${e.deployment}` +
            `${e.team ? `  team ${e.team}` : ''}  (${e.origin})`,
      )
    : ['No services in the catalog. Add them under catalog.services, or enable catalog.discovery.'];
  return [`${entries.length} service${entries.length === 1 ? '' : 's'}:`, ...lines, ...(warning ? [`⚠ ${warning}`] : [])].join('\n');
}
