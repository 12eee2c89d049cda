// What ships: the rendered manifests (schema-checked through @kubernetes/client-node's typed models,
// least-privilege RBAC, pod security), the Dockerfile and the Slack app manifest.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { loadAllYaml, dumpYaml } from '@kubernetes/client-node';
import { DockerfileParser } from 'dockerfile-ast';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { renderDeploy, renderFile, type KubeManifest } from '../../src/ops/deploy.ts';
import { subcommands } from '../../commands/index.ts';

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');
const values = parse(read('deploy/values.yml')) as Record<string, unknown> & { canaryNamespaces: string[]; namespace: string; replicas: number };
const objects = renderDeploy(values);
const find = (kind: string, name?: string) => objects.filter((o) => o.kind === kind && (!name || o.metadata.name === name));

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
type PodSpec = {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Array<{ image: string; ports: Array<{ name: string }>; env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }>; securityContext: Record<string, unknown>; livenessProbe: { httpGet: { path: string; port: string } }; readinessProbe: { httpGet: { path: string; port: string } }; volumeMounts: Array<{ name: string }> }>;
  volumes: Array<{ name: string }>;
};

describe('deploy manifests', () => {
  test('deploy/archshift.yaml is the current render of deploy/values.yml', () => {
    assert.equal(read('deploy/archshift.yaml'), renderFile('deploy/values.yml'));
  });

  test("every object is a kind @kubernetes/client-node knows and survives its typed models unchanged (no unknown or misplaced field)", () => {
    const text = read('deploy/archshift.yaml');
    const typed = loadAllYaml(text) as object[];
    const plain = parseAllDocuments(text).map((d) => d.toJS() as KubeManifest);
    assert.equal(typed.length, objects.length);
    typed.forEach((obj, i) => {
      assert.match(obj.constructor.name, new RegExp(`^V\\d\\w*${plain[i].kind}$`), `${plain[i].kind} is not a model the client knows`);
      assert.deepEqual(parse(dumpYaml(obj)), plain[i], `${plain[i].kind}/${plain[i].metadata.name} lost or changed a field in the typed round trip`);
    });
  });

  test('names, namespaces and references hold together', () => {
    const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding']);
    for (const o of objects) {
      assert.match(o.metadata.name, /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
      assert.equal(Boolean(o.metadata.namespace), !clusterScoped.has(o.kind), `${o.kind} namespace`);
    }
    const sa = find('ServiceAccount')[0];
    for (const b of [...find('RoleBinding'), ...find('ClusterRoleBinding')] as Array<KubeManifest & { roleRef: { kind: string; name: string }; subjects: Array<{ name: string; namespace: string }> }>) {
      const role = find(b.roleRef.kind, b.roleRef.name).find((r) => b.roleRef.kind === 'ClusterRole' || r.metadata.namespace === b.metadata.namespace);
      assert.ok(role, `${b.kind} ${b.metadata.name} refers to a missing ${b.roleRef.kind}`);
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    }
    const sts = find('StatefulSet')[0] as KubeManifest & { spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec }; volumeClaimTemplates: Array<{ metadata: { name: string } }> } };
    assert.equal(sts.spec.replicas, values.replicas);
    assert.deepEqual(sts.spec.selector.matchLabels, sts.spec.template.metadata.labels);
    const svc = find('Service')[0] as KubeManifest & { spec: { selector: Record<string, string> } };
    assert.deepEqual(svc.spec.selector, sts.spec.template.metadata.labels);
    const pod = sts.spec.template.spec;
    assert.equal(pod.serviceAccountName, sa.metadata.name);
    const c = pod.containers[0];
    const portNames = c.ports.map((p) => p.name);
    assert.ok(portNames.includes(c.livenessProbe.httpGet.port) && c.livenessProbe.httpGet.path === '/healthz');
    assert.ok(portNames.includes(c.readinessProbe.httpGet.port) && c.readinessProbe.httpGet.path === '/readyz');
    const volumes = new Set([...pod.volumes.map((v) => v.name), ...sts.spec.volumeClaimTemplates.map((v) => v.metadata.name)]);
    for (const m of c.volumeMounts) assert.ok(volumes.has(m.name), `volume ${m.name}`);
    assert.ok(find('ConfigMap', (pod.volumes as Array<{ configMap?: { name: string } }>).find((v) => v.configMap)!.configMap!.name).length);
    assert.equal(find('PodDisruptionBudget').length, values.replicas > 1 ? 1 : 0);
  });

  test('RBAC is least privilege: reads only, patch only on VirtualServices in the allowed namespaces, Lease access in our own', () => {
    const readVerbs = new Set(['get', 'list', 'watch']);
    const patched: string[] = [];
    for (const role of [...find('ClusterRole'), ...find('Role')] as Array<KubeManifest & { rules: Rule[] }>) {
      for (const rule of role.rules) {
        assert.ok(![...rule.verbs, ...rule.resources, ...rule.apiGroups].includes('*'), 'no wildcards');
        assert.ok(!rule.resources.some((r) => ['secrets', 'configmaps', 'serviceaccounts'].includes(r) || r.includes('/')), `no secrets or subresources: ${rule.resources}`);
        const writes = rule.verbs.filter((v) => !readVerbs.has(v));
        if (!writes.length) continue;
        assert.equal(role.kind, 'Role', 'a ClusterRole never writes');
        if (rule.resources.includes('leases')) {
          assert.deepEqual(rule.apiGroups, ['coordination.k8s.io']);
          assert.deepEqual(rule.resources, ['leases']);
          assert.equal(role.metadata.namespace, values.namespace, 'Leases only in our own namespace');
          assert.ok(writes.every((v) => v === 'create' || (v === 'update' && rule.resourceNames?.length === 1)), `lease verbs ${writes}`);
        } else {
          assert.deepEqual(writes, ['patch']);
          assert.deepEqual(rule.apiGroups, ['networking.istio.io']);
          assert.deepEqual(rule.resources, ['virtualservices']);
          patched.push(role.metadata.namespace!);
        }
      }
    }
    assert.deepEqual(patched.sort(), [...values.canaryNamespaces].sort());
  });

  test('the pod runs as non-root on a read-only root filesystem, and secrets come only from a Secret', () => {
    const pod = (find('StatefulSet')[0] as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.notEqual(pod.securityContext.runAsUser, 0);
    const c = pod.containers[0];
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    assert.doesNotMatch(c.image, /:latest$/);
    for (const e of c.env.filter((e) => /TOKEN|SECRET|KEY/.test(e.name))) {
      assert.equal(e.value, undefined, `${e.name} must not be a literal`);
      assert.ok(e.valueFrom?.secretKeyRef, `${e.name} comes from the Secret`);
    }
    assert.equal(find('Secret').length, 0, 'no Secret is rendered (no secret in any file)');
  });

  test('the ConfigMap holds a config archshift accepts, with leader election on for several replicas', () => {
    const cm = find('ConfigMap')[0] as KubeManifest & { data: Record<string, string> };
    const config = parseConfig(parse(cm.data['archshift.yml']), 'rendered config');
    assert.equal(config.server.leaderElection.enabled, values.replicas > 1);
    assert.equal(config.server.port, 8080);
    assert.equal(config.store.file, '/data/archshift.json');
    assert.doesNotMatch(cm.data['archshift.yml'], /xox[abp]-|ghp_|BEGIN .*PRIVATE KEY/);
    const single = renderDeploy({ ...values, replicas: 1 });
    const one = parse((single.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> }).data['archshift.yml']);
    assert.equal(one.server.leaderElection.enabled, false);
    assert.equal(single.filter((o) => o.kind === 'PodDisruptionBudget').length, 0);
  });

  test('bad values are refused with the key named', () => {
    assert.throws(() => renderDeploy({ ...values, image: { repository: 'x', tag: 'latest' } }), /pin a version/);
    assert.throws(() => renderDeploy({ ...values, canaryNamespaces: ['Payments_NS'] }), /DNS-1123/);
    assert.throws(() => renderDeploy({ ...values, replcas: 3 }), /replcas/);
  });
});

