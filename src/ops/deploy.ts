// Renders the Kubernetes manifests from deploy/values.yml: plain objects in TypeScript instead of a
// template language, so the test suite can render, schema-check and RBAC-check exactly what ships.
//   npx tsx src/ops/deploy.ts deploy/values.yml > archshift.yaml && kubectl apply -f archshift.yaml
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { z } from 'zod';

const dns = z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'a DNS-1123 label');

export const deployValuesSchema = z
  .object({
    name: dns.default('archshift'),
    namespace: dns.default('archshift'),
    image: z
      .object({
        repository: z.string().min(1),
        tag: z.string().min(1).refine((t) => t !== 'latest', 'pin a version, not latest'),
        pullPolicy: z.enum(['IfNotPresent', 'Always', 'Never']).default('IfNotPresent'),
      })
      .strict(),
    /** More than one turns on Lease leader election in the rendered config. */
    replicas: z.number().int().min(1).max(10).default(2),
    /** Kubernetes Secret holding SLACK_BOT_TOKEN, SLACK_APP_TOKEN / SLACK_SIGNING_SECRET, GITHUB_* keys, ARCHSHIFT_PEER_SECRET. */
    secretName: dns.default('archshift-secrets'),
    /** The only namespaces where archshift may patch VirtualServices (canaries). */
    canaryNamespaces: z.array(dns).default([]),
    /** The archshift.yml the pods read (a ConfigMap); secrets never go here. */
    config: z.record(z.string(), z.unknown()).default({}),
    storage: z
      .object({ size: z.string().regex(/^\d+(Mi|Gi)$/).default('1Gi'), storageClassName: z.string().min(1).optional() })
      .strict()
      .prefault({}),
    resources: z
      .object({
        requests: z.object({ cpu: z.string(), memory: z.string() }).strict().default({ cpu: '50m', memory: '160Mi' }),
        limits: z.object({ memory: z.string() }).strict().default({ memory: '384Mi' }),
      })
      .strict()
      .prefault({}),
    /** e.g. { kubernetes.io/arch: arm64 }: archshift runs on the architecture it promotes. */
    nodeSelector: z.record(z.string(), z.string()).default({}),
    tolerations: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .strict();

export type DeployValues = z.infer<typeof deployValuesSchema>;

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

const OPS_PORT = 8080;
const SLACK_PORT = 3000;
const CONFIG_PATH = '/etc/archshift/archshift.yml';
const STORE_DIR = '/data';

/** Everything readiness, discovery and the digest read, and the Istio objects the canary reads. */
export const READ_RULES = [
  { apiGroups: [''], resources: ['namespaces', 'nodes', 'pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['networking.istio.io'], resources: ['virtualservices', 'destinationrules'], verbs: ['get', 'list', 'watch'] },
  // `nodes`: Karpenter NodePools (a cluster without Karpenter answers 404, which is fine).
  { apiGroups: ['karpenter.sh'], resources: ['nodepools'], verbs: ['list'] },
];

export function renderDeploy(input: unknown): KubeManifest[] {
  const v = deployValuesSchema.parse(input);
  const labels = { 'app.kubernetes.io/name': 'archshift', 'app.kubernetes.io/instance': v.name };
  const meta = (name: string, namespaced = true) => ({ name, ...(namespaced ? { namespace: v.namespace } : {}), labels });
  const subject = [{ kind: 'ServiceAccount', name: v.name, namespace: v.namespace }];
  const slackMode = (v.config.slack as { mode?: string } | undefined)?.mode ?? 'socket';
  const leaseName = `${v.name}-leader`;

  const config = {
    ...v.config,
    store: { file: `${STORE_DIR}/archshift.json` },
    server: {
      ...(v.config.server as object | undefined),
      port: OPS_PORT,
      // The Lease lives in our own namespace (POD_NAMESPACE); one replica needs no election.
      leaderElection: { ...((v.config.server as { leaderElection?: object } | undefined)?.leaderElection ?? {}), enabled: v.replicas > 1, leaseName },
    },
    slack: { ...(v.config.slack as object | undefined), mode: slackMode, port: SLACK_PORT },
  };

  // ARCHSHIFT_PEER_SECRET signs the requests replicas send each other (needed with more than one).
  const secretEnv = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'GITHUB_TOKEN', 'GITHUB_APP_ID', 'GITHUB_APP_INSTALLATION_ID', 'GITHUB_APP_PRIVATE_KEY', 'ARCHSHIFT_PEER_SECRET'].map((key) => ({
    name: key,
    // Optional: which keys exist depends on Socket vs HTTP mode and token vs App; the bot says what is missing.
    valueFrom: { secretKeyRef: { name: v.secretName, key, optional: key !== 'SLACK_BOT_TOKEN' } },
  }));

  const objects: KubeManifest[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(v.name), automountServiceAccountToken: true },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(`${v.name}-read`, false), rules: READ_RULES },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(`${v.name}-read`, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${v.name}-read` },
      subjects: subject,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(`${v.name}-leader-election`),
      rules: [
        // `create` cannot be limited by name (the object does not exist yet); get/update can.
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [leaseName], verbs: ['get', 'update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${v.name}-leader-election`),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${v.name}-leader-election` },
      subjects: subject,
    },
  ];
  for (const ns of v.canaryNamespaces) {
    const m = { name: `${v.name}-canary`, namespace: ns, labels };
    objects.push(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: m, rules: [{ apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['patch'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: m,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${v.name}-canary` },
        subjects: subject,
      },
    );
  }
  objects.push(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${v.name}-config`), data: { 'archshift.yml': stringify(config, { lineWidth: 0, aliasDuplicateObjects: false }) } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(v.name),
      spec: {
        selector: labels,
        ports: [
          { name: 'ops', port: OPS_PORT, targetPort: 'ops', protocol: 'TCP' },
          ...(slackMode === 'http' ? [{ name: 'slack', port: SLACK_PORT, targetPort: 'slack', protocol: 'TCP' }] : []),
        ],
      },
    },
    statefulSet(v, labels, secretEnv),
  );
  if (v.replicas > 1) {
    objects.push({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(v.name), spec: { maxUnavailable: 1, selector: { matchLabels: labels } } });
  }
  return objects;
}

function statefulSet(v: DeployValues, labels: Record<string, string>, secretEnv: unknown[]): KubeManifest {
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: v.name, namespace: v.namespace, labels },
    spec: {
      serviceName: v.name,
      replicas: v.replicas,
      // Replicas are independent (no ordering needed): start and stop them together.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: labels },
      template: {
        metadata: {
          labels,
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(OPS_PORT), 'prometheus.io/path': '/metrics' },
        },
        spec: {
          serviceAccountName: v.name,
          // Above server.shutdownTimeoutSeconds (20) + the store hand-over (replicateSeconds + 2 = 7): the bot
          // finishes its work, lets a follower copy its store and releases the Lease first.
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          ...(Object.keys(v.nodeSelector).length ? { nodeSelector: v.nodeSelector } : {}),
          ...(v.tolerations.length ? { tolerations: v.tolerations } : {}),
          containers: [
            {
              name: 'archshift',
              image: `${v.image.repository}:${v.image.tag}`,
              imagePullPolicy: v.image.pullPolicy,
              args: ['--config', CONFIG_PATH],
              ports: [
                { name: 'ops', containerPort: OPS_PORT, protocol: 'TCP' },
                { name: 'slack', containerPort: SLACK_PORT, protocol: 'TCP' },
              ],
              // POD_IP: the address this replica publishes on the Lease when it leads (server.advertiseHost).
              env: [fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('POD_NAMESPACE', 'metadata.namespace'), fieldEnv('POD_IP', 'status.podIP'), { name: 'LOG_LEVEL', value: 'info' }, ...secretEnv],
              livenessProbe: { httpGet: { path: '/healthz', port: 'ops' }, periodSeconds: 10, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'ops' }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
              startupProbe: { httpGet: { path: '/healthz', port: 'ops' }, periodSeconds: 2, failureThreshold: 30 },
              resources: v.resources,
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'config', mountPath: '/etc/archshift', readOnly: true },
                { name: 'store', mountPath: STORE_DIR },
                // tsx caches compiled files under the temp dir; the root filesystem is read-only.
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: `${v.name}-config` } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'store', labels },
          spec: {
            accessModes: ['ReadWriteOnce'],
            ...(v.storage.storageClassName ? { storageClassName: v.storage.storageClassName } : {}),
            resources: { requests: { storage: v.storage.size } },
          },
        },
      ],
    },
  };
}

export function toYaml(objects: KubeManifest[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** The values file read and rendered; throws with zod's message naming the bad key. */
export function renderFile(path: string): string {
  return `# Rendered by \`npx tsx src/ops/deploy.ts ${path}\`; edit the values file, not this one.\n` + toYaml(renderDeploy(parse(readFileSync(path, 'utf8')) ?? {}));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2] ?? 'deploy/values.yml';
  try {
    process.stdout.write(renderFile(file));
  } catch (err) {
    process.stderr.write(`cannot render ${file}: ${err instanceof z.ZodError ? z.prettifyError(err) : (err as Error).message}\n`);
    process.exit(1);
  }
}
