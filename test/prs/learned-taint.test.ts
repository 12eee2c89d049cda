// The selectors PR tolerates the taint the cluster's arm64 nodes carry (learned by the check), not a
// hard-coded NoExecute: a cluster that taints NoSchedule gets a NoSchedule toleration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addArm64Canary, addArm64Scheduling } from '../../src/prs/editors/workload.ts';

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    metadata:
      labels:
        app: api
    spec:
      tolerations:
        - key: kubernetes.io/arch
          operator: Equal
          value: arm64
          effect: NoExecute
      containers:
        - name: api
          image: acme/api:1.4
`;

const NOSCHED = { key: 'kubernetes.io/arch', value: 'arm64', effect: 'NoSchedule' };

test('a NoExecute toleration does not count for a NoSchedule taint: the PR appends the right one', () => {
  const r = addArm64Scheduling(deployment, { deployment: 'api', taint: NOSCHED });
  assert.ok(r.ok);
  const added = r.text.split('\n').filter((l, i) => l !== deployment.split('\n')[i]);
  assert.match(r.text, /effect: NoExecute\n\s+- key: kubernetes.io\/arch\n\s+operator: Equal\n\s+value: arm64\n\s+effect: NoSchedule/);
  assert.ok(added.length > 0);
});

test('without a learned taint the default kubernetes.io/arch=arm64:NoExecute is kept as it was', () => {
  const r = addArm64Scheduling(deployment, { deployment: 'api' });
  assert.ok(r.ok);
  assert.equal((r.text.match(/effect:/g) ?? []).length, 1, 'the existing toleration already matches');
});

test('the canary copy tolerates the learned taint too', () => {
  const r = addArm64Canary(deployment, { deployment: 'api', host: 'api', createDestinationRule: false, taint: NOSCHED });
  assert.ok(r.ok);
  const arm = r.text.slice(r.text.indexOf('name: api-arm64'));
  assert.match(arm, /effect: NoSchedule/);
});
