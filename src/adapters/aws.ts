// The one AWS adapter for node capacity: Auto Scaling groups of a cluster, the architecture of their instance
// types (EC2), and EKS managed node groups. Credentials come from the SDK's default chain (IRSA on EKS,
// instance profiles, AWS_PROFILE, environment); the SDK is loaded on first use. Every failure keeps the
// IAM action it needed, so the report can say what to grant.
import type { AutoScalingClient, AutoScalingGroup as SdkGroup } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { EKSClient } from '@aws-sdk/client-eks';

export interface AwsConfig {
  region: string;
  /** Endpoint override (VPC endpoints, or a local double in tests). */
  endpoint?: string;
  /** Attempts per call, including the SDK's retries of throttled calls. */
  maxAttempts: number;
  /** EKS cluster name per kubeconfig context, when it is not the context name itself. */
  clusterNames: Record<string, string>;
}

/** Every IAM action this adapter calls: the minimal policy (docs/aws-iam-policy.json grants exactly these). */
export const AWS_ACTIONS = [
  'autoscaling:DescribeAutoScalingGroups',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplateVersions',
  'eks:ListNodegroups',
  'eks:DescribeNodegroup',
];

export type AwsErrorKind = 'throttled' | 'access-denied' | 'credentials' | 'other';

export class AwsError extends Error {
  constructor(
    message: string,
    readonly kind: AwsErrorKind,
    /** The IAM action that failed, e.g. `autoscaling:DescribeAutoScalingGroups`. */
    readonly action: string,
  ) {
    super(message);
  }
}

export interface RawAutoscalingGroup {
  name: string;
  min: number;
  max: number;
  desired: number;
  tags: Record<string, string>;
  /** Instance types named by the group itself (mixed-instances overrides, running instances). */
  instanceTypes: string[];
  launchTemplate?: { id?: string; name?: string; version?: string };
}

export interface RawManagedNodeGroup {
  name: string;
  amiType: string;
  instanceTypes: string[];
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  min: number;
  max: number;
  desired: number;
}

const EFFECTS: Record<string, string> = { NO_SCHEDULE: 'NoSchedule', NO_EXECUTE: 'NoExecute', PREFER_NO_SCHEDULE: 'PreferNoSchedule' };

const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'AuthFailure',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

export function toAwsError(action: string, err: unknown): AwsError {
  const e = err as { name?: string; Code?: string; message?: string };
  const code = e.Code ?? e.name ?? 'Error';
  const kind: AwsErrorKind = THROTTLED.has(code)
    ? 'throttled'
    : DENIED.has(code)
      ? 'access-denied'
      : BAD_CREDENTIALS.has(code)
        ? 'credentials'
        : 'other';
  return new AwsError(`${action} failed: ${code}${e.message ? `: ${e.message.slice(0, 300)}` : ''}`, kind, action);
}

/** The SDK warns on every start that its 2027 releases need Node 22; the lock file pins one that runs on 20. */
export function quietNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

interface Clients {
  autoscaling: AutoScalingClient;
  ec2: EC2Client;
  eks: EKSClient;
  sdk: {
    as: typeof import('@aws-sdk/client-auto-scaling');
    ec2: typeof import('@aws-sdk/client-ec2');
    eks: typeof import('@aws-sdk/client-eks');
  };
}

export class AwsNodeGroups {
  private clients?: Promise<Clients>;

  constructor(readonly config: AwsConfig) {}

  /** The EKS cluster behind a kubeconfig context. */
  clusterName(context: string): string {
    return this.config.clusterNames[context] ?? context;
  }

  /** Auto Scaling groups tagged for the cluster (kubernetes.io/cluster/<name> or k8s.io/cluster-autoscaler/<name>). */
  async autoscalingGroups(cluster: string): Promise<RawAutoscalingGroup[]> {
    const { autoscaling, sdk } = await this.connect();
    const out: RawAutoscalingGroup[] = [];
    let NextToken: string | undefined;
    do {
      const res = await this.call('autoscaling:DescribeAutoScalingGroups', () =>
        autoscaling.send(
          new sdk.as.DescribeAutoScalingGroupsCommand({
            Filters: [{ Name: 'tag-key', Values: [`kubernetes.io/cluster/${cluster}`, `k8s.io/cluster-autoscaler/${cluster}`] }],
            MaxRecords: 100,
            NextToken,
          }),
        ),
      );
      out.push(...(res.AutoScalingGroups ?? []).map(toRawGroup));
      NextToken = res.NextToken;
    } while (NextToken);
    return out;
  }

