// After a move (a canary's arm64 Deployment starts, a selectors PR merges), watch the workload's pods for a
// few minutes: pods that cannot be scheduled or scaled up for, binaries that are not arm64, images without
// linux/arm64. Returns the first problem found (to tell the service's channel once) and records it in the
// store for the digest; returns undefined when the pods stayed healthy for the whole watch.
import type { Kubernetes } from '../adapters/kubernetes.ts';
import { classifyPod, crashLooping, type MoveProblem, type PodEvent, type WatchedPod } from './pod-problems.ts';

export interface MoveTarget {
  service: string;
  cluster?: string;
  namespace: string;
  /** The Deployment whose pods are watched (e.g. `<name>-arm64` for a canary). */
  deployment: string;
}

export interface MoveProblemRecord extends MoveProblem {
  service: string;
  cluster?: string;
  namespace: string;
  deployment: string;
  at: string;
}

export const MOVE_PROBLEMS_SECTION = 'moveProblems';
export type MoveProblemsData = { items: MoveProblemRecord[] };
export const emptyMoveProblems = (): MoveProblemsData => ({ items: [] });

export interface AfterMoveDeps {
  kube: Kubernetes;
  now(): Date;
  /** Waits between polls; the bot passes a timer, tests may pass their own. */
  sleep(ms: number): Promise<void>;
  record(problem: MoveProblemRecord): Promise<void>;
}

export interface WatchOptions {
  durationMs: number;
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
    const events: PodEvent[] = pod.status?.phase === 'Pending' ? await cluster.listEvents(t.namespace, `involvedObject.kind=Pod,involvedObject.name=${name}`) : [];
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

export async function watchAfterMove(deps: AfterMoveDeps, target: MoveTarget, opts: WatchOptions): Promise<MoveProblemRecord | undefined> {
  const until = deps.now().getTime() + opts.durationMs;
  for (;;) {
    if (opts.signal?.aborted) return undefined;
    const problem = await inspect(deps, target);
    if (problem) {
      const record: MoveProblemRecord = { ...problem, service: target.service, ...(target.cluster ? { cluster: target.cluster } : {}), namespace: target.namespace, deployment: target.deployment, at: deps.now().toISOString() };
      await deps.record(record);
      return record;
    }
    if (deps.now().getTime() + opts.intervalMs > until) return undefined;
    await deps.sleep(opts.intervalMs);
  }
}
