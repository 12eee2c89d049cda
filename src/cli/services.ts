import { discoverServices } from '../config/discover.ts';
import { renderServices } from '../render/services-text.ts';
import { cliJson } from './json.ts';
import type { CliRun } from './types.ts';

export const runServicesCommand: CliRun = async (args, io, deps) => {
  const d = await deps();
  const warning = await discoverServices(d);
  if (args.flags.json) io.out(cliJson({ services: d.catalog.list(), warning }));
  else io.out(renderServices(d.catalog, warning, 'terminal'));
  return 0;
};
