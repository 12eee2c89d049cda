import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarImageRef, parseImageRef, withTag } from '../../src/images/ref.ts';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseImageRef', () => {
  const valid: [string, { registry: string; apiHost: string; repository: string; tag?: string; digest?: string; normalized: string }][] = [
    [
      'redis',
      {
        registry: 'docker.io',
        apiHost: 'registry-1.docker.io',
        repository: 'library/redis',
        tag: 'latest',
        normalized: 'docker.io/library/redis:latest',
      },
    ],
    [
      'redis:6',
      {
        registry: 'docker.io',
        apiHost: 'registry-1.docker.io',
        repository: 'library/redis',
        tag: '6',
        normalized: 'docker.io/library/redis:6',
      },
    ],
    [
      'bitnami/redis:7.2',
      {
        registry: 'docker.io',
        apiHost: 'registry-1.docker.io',
        repository: 'bitnami/redis',
        tag: '7.2',
        normalized: 'docker.io/bitnami/redis:7.2',
      },
    ],
    [
      'docker.io/redis',
      {
        registry: 'docker.io',
        apiHost: 'registry-1.docker.io',
        repository: 'library/redis',
        tag: 'latest',
        normalized: 'docker.io/library/redis:latest',
      },
    ],
    [
      'index.docker.io/library/redis:7',
      {
        registry: 'docker.io',
        apiHost: 'registry-1.docker.io',
        repository: 'library/redis',
        tag: '7',
        normalized: 'docker.io/library/redis:7',
      },
    ],
    [
      'ghcr.io/org/team/app:1.0-alpine',
      {
        registry: 'ghcr.io',
        apiHost: 'ghcr.io',
        repository: 'org/team/app',
        tag: '1.0-alpine',
        normalized: 'ghcr.io/org/team/app:1.0-alpine',
      },
    ],
    [
      'localhost/app',
      { registry: 'localhost', apiHost: 'localhost', repository: 'app', tag: 'latest', normalized: 'localhost/app:latest' },
    ],
    [
      'localhost:5000/team/app:2',
      { registry: 'localhost:5000', apiHost: 'localhost:5000', repository: 'team/app', tag: '2', normalized: 'localhost:5000/team/app:2' },
    ],
    [
      'registry.example.com:8443/app',
      {
        registry: 'registry.example.com:8443',
        apiHost: 'registry.example.com:8443',
        repository: 'app',
        tag: 'latest',
        normalized: 'registry.example.com:8443/app:latest',
      },
    ],
    [
      `redis@${digest}`,
      {
        registry: 'docker.io',
        apiHost: 'registry-1.docker.io',
        repository: 'library/redis',
        digest,
        normalized: `docker.io/library/redis@${digest}`,
      },
    ],
    [
      `gcr.io/distroless/static:nonroot@${digest}`,
      {
        registry: 'gcr.io',
        apiHost: 'gcr.io',
        repository: 'distroless/static',
        tag: 'nonroot',
        digest,
        normalized: `gcr.io/distroless/static:nonroot@${digest}`,
      },
    ],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:v1.2.3',
      {
        registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        apiHost: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        repository: 'payments/api',
        tag: 'v1.2.3',
        normalized: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:v1.2.3',
      },
    ],
    [
      '  my_org/my-app__x:Tag_1  ',
      {
        registry: 'docker.io',
        apiHost: 'registry-1.docker.io',
        repository: 'my_org/my-app__x',
        tag: 'Tag_1',
        normalized: 'docker.io/my_org/my-app__x:Tag_1',
      },
    ],
  ];
  for (const [input, expected] of valid) {
    test(`parses ${input.trim()}`, () => {
      const ref = parseImageRef(input);
      assert.deepEqual(
        {
          registry: ref.registry,
          apiHost: ref.apiHost,
          repository: ref.repository,
          tag: ref.tag,
          digest: ref.digest,
          normalized: ref.normalized,
        },
        { tag: undefined, digest: undefined, ...expected },
      );
    });
  }

  const invalid: [string, RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    ['Redis:6', /must be lowercase/],
    ['ghcr.io/Org/app', /must be lowercase/],
    ['${BASE_IMAGE}:1.0', /unresolved variable/],
    ['node:${NODE_VERSION}-alpine', /unresolved variable/],
    ['redis@sha256:abc', /64 lowercase hex/],
    [`redis@md5:${'a'.repeat(32)}`, /sha256:<64 hex digits>/],
    [`redis@sha256:${'A'.repeat(64)}`, /lowercase hex/],
    ['redis:', /tag ""/],
    ['redis:-bad', /tag "-bad"/],
    ['team//app', /empty path component/],
    ['team/app/', /empty path component/],
    ['my-.app', /not a valid repository path component/],
    ['redis 6', /whitespace/],
    [':6', /no repository name/],
  ];
  for (const [input, message] of invalid) {
    test(`rejects "${input}"`, () => {
      assert.throws(
        () => parseImageRef(input),
        (err: Error) => message.test(err.message) && err.message.includes('invalid image reference'),
      );
    });
  }

  test("familiar form and tag rewrite keep the user's style", () => {
    assert.equal(familiarImageRef(parseImageRef('docker.io/library/redis:7')), 'redis:7');
    assert.equal(familiarImageRef(parseImageRef('bitnami/redis:7')), 'bitnami/redis:7');
    assert.equal(familiarImageRef(parseImageRef('ghcr.io/org/app:1')), 'ghcr.io/org/app:1');
    assert.equal(withTag(parseImageRef(`redis:6@${digest}`), '7'), 'redis:7');
    assert.equal(withTag(parseImageRef('localhost:5000/app:1'), '2'), 'localhost:5000/app:2');
  });
});
