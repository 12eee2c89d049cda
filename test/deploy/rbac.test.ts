// Least privilege, derived from the code: the RBAC that deploy/ ships grants exactly the permissions
// the requests of the Kubernetes adapter and the Lease code need (test/deploy/kube-calls.ts), no more
// and no fewer, in every shipped variant.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { accessKey, adapterMethods, readSource, requiredAccess, sourceFiles, USES, type Access, type Deployment } from './kube-calls.ts';
import { shippedVariants, type Manifest } from './shipped.ts';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
type RoleObject = Manifest & { rules?: Rule[] };
type Binding = Manifest & { roleRef: { kind: string; name: string }; subjects?: Array<{ kind: string; name: string; namespace?: string }> };

/** The ServiceAccount the pods run as, and what its namespace and config say about the deployment. */
function deploymentOf(objects: Manifest[]): Deployment & { serviceAccount: string } {
  const pod = objects.find((o) => ['Deployment', 'StatefulSet'].includes(o.kind)) as Manifest & {
    spec: { template: { spec: { serviceAccountName: string } } };
  };
  assert.ok(pod, 'a Deployment or StatefulSet');
  const namespace = pod.metadata.namespace!;
  const cm = objects.find(
    (o) => o.kind === 'ConfigMap' && typeof (o as { data?: Record<string, string> }).data?.['archshift.yml'] === 'string',
  ) as Manifest & { data: Record<string, string> };
  const config = parseConfig(parse(cm.data['archshift.yml']), `${cm.metadata.name}/archshift.yml`);
  const le = config.server.leaderElection;
  const canaryNamespaces = [
    ...new Set(objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.namespace !== namespace).map((o) => o.metadata.namespace!)),
  ].sort();
  return {
    serviceAccount: pod.spec.template.spec.serviceAccountName,
    namespace,
    canaryNamespaces,
    ...(le.enabled ? { lease: { namespace: le.namespace ?? namespace, name: le.leaseName } } : {}),
  };
}

/** Every permission the rendered RBAC gives the ServiceAccount, expanded to single permissions. */
function grantedAccess(objects: Manifest[], sa: { name: string; namespace: string }): Map<string, Access> {
  const granted = new Map<string, Access>();
  const roles = objects.filter((o): o is RoleObject => o.kind === 'Role' || o.kind === 'ClusterRole');
  for (const b of objects.filter((o): o is Binding => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    if (!b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === sa.name && s.namespace === sa.namespace)) continue;
    const role = roles.find(
      (r) =>
        r.kind === b.roleRef.kind &&
        r.metadata.name === b.roleRef.name &&
        (r.kind === 'ClusterRole' || r.metadata.namespace === b.metadata.namespace),
    );
    assert.ok(role, `${b.kind} ${b.metadata.name} refers to ${b.roleRef.kind} ${b.roleRef.name}, which deploy/ does not ship`);
    const where = b.kind === 'ClusterRoleBinding' ? 'cluster-wide' : `namespace ${b.metadata.namespace}`;
    for (const rule of role.rules ?? []) {
      assert.ok(!rule.nonResourceURLs, `${role.kind} ${role.metadata.name} grants nonResourceURLs, which no call uses`);
      for (const group of rule.apiGroups ?? [])
        for (const resource of rule.resources ?? [])
          for (const verb of rule.verbs)
            for (const name of rule.resourceNames?.length ? rule.resourceNames : [undefined]) {
              const a: Access = { group, resource, verb, where, ...(name ? { name } : {}) };
              granted.set(accessKey(a), a);
            }
    }
  }
  return granted;
}

describe('RBAC derived from the Kubernetes calls the code makes', () => {
  test('every public method of the Kubernetes adapter is driven by the derivation (add new calls to USES in test/deploy/kube-calls.ts)', () => {
    const driven = USES.flatMap((u) => u.methods as string[]).sort();
    assert.deepEqual(driven, adapterMethods().sort());
  });

  test('calls with a narrower scope than cluster-wide are made only where the derivation says', () => {
    const files = sourceFiles().filter((f) => f !== 'src/adapters/kubernetes.ts');
    for (const use of USES.filter((u) => u.callers)) {
      for (const method of use.methods) {
        const callers = files.filter((f) => new RegExp(`\\.${method}\\(`).test(readSource(f)));
        const outside = callers.filter((f) => !use.callers!.some((c) => f.startsWith(c)));
        assert.deepEqual(
          outside,
          [],
          `${method} is granted only in the ${use.scope} namespace(s); a call from ${outside.join(', ')} needs its own entry in USES`,
        );
      }
    }
  });

  test('no code reaches the API server except through the adapter', () => {
    for (const f of sourceFiles().filter((p) => p !== 'src/adapters/kubernetes.ts')) {
      const text = readSource(f);
      // Type-only imports and the model classes (no API client in them) are fine.
      const values = [...text.matchAll(/^import (?!type\b)[^;]*from '(@kubernetes\/client-node[^']*)'/gm)]
        .map((m) => m[1])
        .filter((m) => m !== '@kubernetes/client-node/dist/types.js');
      assert.deepEqual(
        values,
        [],
        `${f} imports the Kubernetes client; go through src/adapters/kubernetes.ts so RBAC is derived from its calls`,
      );
      assert.doesNotMatch(text, /import\(\s*'@kubernetes\/client-node'\s*\)|makeApiClient/, `${f} builds its own Kubernetes client`);
    }
  });

  for (const variant of shippedVariants()) {
    test(`${variant.name}: the ServiceAccount is granted exactly what the calls need`, async () => {
      const d = deploymentOf(variant.objects);
      const needed = await requiredAccess(d);
      const granted = grantedAccess(variant.objects, { name: d.serviceAccount, namespace: d.namespace });
      const missing = [...needed.keys()].filter((k) => !granted.has(k)).sort();
      const extra = [...granted.keys()].filter((k) => !needed.has(k)).sort();
      assert.deepEqual(
        { missing, extra },
        { missing: [], extra: [] },
        `RBAC of ${variant.name} differs from the calls made (missing: the code would get 403; extra: a grant nothing uses)`,
      );
      // Every Role and ClusterRole shipped is bound to archshift, so nothing is granted by accident later.
      for (const r of variant.objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
        assert.ok(
          variant.objects.some((b) => (b as Binding).roleRef?.kind === r.kind && (b as Binding).roleRef.name === r.metadata.name),
          `${r.kind} ${r.metadata.name} is shipped but never bound`,
        );
      }
    });
  }
});
