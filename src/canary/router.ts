// The traffic router seam, as Flagger's router interface: read the canary's split, set it. One file per
// mesh; Istio's is a VirtualService with two subsets. setRoutes is one merge patch (carrying the
// resourceVersion, so the API server refuses a patch over someone else's edit), then a read-back that
// must show the weight asked for.
import { istio, KubeError, type KubeCluster } from '../adapters/kubernetes.ts';
import type { CanaryTarget } from './target.ts';

export interface Destination {
  destination?: { host?: string; subset?: string; port?: unknown };
  weight?: number;
  [k: string]: unknown;
}

export interface VirtualService {
  metadata?: { resourceVersion?: string; name?: string };
  spec?: { hosts?: string[]; http?: Array<{ name?: string; route?: Destination[]; [k: string]: unknown }> };
}

/** The canary's split as the cluster has it: percentages per arch, and what they were read from. */
export interface Split {
  amd64: number;
  arm64: number;
  /**
   * What archshift compares with what it last wrote, to tell someone else's edit from its own: the
   * Istio route's destinations, or the two Deployments' replica counts.
   */
  route: unknown;
}

/** An Istio split: which http route, and its two destinations. */
export interface IstioSplit extends Split {
  routeIndex: number;
  route: Destination[];
}

/** The canary's route as the cluster has it now. */
/** `missing`: there is no VirtualService at all (as opposed to one that is not a two-subset split). */
export type RouteRead = { ok: true; split: Split; resourceVersion?: string } | { ok: false; missing: boolean; problem: string };

/**
 * `unverified`: the patch went out but could not be read back, so it may have landed. `waiting`: the
 * move is half done (the side gaining replicas is scaled up and not ready yet); setRoutes again finishes it.
 */
export type RouteWrite =
  | { ok: true; split: Split; resourceVersion?: string }
  | { ok: false; kind: 'conflict' | 'refused' | 'unverified'; message: string }
  | { ok: false; kind: 'waiting'; message: string; deployment: string; ready: number; desired: number };

/** Where a split stands against a move to a weight: there, half-way (finish it with setRoutes), or neither. */
export type MoveProgress = 'done' | 'partial' | 'not-started';

export interface TrafficRouter {
  /** Throws KubeError when the cluster cannot be read. */
  getRoutes(t: CanaryTarget): Promise<RouteRead>;
  /** Moves arm64 to `arm64Weight` from the split `from` (as read), and verifies the result. */
  setRoutes(t: CanaryTarget, from: Split, arm64Weight: number): Promise<RouteWrite>;
  /** After a restart (or a half-done move): whether the cluster's split is the move to `arm64Weight`. */
  progress(t: CanaryTarget, split: Split, arm64Weight: number): MoveProgress;
}

/** Reads the canary's route: exactly our two subsets, weights summing to 100; else what is wrong with it. */
export function readSplit(vs: VirtualService, t: CanaryTarget): { ok: true; split: IstioSplit } | { ok: false; problem: string } {
  const http = vs.spec?.http ?? [];
  const routeIndex = t.httpRoute ? http.findIndex((h) => h.name === t.httpRoute) : http.length ? 0 : -1;
  if (routeIndex < 0) return { ok: false, problem: t.httpRoute ? `has no http route named "${t.httpRoute}"` : 'has no http route' };
  const route = http[routeIndex].route ?? [];
  const bySubset = (s: string) => route.filter((d) => d.destination?.subset === s);
  const [amd, arm] = [bySubset(t.subsets.amd64), bySubset(t.subsets.arm64)];
  const missing = [amd.length ? '' : t.subsets.amd64, arm.length ? '' : t.subsets.arm64].filter(Boolean);
  if (missing.length) return { ok: false, problem: `route ${routeIndex} has no destination with subset ${missing.join(' or ')}` };
  if (amd.length > 1 || arm.length > 1 || route.length !== 2)
    return {
      ok: false,
      problem: `route ${routeIndex} must have exactly two destinations (subsets ${t.subsets.amd64} and ${t.subsets.arm64}), it has ${route.length}`,
    };
  const split = { routeIndex, route, amd64: amd[0].weight ?? 0, arm64: arm[0].weight ?? 0 };
  if (split.amd64 + split.arm64 !== 100) return { ok: false, problem: `weights ${split.amd64} + ${split.arm64} do not sum to 100` };
  return { ok: true, split };
}

/** The merge patch that sets the split (the whole `http` list: merge patch replaces lists). */
function splitPatch(
  vs: VirtualService,
  split: IstioSplit,
  t: CanaryTarget,
  arm64Weight: number,
): { metadata: { resourceVersion?: string }; spec: { http: unknown[] } } {
  const http = structuredClone(vs.spec?.http ?? []);
  http[split.routeIndex].route = split.route.map((d) => ({
    ...d,
    weight: d.destination?.subset === t.subsets.arm64 ? arm64Weight : 100 - arm64Weight,
  }));
  // With resourceVersion in the body the API server refuses (409) a patch over someone else's edit.
  return { metadata: { resourceVersion: vs.metadata?.resourceVersion }, spec: { http } };
}

export class IstioRouter implements TrafficRouter {
  /** The last VirtualService read per target, so setRoutes patches what getRoutes saw. */
  private readonly seen = new Map<string, VirtualService>();

  constructor(private readonly cluster: KubeCluster) {}

  async getRoutes(t: CanaryTarget): Promise<RouteRead> {
    const vs = await this.cluster.getCustomObject<VirtualService>(istio.virtualService(t.namespace, t.virtualService));
    if (!vs) return { ok: false, missing: true, problem: `VirtualService ${t.namespace}/${t.virtualService} no longer exists` };
    this.seen.set(`${t.namespace}/${t.virtualService}`, vs);
    const read = readSplit(vs, t);
    return read.ok
      ? { ok: true, split: read.split, resourceVersion: vs.metadata?.resourceVersion }
      : { ok: false, missing: false, problem: `VirtualService ${t.virtualService} ${read.problem}` };
  }

  progress(_t: CanaryTarget, split: Split, arm64Weight: number): MoveProgress {
    // One patch moves both weights: it landed or it did not.
    return split.arm64 === arm64Weight ? 'done' : 'not-started';
  }

  async setRoutes(t: CanaryTarget, from: Split, arm64Weight: number): Promise<RouteWrite> {
    const ref = istio.virtualService(t.namespace, t.virtualService);
    const vs = this.seen.get(`${t.namespace}/${t.virtualService}`);
    const read = vs && readSplit(vs, t);
    if (!read?.ok || read.split.arm64 !== from.arm64)
      return { ok: false, kind: 'refused', message: `VirtualService ${t.namespace}/${t.virtualService} was not read before the move` };
    try {
      await this.cluster.patchCustomObject(ref, splitPatch(vs!, read.split, t, arm64Weight));
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      return { ok: false, kind: err.code === 409 ? 'conflict' : 'refused', message: `the API server refused the patch: ${err.message}` };
    }
    let back: RouteRead;
    try {
      back = await this.getRoutes(t);
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      return { ok: false, kind: 'unverified', message: `patched, but could not read the VirtualService back: ${err.message}` };
    }
    if (!back.ok || back.split.arm64 !== arm64Weight) {
      return {
        ok: false,
        kind: 'conflict',
        message: `read back after patching to ${arm64Weight}%: ${back.ok ? `arm64 is at ${back.split.arm64}%` : back.problem}`,
      };
    }
    return back;
  }
}
