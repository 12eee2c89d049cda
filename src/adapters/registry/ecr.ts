// Amazon ECR pull credentials: GetAuthorizationToken through the AWS SDK's default credential chain
// (IRSA on EKS, instance profiles, AWS_PROFILE, environment), loaded on first use. The token is a
// base64 `AWS:<password>` for Basic auth, valid 12 hours, and works for every registry of its region
// the caller may pull from (cross-account pulls are granted by the repository's policy).
import type { ECRClient } from '@aws-sdk/client-ecr';
import { quietNodeVersionWarning, toAwsError } from '../aws.ts';
import { RegistryFailure } from './failure.ts';

/** The IAM action behind each Registry API read on ECR (manifests, blobs, tag lists). */
export const ECR_READ_ACTIONS = { manifest: 'ecr:BatchGetImage', blob: 'ecr:GetDownloadUrlForLayer', tags: 'ecr:ListImages' } as const;

/** Every IAM action archshift needs on ECR: the token, then the reads it authorises (docs/aws-iam-policy.json). */
export const ECR_ACTIONS = ['ecr:GetAuthorizationToken', ...Object.values(ECR_READ_ACTIONS)];

const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;

/** `123456789012.dkr.ecr.eu-west-1.amazonaws.com` -> its account and region; other hosts -> undefined. */
export function parseEcrHost(host: string): { account: string; region: string } | undefined {
  const m = ECR_HOST.exec(host.toLowerCase());
  return m ? { account: m[1]!, region: m[2]! } : undefined;
}

export interface EcrOptions {
  /** Endpoint override (a VPC endpoint, or a local double in tests). */
  endpoint?: string;
  maxAttempts: number;
}

export interface EcrToken {
  username: string;
  password: string;
  /** When ECR says the token expires (ms since epoch). */
  expiresAt: number;
}

export class EcrTokens {
  private readonly clients = new Map<string, Promise<{ client: ECRClient; sdk: typeof import('@aws-sdk/client-ecr') }>>();

  constructor(private readonly o: EcrOptions) {}

  async token(host: string): Promise<EcrToken> {
    const { region } = parseEcrHost(host)!;
    const { client, sdk } = await this.connect(region);
    let res;
    try {
      res = await client.send(new sdk.GetAuthorizationTokenCommand({}));
    } catch (err) {
      const e = toAwsError('ecr:GetAuthorizationToken', err);
      const what = `ECR did not give a pull token for ${host} (${e.message})`;
      if (e.kind === 'access-denied')
        throw new RegistryFailure(
          'unauthorized',
          `${what}; grant archshift's AWS role ecr:GetAuthorizationToken, and ecr:BatchGetImage, ecr:GetDownloadUrlForLayer and ecr:ListImages on the repositories (docs/aws-iam-policy.json)`,
        );
      if (e.kind === 'credentials')
        throw new RegistryFailure(
          'unauthorized',
          `${what}; archshift found no valid AWS credentials (IRSA, instance profile, AWS_PROFILE or AWS_* variables)`,
        );
      if (e.kind === 'throttled')
        throw new RegistryFailure('error', `${what}; ECR throttled the call after ${this.o.maxAttempts} attempts, try again later`);
      throw new RegistryFailure('error', what);
    }
    const data = res.authorizationData?.[0];
    const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 || !data?.expiresAt)
      throw new RegistryFailure('error', `ECR answered GetAuthorizationToken for ${host} without a usable token`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), expiresAt: data.expiresAt.getTime() };
  }

  private connect(region: string) {
    let client = this.clients.get(region);
    if (!client) {
      client = (async () => {
        quietNodeVersionWarning();
        const sdk = await import('@aws-sdk/client-ecr');
        return {
          sdk,
          client: new sdk.ECRClient({ region, maxAttempts: this.o.maxAttempts, ...(this.o.endpoint ? { endpoint: this.o.endpoint } : {}) }),
        };
      })();
      this.clients.set(region, client);
    }
    return client;
  }
}
