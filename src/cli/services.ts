import { discoverServices } from '../config/discover.ts';
import { renderServices } from '../render/services-text.ts';
import type { CliCommand } from './types.ts';

export const servicesCommand: CliCommand = {
  name: 'services',
  usage: 'services [--json]',
  summary: 'List the service catalog (configured and discovered services).',
  booleanOptions: ['json'],
  async run(args, io, deps) {
    const d = await deps();
    const warning = await discoverServices(d);
    if (args.flags.json) io.out(JSON.stringify({ services: d.catalog.list(), warning }, null, 2));
    else io.out(renderServices(d.catalog, warning, 'terminal'));
    return 0;
  },
};
