import { UserError } from '../errors.ts';
import { nodesDeps, preflightNodes } from '../nodes/preflight.ts';
import { renderNodes } from '../render/nodes-text.ts';
import type { CliRun } from './types.ts';

export const runNodesCommand: CliRun = async (args, io, deps) => {
  const n = nodesDeps(await deps());
  if (!n) throw new UserError('No Kubernetes cluster is configured (kubernetes.contexts or KUBECONFIG).');
  const report = await preflightNodes(n, typeof args.flags.cluster === 'string' ? args.flags.cluster : undefined);
  io.out(args.flags.json ? JSON.stringify(report, null, 2) : renderNodes(report, 'terminal'));
  if (report.clusters.some((c) => c.verdict === 'unknown')) return 2;
  return report.clusters.every((c) => c.verdict === 'arm64-ready') ? 0 : 1;
};
