// System components are recognised in Dockerfile base images too (FROM flink:…, FROM fluent/fluent-bit:…),
// also when pulled through a registry mirror; the knowledge entries carry their sources.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../src/readiness/check.ts';
import { localSource } from '../../src/readiness/sources.ts';
import { builtinKnowledge } from '../../src/readiness/knowledge/load.ts';
import { analyseManifest, analyseSystemImages } from '../../src/readiness/analysers/system.ts';

describe('system components in base images', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archshift-sysbase-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function check(name: string, dockerfile: string, mirrors?: Record<string, string[]>) {
    const root = join(dir, name);
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'Dockerfile'), dockerfile);
    return runCheck({ service: name, code: localSource(root), dockerfiles: ['Dockerfile'], mirrors });
  }

  test('FROM flink:1.13 is the Flink system component, with its source; 1.14.3 is fine', async () => {
    const report = await check('job', 'FROM flink:1.13.6-scala_2.12-java11\nCOPY target/job.jar /opt/flink/usrlib/job.jar\n');
    const [f] = report.findings.filter((x) => x.id === 'system.flink');
    assert.ok(f, JSON.stringify(report.findings, null, 2));
    assert.equal(f.severity, 'change');
    assert.equal(f.evidence.line, 1);
    assert.match(f.title, /amd64-only .* until 1\.14\.3/);
    assert.match(f.source!, /apache\/flink-docker/);
    assert.notEqual(report.verdict, 'ready');
    const fine = await check('job-new', 'FROM flink:1.14.3-scala_2.12\n');
    assert.deepEqual(
      fine.findings.filter((x) => x.id === 'system.flink'),
      [],
    );
  });

  test('a mirrored fluent-bit base image is judged by its upstream name', async () => {
    const report = await check('logs', 'FROM registry.example.com/proxy/fluent/fluent-bit:1.9.10\n', {
      'docker.io': ['registry.example.com/proxy'],
    });
    const [f] = report.findings.filter((x) => x.id === 'system.fluent-bit');
    assert.ok(f, JSON.stringify(report.findings, null, 2));
    assert.equal(f.severity, 'warning', '1.9 crashes are reported, not proven: investigate');
    assert.match(f.title, /SIGTRAP\/SIGTERM/);
    assert.match(f.fix!, /3\.2\.3/, 'the upgrade skips past the later -fsigned-char fix');
  });

  test('manifests see through mirrors too', () => {
    const yaml =
      'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: logs}\nspec:\n  template:\n    spec:\n      containers:\n        - name: fluent-bit\n          image: harbor.example.com/dockerhub/fluent/fluent-bit:1.7.4\n';
    assert.deepEqual(analyseManifest('ds.yaml', yaml, builtinKnowledge()).findings, [], 'unknown without the mirror');
    const [f] = analyseManifest('ds.yaml', yaml, builtinKnowledge(), { 'docker.io': ['harbor.example.com/dockerhub'] }).findings;
    assert.equal(f!.id, 'system.fluent-bit');
    assert.equal(f!.evidence.line, 9);
  });

  test('fluent-bit knowledge: #3142 fixed in 1.7.8, the emoji bug (#8521) fixed in 3.2.3 by PR 8851', () => {
    const kb = builtinKnowledge();
    const at = (tag: string) => analyseSystemImages([{ image: `fluent/fluent-bit:${tag}`, evidence: {} }], kb);
    const [old] = at('1.7.7');
    assert.match(old!.title, /issue 3142/);
    assert.match(old!.source!, /pull\/3522/);
    assert.deepEqual(at('1.7.8'), []);
    assert.deepEqual(at('1.8.15'), []);
    const [emoji] = at('2.2.2');
    assert.equal(emoji!.severity, 'change');
    assert.match(emoji!.title, /-fsigned-char/);
    assert.match(emoji!.source!, /pull\/8851/);
    assert.deepEqual(at('3.2.3'), []);
  });

  test('Flink as a JVM dependency: the RocksDB state backend before 1.14 fails, other artifacts are a warning', () => {
    const kb = builtinKnowledge();
    assert.equal(kb.lookup('jvm', 'org.apache.flink:flink-statebackend-rocksdb_2.12')!.id, 'jvm.flink-rocksdb');
    assert.equal(kb.lookup('jvm', 'org.apache.flink:flink-streaming-java_2.12')!.id, 'jvm.flink');
    assert.equal(kb.lookup('jvm', 'org.apache.flinkx:other'), undefined);
  });
});