  /** The instance type of a launch template version (for groups that name no type themselves). */
  async launchTemplateInstanceType(lt: NonNullable<RawAutoscalingGroup['launchTemplate']>): Promise<string | undefined> {
    const { ec2, sdk } = await this.connect();
    const res = await this.call('ec2:DescribeLaunchTemplateVersions', () =>
      ec2.send(
        new sdk.ec2.DescribeLaunchTemplateVersionsCommand({
          ...(lt.id ? { LaunchTemplateId: lt.id } : { LaunchTemplateName: lt.name }),
          Versions: [lt.version ?? '$Default'],
        }),
      ),
    );
    return res.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.InstanceType;
  }

  /** CPU architectures per instance type (`arm64`, `x86_64`), asked 100 at a time. */
  async instanceArchitectures(types: string[]): Promise<Map<string, string[]>> {
    const { ec2, sdk } = await this.connect();
    const out = new Map<string, string[]>();
    const unique = [...new Set(types)];
    for (let i = 0; i < unique.length; i += 100) {
      const batch = unique.slice(i, i + 100);
      const res = await this.call('ec2:DescribeInstanceTypes', () =>
        ec2.send(new sdk.ec2.DescribeInstanceTypesCommand({ InstanceTypes: batch as never[] })),
      );
      for (const t of res.InstanceTypes ?? []) if (t.InstanceType) out.set(t.InstanceType, t.ProcessorInfo?.SupportedArchitectures ?? []);
    }
    return out;
  }

  async managedNodeGroups(cluster: string): Promise<RawManagedNodeGroup[]> {
    const { eks, sdk } = await this.connect();
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const res = await this.call('eks:ListNodegroups', () =>
        eks.send(new sdk.eks.ListNodegroupsCommand({ clusterName: cluster, nextToken })),
      );
      names.push(...(res.nodegroups ?? []));
      nextToken = res.nextToken;
    } while (nextToken);
    return Promise.all(
      names.map(async (nodegroupName) => {
        const res = await this.call('eks:DescribeNodegroup', () =>
          eks.send(new sdk.eks.DescribeNodegroupCommand({ clusterName: cluster, nodegroupName })),
        );
        const g = res.nodegroup ?? {};
        return {
          name: nodegroupName,
          amiType: g.amiType ?? 'unknown',
          instanceTypes: g.instanceTypes ?? [],
          labels: g.labels ?? {},
          taints: (g.taints ?? []).map((t) => ({
            key: t.key ?? '',
            ...(t.value ? { value: t.value } : {}),
            effect: EFFECTS[t.effect ?? ''] ?? t.effect ?? '',
          })),
          min: g.scalingConfig?.minSize ?? 0,
          max: g.scalingConfig?.maxSize ?? 0,
          desired: g.scalingConfig?.desiredSize ?? 0,
        };
      }),
    );
  }

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toAwsError(action, err);
    }
  }

  private connect(): Promise<Clients> {
    return (this.clients ??= (async () => {
      quietNodeVersionWarning();
      const [as, ec2, eks] = await Promise.all([
        import('@aws-sdk/client-auto-scaling'),
        import('@aws-sdk/client-ec2'),
        import('@aws-sdk/client-eks'),
      ]);
      const opts = {
        region: this.config.region,
        maxAttempts: this.config.maxAttempts,
        ...(this.config.endpoint ? { endpoint: this.config.endpoint } : {}),
      };
      return {
        autoscaling: new as.AutoScalingClient(opts),
        ec2: new ec2.EC2Client(opts),
        eks: new eks.EKSClient(opts),
        sdk: { as, ec2, eks },
      };
    })());
  }
}

function toRawGroup(g: SdkGroup): RawAutoscalingGroup {
  const tags: Record<string, string> = {};
  for (const t of g.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
  const overrides = (g.MixedInstancesPolicy?.LaunchTemplate?.Overrides ?? []).map((o) => o.InstanceType).filter((t): t is string => !!t);
  const running = (g.Instances ?? []).map((i) => i.InstanceType).filter((t): t is string => !!t);
  const spec = g.LaunchTemplate ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  return {
    name: g.AutoScalingGroupName ?? '',
    min: g.MinSize ?? 0,
    max: g.MaxSize ?? 0,
    desired: g.DesiredCapacity ?? 0,
    tags,
    instanceTypes: [...new Set([...overrides, ...running])],
    ...(spec ? { launchTemplate: { id: spec.LaunchTemplateId, name: spec.LaunchTemplateName, version: spec.Version } } : {}),
  };
}
