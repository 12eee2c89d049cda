// After a move (a canary's arm64 Deployment starts, a selectors PR merges), watch the workload's pods for a
// few minutes: pods that cannot be scheduled or scaled up for, binaries that are not arm64, images without
// linux/arm64. Returns the first problem found, or undefined when the pods stayed healthy for the whole
// watch (or it was cancelled). The watcher (move-watch.ts) decides when to watch and what to do with it.
import type { Kubernetes } from '../adapters/kubernetes.ts';
import { classifyPod, crashLooping, type MoveProblem, type PodEvent, type WatchedPod } from './pod-problems.ts';

export interface MoveTarget {
  service: string;
  cluster?: string;
  namespace: string;
  /** The Deployment whose pods are watched (e.g. `<name>-arm64` for a canary). */
  deployment: string;
}

export interface AfterMoveDeps {
  kube: Kubernetes;
  now(): Date;
  /** Waits between polls; resolves early when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface WatchOptions {
  /** The watch ends at this instant (a resumed watch keeps its original end). */
  until: Date;
  intervalMs: number;
  signal?: AbortSignal;
}

const LOG_LINES = 20;

async function inspect(deps: AfterMoveDeps, t: MoveTarget): Promise<MoveProblem | undefined> {
  const cluster = deps.kube.cluster(t.cluster);
  const deployment = await cluster.getDeployment(t.namespace, t.deployment);
  const match = deployment?.spec?.selector?.matchLabels;
  if (!match) return undefined;
  const selector = Object.entries(match)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = (await cluster.listPods({ namespace: t.namespace, labelSelector: selector })) as WatchedPod[];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    const events: PodEvent[] =
      pod.status?.phase === 'Pending' ? await cluster.listEvents(t.namespace, `involvedObject.kind=Pod,involvedObject.name=${name}`) : [];
    const logTails: Record<string, string> = {};
    for (const container of crashLooping(pod)) {
      const tail = await cluster.readPodLog(t.namespace, name, container, { previous: true, tailLines: LOG_LINES });
      if (tail) logTails[container] = tail;
    }
    const problem = classifyPod(pod, events, logTails);
    if (problem) return problem;
  }
  return undefined;
}

export async function watchAfterMove(deps: AfterMoveDeps, target: MoveTarget, opts: WatchOptions): Promise<MoveProblem | undefined> {
  const until = opts.until.getTime();
  for (;;) {
    if (opts.signal?.aborted) return undefined;
    const problem = await inspect(deps, target);
    if (problem) return problem;
    if (deps.now().getTime() + opts.intervalMs > until) return undefined;
    await deps.sleep(opts.intervalMs, opts.signal);
  }
}
