// The replica router, for services with no requests to split (workers, stream consumers: a Kafka
// consumer group balances partitions over its members): the arm64 share is the arm64 Deployment's share
// of the replicas, set through the scale subresource. The total is both Deployments' replicas when the
// canary started. The side gaining replicas is scaled up first and the other side scaled down only once
// the gaining side has them ready, so the group never runs short of members; every count is absolute
// (from the total and the weight), so finishing a move after a restart never scales twice.
import { KubeError, type KubeCluster } from '../adapters/kubernetes.ts';
import type { MoveProgress, RouteRead, RouteWrite, Split, TrafficRouter } from './router.ts';
import type { CanaryTarget } from './target.ts';

export interface ReplicaCounts {
  amd64: number;
  arm64: number;
}

/** Above this many replicas a whole-percent share no longer names one replica count. */
export const MAX_REPLICA_TOTAL = 100;

/**
 * The replicas each side runs at `weight`% arm64: rounded, with at least one arm64 replica once the
 * weight is above 0 and at least one amd64 replica below 100 (rounding never promotes early).
 */
export function countsFor(total: number, weight: number): ReplicaCounts {
  if (weight <= 0) return { amd64: total, arm64: 0 };
  if (weight >= 100) return { amd64: 0, arm64: total };
  const arm64 = Math.min(Math.max(Math.round((total * weight) / 100), 1), total - 1);
  return { amd64: total - arm64, arm64: Math.max(arm64, 0) };
}

/** The arm64 share of the replicas, in whole percent. */
export function shareOf(c: ReplicaCounts): number {
  const total = c.amd64 + c.arm64;
  return total === 0 ? 0 : Math.round((100 * c.arm64) / total);
}

/** The plan's weights as `total` replicas can follow them: each step's real share, repeats dropped (4 replicas: 5,10,25,50,100 → 25,50,100). */
export function replicaSteps(steps: number[], total: number): number[] {
  const out: number[] = [];
  for (const w of steps) {
    const share = shareOf(countsFor(total, w));
    if (share > 0 && share !== out.at(-1)) out.push(share);
  }
  return out;
}

const SIDES = ['amd64', 'arm64'] as const;

export class ReplicaRouter implements TrafficRouter {
  constructor(private readonly cluster: KubeCluster) {}

  async getRoutes(t: CanaryTarget): Promise<RouteRead> {
    const [amd, arm] = await Promise.all(SIDES.map((s) => this.cluster.getDeployment(t.namespace, t.deployments[s])));
    const gone = SIDES.filter((_, i) => ![amd, arm][i]).map((s) => `${t.namespace}/${t.deployments[s]}`);
    if (gone.length) return { ok: false, missing: true, problem: `Deployment ${gone.join(' and ')} no longer exists` };
    const counts = { amd64: amd!.spec?.replicas ?? 1, arm64: arm!.spec?.replicas ?? 1 };
    return { ok: true, split: splitOf(counts) };
  }

  progress(t: CanaryTarget, split: Split, weight: number): MoveProgress {
    const want = countsFor(totalOf(t), weight);
    const have = split.route as ReplicaCounts;
    if (have.amd64 === want.amd64 && have.arm64 === want.arm64) return 'done';
    // Only this router's order leaves the gaining side at its count with the other not yet scaled down.
    const [up, down] = gainingSide(have, want);
    return have[up] === want[up] && have[down] > want[down] ? 'partial' : 'not-started';
  }

  async setRoutes(t: CanaryTarget, from: Split, weight: number): Promise<RouteWrite> {
    const want = countsFor(totalOf(t), weight);
    const have = from.route as ReplicaCounts;
    const [up, down] = gainingSide(have, want);
    let scaled = false;
    try {
      if (have[up] !== want[up]) {
        await this.cluster.scaleDeployment(t.namespace, t.deployments[up], want[up]);
        scaled = true;
      }
      if (have[down] !== want[down]) {
        const ready = (await this.cluster.getDeployment(t.namespace, t.deployments[up]))?.status?.readyReplicas ?? 0;
        if (ready < want[up]) {
          const message = `${t.deployments[up]} has ${ready}/${want[up]} replicas ready; ${t.deployments[down]} keeps ${have[down]} until then`;
          return { ok: false, kind: 'waiting', message, deployment: t.deployments[up], ready, desired: want[up] };
        }
        await this.cluster.scaleDeployment(t.namespace, t.deployments[down], want[down]);
      }
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      // Once the first scale landed the move is half done: the next tick finishes it.
      return { ok: false, kind: scaled ? 'unverified' : 'refused', message: `the API server refused the scale: ${err.message}` };
    }
    let back: RouteRead;
    try {
      back = await this.getRoutes(t);
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      return { ok: false, kind: 'unverified', message: `scaled, but could not read the Deployments back: ${err.message}` };
    }
    if (!back.ok) return { ok: false, kind: 'conflict', message: back.problem };
    const got = back.split.route as ReplicaCounts;
    if (got.amd64 !== want.amd64 || got.arm64 !== want.arm64) {
      return {
        ok: false,
        kind: 'conflict',
        message: `read back after scaling to ${want.amd64} amd64 / ${want.arm64} arm64 replicas: the Deployments have ${got.amd64} / ${got.arm64}`,
      };
    }
    return back;
  }
}

function totalOf(t: CanaryTarget): number {
  if (!t.replicas) throw new Error(`canary ${t.service} is in replica mode without its starting replica counts`);
  return t.replicas.amd64 + t.replicas.arm64;
}

export function splitOf(counts: ReplicaCounts): Split {
  const arm64 = shareOf(counts);
  return { amd64: 100 - arm64, arm64, route: counts };
}

/** [the side that gains replicas, the side that loses them]. */
function gainingSide(have: ReplicaCounts, want: ReplicaCounts): ['amd64' | 'arm64', 'amd64' | 'arm64'] {
  return want.arm64 >= have.arm64 ? ['arm64', 'amd64'] : ['amd64', 'arm64'];
}
