// deploy/ as a platform team applies it: each overlay rendered by `kubectl kustomize`, validated against
// the Kubernetes schemas (kubernetes-models: the official OpenAPI schemas; @kubernetes-models/prometheus-operator
// for the ServiceMonitor CRD) and @kubernetes/client-node's typed models (no unknown or misplaced field), with
// references, pod security, the config each overlay mounts, and the readiness check on deploy/ itself.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dumpYaml, loadAllYaml } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { Catalog } from '../../src/config/catalog.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { checkPath } from '../../src/readiness/check.ts';
import { schedulingFindings, type PodSpecLike } from '../../src/readiness/analysers/workload.ts';
import { shippedVariants, type Manifest, type Variant } from './shipped.ts';

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: unknown };
  }>;
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
}
interface PodSpec extends PodSpecLike {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }>;
}
type Workload = Manifest & {
  spec: {
    replicas: number;
    strategy?: { type: string };
    serviceName?: string;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};
type Service = Manifest & {
  spec: { clusterIP?: string; selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string | number }> };
};

const find = (v: Variant, kind: string, name?: string) => v.objects.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
const workload = (v: Variant) => {
  const w = v.objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind)) as Workload[];
  assert.equal(w.length, 1, `${v.name}: one workload`);
  return w[0];
};
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, val]) => labels[k] === val);
function configOf(v: Variant): { config: Config; text: string } {
  const pod = workload(v).spec.template.spec;
  const cmName = pod.volumes.find((vol) => vol.configMap)!.configMap!.name;
  const cm = find(v, 'ConfigMap', cmName)[0] as (Manifest & { data: Record<string, string> }) | undefined;
  assert.ok(cm, `${v.name}: the ConfigMap ${cmName} the pod mounts is rendered`);
  const text = cm.data['archshift.yml'];
  return { config: parseConfig(parse(text), `${v.name}/archshift.yml`), text };
}

/** The kubernetes-models class that validates `apiVersion`/`kind` against its published schema. */
async function schemaModel(apiVersion: string, kind: string): Promise<new (o: unknown) => { validate(): void }> {
  const spec = apiVersion.startsWith('monitoring.coreos.com/')
    ? `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion}/${kind}`;
  const mod = (await import(spec).catch(() => ({}))) as Record<string, new (o: unknown) => { validate(): void }>;
  assert.ok(mod[kind], `no published schema for ${apiVersion} ${kind}`);
  return mod[kind];
}

const variants = shippedVariants();
const byName = (name: string) => {
  const v = variants.find((x) => x.name === `deploy/overlays/${name}`);
  assert.ok(v, `overlay ${name} exists`);
  return v;
};

