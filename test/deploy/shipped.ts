// What deploy/ ships, as objects: each variant a platform team can apply.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { renderDeploy, type KubeManifest } from '../../src/ops/deploy.ts';

export type Manifest = KubeManifest;

export interface Variant {
  name: string;
  objects: Manifest[];
}

export function shippedVariants(): Variant[] {
  const values = parse(readFileSync(new URL('../../deploy/values.yml', import.meta.url), 'utf8'));
  return [{ name: 'deploy/values.yml', objects: renderDeploy(values) }];
}
