// A double of the AWS APIs archshift reads, on one local endpoint (the SDK's endpoint override), speaking
// their wire protocols: Auto Scaling's Query protocol (form-encoded POST, XML answers, `<ErrorResponse>`
// errors), EC2's protocol (form POST, XML with `…Set/item` lists, `<Response><Errors>` errors), EKS's
// REST-JSON (GET /clusters/{name}/node-groups…, `x-amzn-ErrorType`) and ECR's JSON 1.1 (POST / with
// `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Operation>`, `application/x-amz-json-1.1`, errors
// as `{"__type","message"}` with HTTP 400; GetAuthorizationToken answers a base64 `AWS:<password>` and
// `expiresAt` in epoch seconds, 12 hours ahead unless set shorter). Every request must
// carry a SigV4 Authorization header whose credential scope names the right service and region and a known
// access key id (unknown keys get each API's own "invalid credentials" error); the signature hash itself is
// not recomputed. Pagination (NextToken/nextToken), throttling and access-denied faults, and added latency
// are as the real services answer them. Each served call is recorded as its IAM action.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenLocal } from './net.ts';

export interface FakeAsg {
  name: string;
  min: number;
  max: number;
  desired: number;
  tags: Record<string, string>;
  instanceTypes?: string[];
  launchTemplate?: { id: string; name: string; version?: string };
  instances?: string[];
}

export interface FakeNodegroup {
  cluster: string;
  name: string;
  amiType: string;
  instanceTypes: string[];
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: 'NO_SCHEDULE' | 'NO_EXECUTE' | 'PREFER_NO_SCHEDULE' }[];
  min: number;
  max: number;
  desired: number;
}

export interface AwsFault {
  /** IAM action, e.g. `autoscaling:DescribeAutoScalingGroups`. */
  action: string;
  kind: 'throttle' | 'deny';
  /** How many matching calls fail; default: all. */
  times?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export class FakeAwsApi {
  url = '';
  region = 'eu-west-1';
  latencyMs = 0;
  readonly credentials = { accessKeyId: 'AKIDFAKEARCHSHIFT', secretAccessKey: 'fake-secret' };
  readonly groups: FakeAsg[] = [];
  readonly nodegroups: FakeNodegroup[] = [];
  /** Instance type → SupportedArchitectures. */
  readonly instanceTypes = new Map<string, string[]>([
    ['m5.large', ['x86_64']],
    ['c5.xlarge', ['x86_64']],
    ['m6i.large', ['x86_64']],
    ['m6g.large', ['arm64']],
    ['c7g.xlarge', ['arm64']],
    ['r6g.large', ['arm64']],
  ]);
  readonly launchTemplates = new Map<string, string>(); // id → instance type
  /** The password ECR's tokens carry (give the registry an htpasswd user `AWS` with it). */
  ecrPassword = 'ecr-password';
  /** Lifetime of an ECR token; ECR's own is 12 hours. */
  ecrTokenLifetimeSeconds = 12 * 3600;
  readonly actions: string[] = [];
  faults: AwsFault[] = [];
  private server?: Server;

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.url = await listenLocal(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  /** Environment for an SDK client pointed at this double (no IMDS, no shared files). */
  env(): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: this.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    };
  }

