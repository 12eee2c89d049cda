// What goes wrong with pods right after a move to arm64, read from the pod, its events and its last log
// lines, pure. Each problem is a fact with its cause; the watcher (after-move.ts) gathers the evidence.

export type MoveProblemKind =
  /** Pending: the scheduler found no node (FailedScheduling), e.g. no arm64 node, or an untolerated taint. */
  | 'unschedulable'
  /** Pending: cluster-autoscaler will not add a node for it (NotTriggerScaleUp), e.g. a group that cannot scale from zero. */
  | 'no-scale-up'
  /** The binary is not arm64 (exec format error in the last log lines), usually a CrashLoopBackOff. */
  | 'exec-format-error'
  /** The image has no linux/arm64 entry (the runtime found no matching manifest). */
  | 'image-platform-missing';

export interface MoveProblem {
  kind: MoveProblemKind;
  pod: string;
  container?: string;
  /** The image of that container, as the pod spec names it. */
  image?: string;
  /** The runtime's or scheduler's own words, cut to one line. */
  message: string;
}

interface ContainerStatusLike {
  name: string;
  state?: { waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}

export interface WatchedPod {
  metadata?: { name?: string };
  spec?: { containers?: { name: string; image?: string }[]; initContainers?: { name: string; image?: string }[] };
  status?: { phase?: string; containerStatuses?: ContainerStatusLike[]; initContainerStatuses?: ContainerStatusLike[] };
}

export interface PodEvent {
  reason?: string;
  message?: string;
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim().slice(0, 300);

const PLATFORM_MISSING = /no matching manifest for linux\/arm64|no match for platform in manifest|does not match the specified platform/i;
const EXEC_FORMAT = /exec format error/i;

/** Containers waiting in a crash loop: the watcher reads their previous logs for `exec format error`. */
export function crashLooping(pod: WatchedPod): string[] {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return all
    .filter((c) => c.state?.waiting?.reason === 'CrashLoopBackOff' || c.lastState?.terminated?.reason === 'Error')
    .map((c) => c.name);
}

/** The first problem the evidence shows, most specific first; undefined when the pod looks fine so far. */
export function classifyPod(pod: WatchedPod, events: PodEvent[], logTails: Record<string, string>): MoveProblem | undefined {
  const found = classify(pod, events, logTails);
  const image = found?.container
    ? [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === found.container)?.image
    : undefined;
  return found && image ? { ...found, image } : found;
}

function classify(pod: WatchedPod, events: PodEvent[], logTails: Record<string, string>): MoveProblem | undefined {
  const name = pod.metadata?.name ?? '';
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of all) {
    const w = c.state?.waiting;
    if ((w?.reason === 'ErrImagePull' || w?.reason === 'ImagePullBackOff') && PLATFORM_MISSING.test(w.message ?? '')) {
      return { kind: 'image-platform-missing', pod: name, container: c.name, message: oneLine(w.message ?? '') };
    }
  }
  for (const [container, tail] of Object.entries(logTails)) {
    const line = tail.split('\n').find((l) => EXEC_FORMAT.test(l));
    if (line) return { kind: 'exec-format-error', pod: name, container, message: oneLine(line) };
  }
  for (const c of all) {
    if (EXEC_FORMAT.test(c.state?.waiting?.message ?? ''))
      return { kind: 'exec-format-error', pod: name, container: c.name, message: oneLine(c.state!.waiting!.message!) };
  }
  if (pod.status?.phase === 'Pending') {
    const noScale = events.find((e) => e.reason === 'NotTriggerScaleUp');
    if (noScale) return { kind: 'no-scale-up', pod: name, message: oneLine(noScale.message ?? '') };
    const failed = events.find((e) => e.reason === 'FailedScheduling');
    if (failed) return { kind: 'unschedulable', pod: name, message: oneLine(failed.message ?? '') };
  }
  return undefined;
}