describe('Dockerfile', () => {
  const df = DockerfileParser.parse(read('Dockerfile'));
  const froms = df.getFROMs();

  test('multi-stage: dependencies installed on the build platform for the target arch; a distroless runtime', () => {
    assert.ok(froms.length >= 2);
    const deps = froms.find((f) => f.getBuildStage() === 'deps')!;
    assert.equal(deps.getPlatformFlag()?.getValue(), '$BUILDPLATFORM');
    const runtime = froms.at(-1)!;
    assert.equal(runtime.getPlatformFlag(), null, 'the runtime stage takes the target platform');
    assert.match(runtime.getImage() ?? '', /^gcr\.io\/distroless\/nodejs20-debian12:nonroot$/);
    const text = read('Dockerfile');
    assert.match(text, /ARG TARGETARCH/);
    assert.match(text, /npm ci --omit=dev[^\n]*--cpu=/);
    for (const f of froms) assert.ok(f.getImageTag() !== 'latest', 'no latest tags');
  });

  test('the runtime runs as a non-root user and copies only sources that exist', () => {
    const lastStageLine = froms.at(-1)!.getRange().start.line;
    const user = df.getInstructions().filter((i) => i.getKeyword() === 'USER' && i.getRange().start.line > lastStageLine).at(-1);
    assert.ok(user, 'a USER in the runtime stage');
    assert.doesNotMatch(user.getArgumentsContent()!, /^(root|0)(:|$)/);
    for (const copy of df.getCOPYs().filter((c) => !c.getFromFlag())) {
      const args = copy.getArguments().map((a) => a.getValue());
      for (const src of args.slice(0, -1)) assert.ok(existsSync(new URL(src, root)), `COPY source ${src} exists`);
    }
    const ignore = read('.dockerignore').split('\n');
    for (const p of ['.git', 'node_modules', 'data', 'test', '.env', '*.pem', 'dist']) assert.ok(ignore.includes(p), `.dockerignore has ${p}`);
  });

  test('the image runs the compiled JS under plain node, built in its own stage the way `npm start` builds it', () => {
    const build = froms.find((f) => f.getBuildStage() === 'build');
    assert.ok(build, 'a build stage');
    const stageOf = (line: number) => froms.filter((f) => f.getRange().start.line <= line).at(-1);
    const runs = df.getInstructions().filter((i) => i.getKeyword() === 'RUN' && stageOf(i.getRange().start.line) === build);
    assert.ok(runs.some((r) => /npm run build\b/.test(r.getArgumentsContent() ?? '')), 'the build stage runs npm run build');
    assert.ok(df.getCOPYs().some((c) => c.getFromFlag()?.getValue() === 'build' && c.getArguments()[0].getValue() === '/app/dist'), 'the runtime copies dist from the build stage');
    const entrypoint = df.getInstructions().filter((i) => i.getKeyword() === 'ENTRYPOINT').at(-1)!;
    const argv = JSON.parse(entrypoint.getArgumentsContent()!) as string[];
    assert.ok(!argv.some((a) => /tsx/.test(a)), 'no tsx loader at run time');
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    assert.deepEqual(argv.slice(1), pkg.scripts.start.split(' ').slice(1), 'the image runs what `npm start` runs');
    assert.match(pkg.scripts.prestart, /npm run build/);
  });
});

