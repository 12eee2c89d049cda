// Bad input never stops a scan: each unreadable file becomes one finding and the rest of the report stands.
// A dependency file that cannot be read leaves its dependencies unknown, so it holds the verdict (unknown);
// any other file is a warning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scanCheckout } from '../../src/readiness/scan.ts';
import { elf, zip } from '../fixtures/binaries.ts';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'archshift-bad-'));
  const w = async (rel: string, content: string | Buffer) => {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  };
  await w('broken-pom/pom.xml', '<project><dependencies><dependency></project>');
  await w('broken-node/package.json', '{ "dependencies": { "sharp": "0.25.0", }');
  await w('broken-poetry/poetry.lock', '[[package]\nname = "numpy"');
  await w('broken-pipenv/Pipfile.lock', '{"default": ');
  await w('binary/requirements.txt', Buffer.from([0x6e, 0x75, 0x00, 0x01, 0x02]));
  await w('huge/requirements.txt', 'six==1.0\n'.repeat(200_000)); // ~1.8 MB with a 1 MiB cap below
  await w('broken-yaml/deploy.yaml', 'apiVersion: v1\nkind: Pod\nimage: fluent/fluent-bit:1.7.4\nspec: [unclosed\n');
  await w('good/requirements.txt', 'numpy==1.18.0\n');
  await w(
    'jars/lib/netty-transport-native-epoll-4.1.45.Final-linux-x86_64.jar',
    zip(['META-INF/', 'META-INF/native/libnetty_transport_native_epoll_x86_64.so', 'io/netty/Epoll.class']),
  );
  await w('jars/lib/multi.jar', zip(['META-INF/native/libfoo_x86_64.so', 'META-INF/native/libfoo_aarch_64.so']));
  await w('jars/lib/not-a-zip.jar', 'plain text');
  await w('bin/libfast.so', elf(0x3e));
  await w('bin/amd64/libtwin.so', elf(0x3e));
  await w('bin/arm64/libtwin.so', elf(0xb7));
  await w('node_modules/node-sass/package.json', '{"dependencies": {"node-sass": "4.0.0"}}'); // never scanned
  await symlink('loop-b.txt', path.join(root, 'good/requirements-loop.txt')).catch(() => undefined);
  await symlink('requirements-loop.txt', path.join(root, 'good/loop-b.txt'));
  await mkdir(path.join(root, 'cycle'));
  await symlink('..', path.join(root, 'cycle/up')); // a directory loop: never followed
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('malformed, huge, binary, looping and non-zip files are each one finding; the rest still scans', async () => {
  const findings = await scanCheckout(root, { maxFileBytes: 1024 * 1024 });
  const unreadable = findings
    .filter((f) => f.id === 'file.unreadable')
    .map((f) => `${f.evidence.file}: ${f.title.replace(/^could not read \S+: /, '')}`)
    .sort();
  assert.equal(unreadable.length, 9, unreadable.join('\n'));
  const expect = [
    /^binary\/requirements\.txt: binary content/,
    /^broken-node\/package\.json: malformed JSON/,
    /^broken-pipenv\/Pipfile\.lock: malformed JSON/,
    /^broken-poetry\/poetry\.lock: malformed TOML/,
    /^broken-pom\/pom\.xml: malformed XML/,
    /^broken-yaml\/deploy\.yaml: malformed YAML/,
    /^good\/requirements-loop\.txt: symlink loop/,
    /^huge\/requirements\.txt: larger than 1 MiB/,
    /^jars\/lib\/not-a-zip\.jar: not a zip archive/,
  ];
  expect.forEach((re, i) => assert.match(unreadable[i]!, re));
  for (const f of findings.filter((x) => x.id === 'file.unreadable')) {
    const dependencyFile = !/deploy\.yaml$|\.jar$/.test(f.evidence.file!);
    assert.equal(f.severity, dependencyFile ? 'unknown' : 'warning', f.evidence.file);
    assert.equal(f.ecosystem, 'file');
  }
  // The good parts of the checkout are still judged.
  const rest = findings
    .filter((f) => f.id !== 'file.unreadable')
    .map((f) => `${f.severity} ${f.id} ${f.evidence.file}`)
    .sort();
  assert.deepEqual(rest, [
    'blocker jvm.jar-x86-only jars/lib/netty-transport-native-epoll-4.1.45.Final-linux-x86_64.jar',
    'blocker native.prebuilt-x86 bin/libfast.so',
    'change python.numpy good/requirements.txt',
  ]);
});
