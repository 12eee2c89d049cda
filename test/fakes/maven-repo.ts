// A Maven repository double over real HTTP. Faithful to the standard repository layout that Maven
// Central, Artifactory and Nexus serve (`group/as/path/artifact/version/artifact-version.pom` and
// `group/as/path/artifact/maven-metadata.xml`), to 404 for anything not published, to GET/HEAD only
// (405 otherwise, as repository managers answer for read-only repositories), and, when credentials are
// set, to Basic authentication with 401 + WWW-Authenticate for a missing or wrong password. The POMs are
// the ones a test writes (our own words); `fail` makes every answer a given status, for outage tests.
import { createServer, type Server } from 'node:http';
import { closeServer, listenLocal } from './net.ts';

export interface FakeMavenRepo {
  url: string;
  /** Paths asked for, in order. */
  requests: string[];
  /** Publishes a POM (and lists its version in the artifact's maven-metadata.xml). */
  publish(gav: string, pom: string): void;
  /** Every answer gets this status until cleared (undefined). */
  fail(status: number | undefined): void;
  close(): Promise<void>;
}

export interface FakeMavenOptions {
  username?: string;
  password?: string;
}

export async function startFakeMavenRepo(opts: FakeMavenOptions = {}): Promise<FakeMavenRepo> {
  const files = new Map<string, string>();
  const versions = new Map<string, string[]>();
  const requests: string[] = [];
  let failing: number | undefined;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    requests.push(path);
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    if (opts.username) {
      const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="maven"' }).end();
    }
    if (failing !== undefined) return void res.writeHead(failing).end();
    const body = files.get(path) ?? metadata(path);
    if (body === undefined) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    res
      .writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) })
      .end(req.method === 'HEAD' ? undefined : body);
  });
  const metadata = (path: string): string | undefined => {
    const m = /^(.+)\/([^/]+)\/maven-metadata\.xml$/.exec(path);
    const list = m && versions.get(`${m[1]!.replace(/\//g, '.')}:${m[2]}`);
    if (!m || !list) return undefined;
    return `<?xml version="1.0" encoding="UTF-8"?>\n<metadata>\n  <groupId>${m[1]!.replace(/\//g, '.')}</groupId>\n  <artifactId>${m[2]}</artifactId>\n  <versioning>\n    <versions>\n${list.map((v) => `      <version>${v}</version>`).join('\n')}\n    </versions>\n  </versioning>\n</metadata>\n`;
  };
  const url = await listenLocal(server);
  return {
    url,
    requests,
    publish(gav, pom) {
      const [group, artifact, version] = gav.split(':') as [string, string, string];
      files.set(`${group.replace(/\./g, '/')}/${artifact}/${version}/${artifact}-${version}.pom`, pom);
      const key = `${group}:${artifact}`;
      versions.set(key, [...(versions.get(key) ?? []), version]);
    },
    fail(status) {
      failing = status;
    },
    close: () => closeServer(server),
  };
}

/** A small POM in the shape published ones have. */
export function pom(
  gav: string,
  body: { parent?: string; properties?: Record<string, string>; dependencies?: string[]; managed?: string[] } = {},
): string {
  const [group, artifact, version] = gav.split(':');
  const dep = (d: string) => {
    const [g, a, v, extra] = d.split(':');
    const opts = Object.fromEntries(
      (extra ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=') as [string, string]),
    );
    const exclusions = opts.exclude
      ? `<exclusions>${opts.exclude
          .split('+')
          .map((e) => `<exclusion><groupId>${e.split('/')[0]}</groupId><artifactId>${e.split('/')[1]}</artifactId></exclusion>`)
          .join('')}</exclusions>`
      : '';
    return `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId>${v ? `<version>${v}</version>` : ''}${opts.scope ? `<scope>${opts.scope}</scope>` : ''}${opts.type ? `<type>${opts.type}</type>` : ''}${opts.optional ? '<optional>true</optional>' : ''}${exclusions}</dependency>`;
  };
  const [pg, pa, pv] = body.parent?.split(':') ?? [];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    body.parent ? `  <parent><groupId>${pg}</groupId><artifactId>${pa}</artifactId><version>${pv}</version></parent>` : '',
    `  <groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${version}</version>`,
    body.properties
      ? `  <properties>${Object.entries(body.properties)
          .map(([k, v]) => `<${k}>${v}</${k}>`)
          .join('')}</properties>`
      : '',
    body.managed ? `  <dependencyManagement><dependencies>${body.managed.map(dep).join('')}</dependencies></dependencyManagement>` : '',
    body.dependencies ? `  <dependencies>${body.dependencies.map(dep).join('')}</dependencies>` : '',
    '</project>',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}