  private fault(action: string): AwsFault | undefined {
    const f = this.faults.find((x) => x.action === action && (x.times === undefined || x.times > 0));
    if (f && f.times !== undefined) f.times--;
    return f;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = String(req.headers.authorization ?? '');
    const scope =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(
        auth,
      );
    if (url.pathname.startsWith('/clusters/')) return this.eks(req, res, url, scope);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target.startsWith('AmazonEC2ContainerRegistry_V20150921.')) return this.ecr(req, res, target, body, scope);
    const form = new URLSearchParams(body);
    const version = form.get('Version');
    if (version === '2011-01-01') return this.autoscaling(res, form, scope);
    if (version === '2016-11-15') return this.ec2(res, form, scope);
    res.writeHead(400, { 'content-type': 'text/xml' }).end('<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>');
  }

  private checkAuth(scope: RegExpExecArray | null, service: string): 'ok' | 'unsigned' | 'unknown-key' | 'wrong-scope' {
    if (!scope) return 'unsigned';
    if (scope[1] !== this.credentials.accessKeyId) return 'unknown-key';
    return scope[2] === this.region && scope[3] === service ? 'ok' : 'wrong-scope';
  }

  private autoscaling(res: ServerResponse, form: URLSearchParams, scope: RegExpExecArray | null): void {
    const action = `autoscaling:${form.get('Action')}`;
    const error = (status: number, code: string, message: string): void =>
      void res
        .writeHead(status, { 'content-type': 'text/xml' })
        .end(
          `<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
        );
    const auth = this.checkAuth(scope, 'autoscaling');
    if (auth === 'unsigned') return error(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    if (auth === 'unknown-key') return error(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    if (auth === 'wrong-scope') return error(403, 'SignatureDoesNotMatch', 'Credential should be scoped to a valid region and service.');
    const f = this.fault(action);
    if (f?.kind === 'throttle') return error(400, 'Throttling', 'Rate exceeded');
    if (f?.kind === 'deny')
      return error(403, 'AccessDenied', `User: arn:aws:sts::123456789012:assumed-role/archshift/x is not authorized to perform: ${action}`);
    if (action !== 'autoscaling:DescribeAutoScalingGroups')
      return error(400, 'InvalidAction', `Could not find operation ${form.get('Action')}`);
    this.actions.push(action);
    const wanted = [...form.entries()].filter(([k]) => /^Filters\.member\.1\.Values\.member\.\d+$/.test(k)).map(([, v]) => v);
    const matching = this.groups.filter(
      (g) => form.get('Filters.member.1.Name') !== 'tag-key' || Object.keys(g.tags).some((k) => wanted.includes(k)),
    );
    const max = Math.min(Number(form.get('MaxRecords') ?? 50), 100);
    const start = Number(form.get('NextToken') ?? 0);
    const page = matching.slice(start, start + max);
    const next = start + max < matching.length ? `<NextToken>${start + max}</NextToken>` : '';
    const member = (g: FakeAsg) => {
      const lt = g.launchTemplate
        ? `<LaunchTemplate><LaunchTemplateId>${g.launchTemplate.id}</LaunchTemplateId><LaunchTemplateName>${esc(g.launchTemplate.name)}</LaunchTemplateName><Version>${esc(g.launchTemplate.version ?? '$Default')}</Version></LaunchTemplate>`
        : '';
      const mixed = g.instanceTypes?.length
        ? `<MixedInstancesPolicy><LaunchTemplate><Overrides>${g.instanceTypes.map((t) => `<member><InstanceType>${t}</InstanceType></member>`).join('')}</Overrides></LaunchTemplate></MixedInstancesPolicy>`
        : '';
      const instances = (g.instances ?? [])
        .map(
          (t, i) =>
            `<member><InstanceId>i-${i}</InstanceId><InstanceType>${t}</InstanceType><LifecycleState>InService</LifecycleState></member>`,
        )
        .join('');
      const tags = Object.entries(g.tags)
        .map(
          ([k, v]) =>
            `<member><Key>${esc(k)}</Key><Value>${esc(v)}</Value><ResourceId>${esc(g.name)}</ResourceId><ResourceType>auto-scaling-group</ResourceType><PropagateAtLaunch>true</PropagateAtLaunch></member>`,
        )
        .join('');
      return `<member><AutoScalingGroupName>${esc(g.name)}</AutoScalingGroupName><MinSize>${g.min}</MinSize><MaxSize>${g.max}</MaxSize><DesiredCapacity>${g.desired}</DesiredCapacity>${lt}${mixed}<Instances>${instances}</Instances><Tags>${tags}</Tags></member>`;
    };
    res
      .writeHead(200, { 'content-type': 'text/xml' })
      .end(
        `<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingGroupsResult><AutoScalingGroups>${page.map(member).join('')}</AutoScalingGroups>${next}</DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`,
      );
  }

  private ec2(res: ServerResponse, form: URLSearchParams, scope: RegExpExecArray | null): void {
    const action = `ec2:${form.get('Action')}`;
    const error = (status: number, code: string, message: string): void =>
      void res
        .writeHead(status, { 'content-type': 'text/xml' })
        .end(
          `<Response><Errors><Error><Code>${code}</Code><Message>${esc(message)}</Message></Error></Errors><RequestID>r-1</RequestID></Response>`,
        );
    const auth = this.checkAuth(scope, 'ec2');
    if (auth === 'unsigned') return error(401, 'MissingParameter', 'Request is missing Authentication Token');
    if (auth !== 'ok') return error(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
    const f = this.fault(action);
    if (f?.kind === 'throttle') return error(503, 'RequestLimitExceeded', 'Request limit exceeded.');
    if (f?.kind === 'deny') return error(403, 'UnauthorizedOperation', `You are not authorized to perform this operation. (${action})`);
    const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
    if (action === 'ec2:DescribeInstanceTypes') {
      this.actions.push(action);
      const asked = [...form.entries()].filter(([k]) => /^InstanceType\.\d+$/.test(k)).map(([, v]) => v);
      if (asked.length > 100) return error(400, 'InvalidParameterValue', 'The maximum number of instance types is 100');
      const unknown = asked.find((t) => !this.instanceTypes.has(t));
      if (unknown) return error(400, 'InvalidInstanceType', `The following supplied instance types do not exist: [${unknown}]`);
      const items = asked.map(
        (t) =>
          `<item><instanceType>${t}</instanceType><processorInfo><supportedArchitectures>${this.instanceTypes
            .get(t)!
            .map((a) => `<item>${a}</item>`)
            .join('')}</supportedArchitectures></processorInfo></item>`,
      );
      return void res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          `<DescribeInstanceTypesResponse ${ns}><requestId>r-1</requestId><instanceTypeSet>${items.join('')}</instanceTypeSet></DescribeInstanceTypesResponse>`,
        );
    }
    if (action === 'ec2:DescribeLaunchTemplateVersions') {
      this.actions.push(action);
      const id = form.get('LaunchTemplateId') ?? [...this.launchTemplates.keys()].find(() => false);
      const type = id ? this.launchTemplates.get(id) : undefined;
      if (!type)
        return error(400, 'InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${id}, does not exist.`);
      return void res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          `<DescribeLaunchTemplateVersionsResponse ${ns}><requestId>r-1</requestId><launchTemplateVersionSet><item><launchTemplateId>${id}</launchTemplateId><versionNumber>1</versionNumber><defaultVersion>true</defaultVersion><launchTemplateData><instanceType>${type}</instanceType></launchTemplateData></item></launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>`,
        );
    }
    error(400, 'InvalidAction', `The action ${form.get('Action')} is not valid for this web service.`);
  }

  private ecr(req: IncomingMessage, res: ServerResponse, target: string, body: string, scope: RegExpExecArray | null): void {
    const error = (type: string, message: string): void =>
      void res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: type, message }));
    const auth = this.checkAuth(scope, 'ecr');
    if (auth === 'unsigned') return error('MissingAuthenticationTokenException', 'Missing Authentication Token');
    if (auth !== 'ok') return error('UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-amz-json-1.1')
      return error('SerializationException', 'Start of structure or map found where not expected.');
    const operation = target.slice(target.indexOf('.') + 1);
    if (operation !== 'GetAuthorizationToken') return error('UnknownOperationException', `Unknown operation ${operation}`);
    try {
      JSON.parse(body || '{}');
    } catch {
      return error('SerializationException', 'Malformed JSON');
    }
    const action = `ecr:${operation}`;
    const f = this.fault(action);
    if (f?.kind === 'throttle') return error('ThrottlingException', 'Rate exceeded');
    if (f?.kind === 'deny')
      return error(
        'AccessDeniedException',
        `User: arn:aws:sts::123456789012:assumed-role/archshift/x is not authorized to perform: ${action} on resource: * because no identity-based policy allows the ${action} action`,
      );
    this.actions.push(action);
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(
      JSON.stringify({
        authorizationData: [
          {
            authorizationToken: Buffer.from(`AWS:${this.ecrPassword}`).toString('base64'),
            expiresAt: Math.floor(Date.now() / 1000) + this.ecrTokenLifetimeSeconds,
            proxyEndpoint: `https://123456789012.dkr.ecr.${this.region}.amazonaws.com`,
          },
        ],
      }),
    );
  }

  private eks(req: IncomingMessage, res: ServerResponse, url: URL, scope: RegExpExecArray | null): void {
    const error = (status: number, type: string, message: string): void =>
      void res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type }).end(JSON.stringify({ message }));
    const auth = this.checkAuth(scope, 'eks');
    if (auth === 'unsigned') return error(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    if (auth !== 'ok') return error(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    const m = /^\/clusters\/([^/]+)\/node-groups(?:\/([^/]+))?$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return error(404, 'ResourceNotFoundException', 'No such resource');
    const cluster = decodeURIComponent(m[1]!);
    const action = m[2] ? 'eks:DescribeNodegroup' : 'eks:ListNodegroups';
    const f = this.fault(action);
    if (f?.kind === 'throttle') return error(429, 'ThrottlingException', 'Rate exceeded');
    if (f?.kind === 'deny') return error(403, 'AccessDeniedException', `User is not authorized to perform: ${action}`);
    this.actions.push(action);
    const groups = this.nodegroups.filter((g) => g.cluster === cluster);
    if (!m[2]) {
      const max = Number(url.searchParams.get('maxResults') ?? 100);
      const start = Number(url.searchParams.get('nextToken') ?? 0);
      const names = groups.slice(start, start + max).map((g) => g.name);
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ nodegroups: names, ...(start + max < groups.length ? { nextToken: String(start + max) } : {}) }));
    }
    const g = groups.find((x) => x.name === decodeURIComponent(m[2]!));
    if (!g) return error(404, 'ResourceNotFoundException', `No node group found for name: ${m[2]}.`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        nodegroup: {
          nodegroupName: g.name,
          clusterName: g.cluster,
          status: 'ACTIVE',
          amiType: g.amiType,
          instanceTypes: g.instanceTypes,
          labels: g.labels ?? {},
          taints: g.taints ?? [],
          scalingConfig: { minSize: g.min, maxSize: g.max, desiredSize: g.desired },
          resources: { autoScalingGroups: [{ name: `eks-${g.name}` }] },
        },
      }),
    );
  }
}
