import { discoverServices } from '../src/config/discover.ts';
import { renderServices } from '../src/render/services-text.ts';
import type { Subcommand } from './types.ts';

export const services: Subcommand = {
  name: 'services',
  usage: 'services',
  summary: 'List the service catalog: where each service’s repo, image, pipeline and manifests live.',
  examples: ['/arm64 services'],
  async run(ctx) {
    await ctx.deps.auth.check(ctx.user.id, ctx.channelId, 'viewer', 'the service catalog');
    const warning = await discoverServices(ctx.deps);
    await ctx.respond({ response_type: 'ephemeral', text: renderServices(ctx.deps.catalog, warning, 'slack') });
  },
};
