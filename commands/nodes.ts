import { UserError } from '../src/errors.ts';
import { nodesDeps, preflightNodes } from '../src/nodes/preflight.ts';
import { renderNodes } from '../src/render/nodes-text.ts';
import type { Subcommand } from './types.ts';

export const nodes: Subcommand = {
  name: 'nodes',
  usage: 'nodes [cluster]',
  summary: 'Can arm64 pods get a node? Taints, Karpenter NodePools, node groups that scale from zero, DaemonSets and sidecars.',
  examples: ['/arm64 nodes', '/arm64 nodes prod-eu'],
  async run(ctx) {
    await ctx.deps.auth.check(ctx.user.id, ctx.channelId, 'viewer', 'the node preflight');
    const n = nodesDeps(ctx.deps);
    if (!n) throw new UserError('No Kubernetes cluster is configured, so there are no nodes to check.');
    const cluster = ctx.args.positionals[0];
    if (cluster && !n.kube.clusters.has(cluster))
      throw new UserError(
        `No cluster named \`${cluster.slice(0, 60)}\`. Clusters: ${[...n.kube.clusters.keys()].map((c) => `\`${c}\``).join(', ')}.`,
      );
    await ctx.respond({ response_type: 'ephemeral', text: 'Checking nodes…' });
    await ctx.respond({ response_type: 'ephemeral', replace_original: true, text: renderNodes(await preflightNodes(n, cluster), 'slack') });
  },
};