describe('deploy/ overlays, rendered by kubectl kustomize', () => {
  test('the overlays a platform team expects: Socket Mode, HTTP with an Ingress, several replicas on PostgreSQL', () => {
    assert.deepEqual(variants.map((v) => v.name).sort(), ['deploy/overlays/http', 'deploy/overlays/postgres', 'deploy/overlays/socket']);
  });

  for (const v of variants) {
    describe(v.name, () => {
      test('every object validates against its Kubernetes schema and survives the typed models unchanged', async () => {
        for (const o of v.objects) {
          const Model = await schemaModel(o.apiVersion, o.kind);
          assert.doesNotThrow(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`);
        }
        // The typed round trip drops fields the API does not have (a misplaced or misspelt key).
        const typed = loadAllYaml(v.text) as object[];
        typed.forEach((obj, i) => {
          const plain = v.objects[i];
          if (plain.apiVersion.startsWith('monitoring.coreos.com/')) return; // a CRD: the client has no model for it
          assert.match(obj.constructor.name, new RegExp(`^V\\d\\w*${plain.kind}$`), `${plain.kind} is a kind the client knows`);
          assert.deepEqual(
            parse(dumpYaml(obj)),
            plain,
            `${plain.kind}/${plain.metadata.name} lost or changed a field in the typed round trip`,
          );
        });
      });

      test('namespaces, names and references hold together', () => {
        const w = workload(v);
        const ns = w.metadata.namespace;
        const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding']);
        for (const o of v.objects) {
          assert.equal(Boolean(o.metadata.namespace), !clusterScoped.has(o.kind), `${o.kind} ${o.metadata.name}: namespace`);
          // Only the canary RoleBindings live elsewhere.
          if (o.metadata.namespace && o.metadata.namespace !== ns)
            assert.equal(o.kind, 'RoleBinding', `${o.kind} ${o.metadata.name} is outside ${ns}`);
        }
        const pod = w.spec.template.spec;
        assert.ok(selects(w.spec.selector.matchLabels, w.spec.template.metadata.labels));
        assert.equal(find(v, 'ServiceAccount', pod.serviceAccountName)[0]?.metadata.namespace, ns);
        for (const b of find(v, 'RoleBinding').concat(find(v, 'ClusterRoleBinding')) as Array<
          Manifest & { subjects: Array<{ kind: string; name: string; namespace: string }> }
        >) {
          assert.deepEqual(
            b.subjects,
            [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: ns }],
            `${b.kind} ${b.metadata.name} subjects`,
          );
        }
        if (w.kind === 'StatefulSet') {
          const svc = find(v, 'Service', w.spec.serviceName)[0] as Service | undefined;
          assert.equal(svc?.spec.clusterIP, 'None', 'a StatefulSet names a headless Service');
        }
        const c = pod.containers[0];
        const ports = new Set((c.ports ?? []).map((p) => p.name));
        assert.equal(c.livenessProbe?.httpGet.path, '/healthz');
        assert.equal(c.readinessProbe?.httpGet.path, '/readyz');
        assert.ok(ports.has(c.livenessProbe!.httpGet.port) && ports.has(c.readinessProbe!.httpGet.port));
        const volumes = new Map(pod.volumes.map((vol) => [vol.name, vol]));
        for (const m of c.volumeMounts ?? []) assert.ok(volumes.has(m.name), `volume ${m.name}`);
        for (const vol of pod.volumes) {
          if (vol.configMap) assert.equal(find(v, 'ConfigMap', vol.configMap.name).length, 1, `ConfigMap ${vol.configMap.name}`);
          if (vol.persistentVolumeClaim)
            assert.equal(
              find(v, 'PersistentVolumeClaim', vol.persistentVolumeClaim.claimName).length,
              1,
              `PVC ${vol.persistentVolumeClaim.claimName}`,
            );
        }
        const services = find(v, 'Service') as Service[];
        for (const s of services) {
          assert.ok(selects(s.spec.selector, w.spec.template.metadata.labels), `Service ${s.metadata.name} selects the pods`);
          for (const p of s.spec.ports) assert.ok(ports.has(String(p.targetPort)), `Service port ${p.name} targets a container port`);
        }
        for (const sm of find(v, 'ServiceMonitor') as Array<
          Manifest & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> } }
        >) {
          const target = services.find((s) => selects(sm.spec.selector.matchLabels, s.metadata.labels ?? {}));
          assert.ok(target, 'the ServiceMonitor selects the Service');
          assert.deepEqual(
            sm.spec.endpoints.map((e) => [target.spec.ports.some((p) => p.name === e.port), e.path]),
            [[true, '/metrics']],
          );
        }
        for (const np of find(v, 'NetworkPolicy') as Array<
          Manifest & {
            spec: { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ ports: Array<{ port: string | number }> }> };
          }
        >) {
          assert.ok(selects(np.spec.podSelector.matchLabels, w.spec.template.metadata.labels), 'the NetworkPolicy applies to the pods');
          for (const p of np.spec.ingress.flatMap((r) => r.ports))
            assert.ok(typeof p.port === 'number' || ports.has(p.port), `NetworkPolicy port ${p.port}`);
        }
        for (const pdb of find(v, 'PodDisruptionBudget') as Array<
          Manifest & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }
        >) {
          assert.ok(selects(pdb.spec.selector.matchLabels, w.spec.template.metadata.labels));
          assert.ok(pdb.spec.minAvailable < w.spec.replicas, 'the PodDisruptionBudget lets a drain evict one pod');
        }
      });

      test('the pod runs non-root on a read-only root, on arm64 with the taint tolerated; secrets come only from Secrets the README creates', () => {
        const w = workload(v);
        const pod = w.spec.template.spec;
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.notEqual(pod.securityContext.runAsUser, 0);
        const c = pod.containers[0];
        assert.deepEqual(c.securityContext, {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        assert.doesNotMatch(c.image, /:latest$|^[^:]+$/, 'a pinned image');
        // The readiness analyser archshift applies to every service says this one is placed on arm64.
        const findings = schedulingFindings({
          kind: w.kind,
          name: w.metadata.name,
          spec: pod,
          origin: { file: v.name, line: 1 },
          containers: [],
        });
        assert.deepEqual(
          findings.map((f) => f.id),
          ['kubernetes.arm64-scheduled'],
        );
        const readme = read('README.md');
        const deploySection = readme.slice(readme.indexOf('### Deploy'), readme.indexOf('\n### ', readme.indexOf('### Deploy') + 1));
        for (const e of c.env ?? []) {
          if (/TOKEN|SECRET|KEY|PASSWORD|DATABASE_URL/.test(e.name))
            assert.ok(e.valueFrom?.secretKeyRef && e.value === undefined, `${e.name} comes from a Secret`);
          const ref = e.valueFrom?.secretKeyRef;
          if (ref)
            assert.ok(
              deploySection.includes(`create secret generic ${ref.name} `) && deploySection.includes(ref.key),
              `README "Deploy" shows how to create ${ref.name} with ${ref.key}`,
            );
          assert.notEqual(e.name, 'ARCHSHIFT_PEER_SECRET', 'replicas share PostgreSQL, not a peer protocol');
        }
        assert.equal(find(v, 'Secret').length, 0, 'no Secret in git');
        assert.doesNotMatch(v.text, /\/internal\/(events|store)|xox[abp]-|ghp_|BEGIN [A-Z ]*PRIVATE KEY/);
      });

      test('the mounted archshift.yml is a config archshift accepts, and it matches the pod', () => {
        const w = workload(v);
        const { config } = configOf(v);
        const c = w.spec.template.spec.containers[0];
        assert.deepEqual(c.args, ['--config', '/etc/archshift/archshift.yml']);
        const port = (name: string) => c.ports?.find((p) => p.name === name)?.containerPort;
        assert.equal(config.server.port, port('ops'));
        assert.equal(
          config.slack.mode === 'http' ? config.slack.port : undefined,
          port('slack'),
          'the slack port is open exactly in HTTP mode',
        );
        const several = w.spec.replicas > 1;
        assert.equal(config.server.leaderElection.enabled, several, 'leader election exactly with several replicas');
        // Services marked for canaries live in a namespace where the canary RoleBinding lets archshift move traffic.
        const canaryNamespaces = (find(v, 'RoleBinding') as Array<Manifest & { roleRef: { name: string } }>)
          .filter((b) => b.roleRef.name === 'archshift-canary')
          .map((b) => b.metadata.namespace);
        for (const s of new Catalog(config.catalog).list()) {
          if ('canary' in s && s.canary)
            assert.ok(
              canaryNamespaces.includes(s.namespace),
              `service ${s.name} (canary: true) is in ${s.namespace}, which has no canary RoleBinding`,
            );
        }
        const driver = (config.store as { driver?: string }).driver ?? 'lowdb';
        if (driver === 'lowdb') {
          assert.equal(w.spec.replicas, 1, 'lowdb has one writer');
          assert.equal(w.spec.strategy?.type, 'Recreate', 'the old pod lets go of the store before the new one starts');
          const claims = new Set(w.spec.template.spec.volumes.filter((vol) => vol.persistentVolumeClaim).map((vol) => vol.name));
          const mount = c.volumeMounts?.find((m) => claims.has(m.name));
          assert.ok(mount && config.store.file.startsWith(`${mount.mountPath}/`), `store.file ${config.store.file} is on the volume`);
        } else {
          assert.equal(driver, 'postgres');
          assert.ok(w.spec.replicas >= 2);
          assert.equal(find(v, 'PersistentVolumeClaim').length, 0, 'no volume: the state is in PostgreSQL');
          assert.equal(find(v, 'PodDisruptionBudget').length, 1);
          assert.deepEqual(c.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef, {
            name: 'archshift-database',
            key: 'DATABASE_URL',
          });
        }
      });
    });
  }

  test('HTTP: the Ingress sends /slack/events to the port Bolt listens on', () => {
    const v = byName('http');
    const ing = find(v, 'Ingress')[0] as Manifest & {
      spec: { rules: Array<{ http: { paths: Array<{ path: string; backend: { service: { name: string; port: { name: string } } } }> } }> };
    };
    assert.ok(ing);
    const path = ing.spec.rules[0].http.paths[0];
    assert.equal(path.path, '/slack/events');
    const svc = find(v, 'Service', path.backend.service.name)[0] as Service;
    const port = svc.spec.ports.find((p) => p.name === path.backend.service.port.name)!;
    const c = workload(v).spec.template.spec.containers[0];
    assert.equal(c.ports?.find((p) => p.name === port.targetPort)?.containerPort, configOf(v).config.slack.port);
    assert.equal(configOf(v).config.slack.mode, 'http');
  });

  test('PostgreSQL: the NetworkPolicy lets the replicas reach the database', () => {
    const np = find(byName('postgres'), 'NetworkPolicy')[0] as Manifest & { spec: { egress: Array<{ ports: Array<{ port: number }> }> } };
    assert.ok(np.spec.egress.some((r) => r.ports.some((p) => p.port === 5432)));
  });

  test('Socket Mode and PostgreSQL need no Ingress', () => {
    for (const name of ['socket', 'postgres']) assert.equal(find(byName(name), 'Ingress').length, 0);
  });

  test('archshift check on its own repository finds nothing to change in deploy/', async () => {
    const report = await checkPath(fileURLToPath(root), { scan: async () => [] });
    const own = report.findings.filter((f) => f.evidence.file?.startsWith('deploy/') && !f.id.startsWith('image.'));
    assert.deepEqual(
      own.filter((f) => f.severity !== 'info').map((f) => `${f.id} ${f.evidence.file}: ${f.title}`),
      [],
    );
    // Every file holding the pod spec is seen as a workload placed on arm64.
    const placed = own.filter((f) => f.id === 'kubernetes.arm64-scheduled').map((f) => f.evidence.file);
    assert.deepEqual(placed, ['deploy/base/deployment.yaml']);
  });

  test('deploy/ is kustomize only: no second copy of the manifests', () => {
    const files = (dir: string): string[] =>
      readdirSync(new URL(dir, root), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(`${dir}/${e.name}`) : [`${dir}/${e.name}`],
      );
    for (const f of files('deploy'))
      assert.match(f, /^deploy\/(base|components\/[\w-]+|overlays\/[\w-]+|install-namespace)\/[\w.-]+\.ya?ml$/, f);
  });
});
