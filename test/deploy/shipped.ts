// What deploy/ ships, as objects: every overlay in deploy/overlays, rendered by `kubectl kustomize` (the
// kustomize that `kubectl apply -k` runs), each a variant a platform team can apply.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface Variant {
  /** deploy/overlays/<name> */
  name: string;
  /** What `kubectl kustomize` printed. */
  text: string;
  objects: Manifest[];
}

const overlays = fileURLToPath(new URL('../../deploy/overlays/', import.meta.url));
let rendered: Variant[] | undefined;

export function renderOverlay(dir: string): string {
  try {
    return execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        'kubectl is not installed: the deploy tests render deploy/ with `kubectl kustomize` (kubectl 1.27 or later, kustomize v5)',
        { cause: err },
      );
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr || e.message}`, { cause: err });
  }
}

/** Every overlay, rendered once per test process. */
export function shippedVariants(): Variant[] {
  rendered ??= readdirSync(overlays, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const text = renderOverlay(`${overlays}${d.name}`);
      return { name: `deploy/overlays/${d.name}`, text, objects: parseAllDocuments(text).map((doc) => doc.toJS() as Manifest) };
    });
  return rendered;
}