describe('Slack app manifest', () => {
  const text = read('manifest.yml');
  const m = parse(text) as {
    features: { slash_commands: Array<{ command: string; usage_hint: string; description: string }>; bot_user: { display_name: string } };
    oauth_config: { scopes: { bot: string[] } };
    settings: { interactivity: { is_enabled: boolean }; socket_mode_enabled: boolean };
  };

  test('one /arm64 command whose usage hint names every subcommand; Socket Mode and interactivity on', () => {
    const [cmd, ...rest] = m.features.slash_commands;
    assert.equal(rest.length, 0);
    assert.equal(cmd.command, '/arm64');
    assert.ok(cmd.description.length <= 100);
    for (const s of subcommands) assert.match(cmd.usage_hint, new RegExp(`\\b${s.name}\\b`), `usage hint mentions ${s.name}`);
    assert.equal(m.settings.socket_mode_enabled, true);
    assert.equal(m.settings.interactivity.is_enabled, true);
    assert.ok(m.features.bot_user.display_name);
  });

  test('bot scopes are the minimal set, each justified in the header', () => {
    assert.deepEqual([...m.oauth_config.scopes.bot].sort(), ['chat:write', 'chat:write.public', 'commands', 'files:write', 'usergroups:read']);
    for (const scope of m.oauth_config.scopes.bot) assert.match(text, new RegExp(`^#\\s+${scope.replace('.', '\\.')}\\s+\\S`, 'm'), `${scope} is explained`);
  });
});
