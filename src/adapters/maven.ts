// The one adapter to Maven repositories (Maven Central, Artifactory, Nexus and other mirrors): reads
// `.pom` files and `maven-metadata.xml` in the standard layout, from each configured repository in
// turn, with a timeout and a size cap on every answer. Release POMs never change once published, so
// they are cached in the store; SNAPSHOTs and metadata are always asked for. "Not in any repository"
// (404 everywhere) and "could not ask" (unreachable, 401/403, 5xx, too big) are different answers:
// the second throws MavenUnavailable, so a caller can say "unknown" instead of "clean".
import { z } from 'zod';
import type { Store } from './store.ts';

export const mavenConfigSchema = z
  .object({
    /** Resolve the dependency tree from the POMs of the dependencies (names the library that brings a native one in). */
    transitive: z.boolean().default(false),
    /** Asked in order; a password is read from the named environment variable. */
    repositories: z
      .array(z.object({ url: z.url(), username: z.string().min(1).optional(), passwordEnv: z.string().min(1).optional() }).strict())
      .min(1)
      .default([{ url: 'https://repo.maven.apache.org/maven2' }]),
    timeoutMs: z.number().int().min(100).default(10_000),
    /** Larger answers are refused (a POM is a few KiB; this guards memory). */
    maxPomBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    /** At most this many POMs are read for one service's tree, and no deeper than maxDepth. */
    maxPoms: z.number().int().min(1).max(5000).default(400),
    maxDepth: z.number().int().min(1).max(30).default(10),
  })
  .strict()
  .default({
    transitive: false,
    repositories: [{ url: 'https://repo.maven.apache.org/maven2' }],
    timeoutMs: 10_000,
    maxPomBytes: 1024 * 1024,
    maxPoms: 400,
    maxDepth: 10,
  });

export type MavenConfig = z.infer<typeof mavenConfigSchema>;

/** What the dependency-tree resolution needs from a Maven repository. */
export interface PomReader {
  /** The POM's text, or undefined when no repository has it. Throws MavenUnavailable when one could not be asked. */
  readPom(group: string, artifact: string, version: string): Promise<string | undefined>;
  /** Published versions (maven-metadata.xml), oldest first; undefined when no repository knows the artifact. */
  versions(group: string, artifact: string): Promise<string[] | undefined>;
}

export class MavenUnavailable extends Error {}

const CACHE_SECTION = 'mavenPoms';
/** Cached release POMs kept; the oldest go first. */
const CACHE_ENTRIES = 5000;

type PomCache = Record<string, { text: string; at: string }>;

export interface MavenRepositoryOptions {
  config: MavenConfig;
  env?: NodeJS.ProcessEnv;
  store?: Store;
  now?: () => Date;
}

export function createMavenRepository(opts: MavenRepositoryOptions): PomReader {
  const { config } = opts;
  const env = opts.env ?? process.env;
  const cache = opts.store?.section<PomCache>(CACHE_SECTION, () => ({}));
  const now = opts.now ?? (() => new Date());

  const headers = (repo: MavenConfig['repositories'][number]): Record<string, string> => {
    if (!repo.username) return {};
    const password = repo.passwordEnv ? env[repo.passwordEnv] : undefined;
    if (repo.passwordEnv && password === undefined)
      throw new MavenUnavailable(`${repo.url}: environment variable ${repo.passwordEnv} (maven.repositories passwordEnv) is not set`);
    return { authorization: `Basic ${Buffer.from(`${repo.username}:${password ?? ''}`).toString('base64')}` };
  };

  /** One file from the first repository that has it; 404 everywhere is undefined. */
  const fetchFile = async (rel: string): Promise<string | undefined> => {
    const failures: string[] = [];
    for (const repo of config.repositories) {
      const url = `${repo.url.replace(/\/+$/, '')}/${rel}`;
      try {
        const res = await fetch(url, { headers: headers(repo), signal: AbortSignal.timeout(config.timeoutMs), redirect: 'follow' });
        if (res.status === 404) {
          await res.body?.cancel();
          continue;
        }
        if (!res.ok) {
          await res.body?.cancel();
          failures.push(
            `${repo.url} answered ${res.status}${res.status === 401 || res.status === 403 ? ' (check maven.repositories username/passwordEnv)' : ''}`,
          );
          continue;
        }
        return await readCapped(res, config.maxPomBytes, url);
      } catch (err) {
        const e = err as Error;
        failures.push(
          e instanceof MavenUnavailable
            ? e.message
            : e.name === 'TimeoutError'
              ? `${repo.url} gave no answer within ${config.timeoutMs} ms`
              : `${repo.url} could not be reached (${(e.cause as Error | undefined)?.message ?? e.message})`,
        );
      }
    }
    if (failures.length) throw new MavenUnavailable(`${rel}: ${failures.join('; ')}`);
    return undefined;
  };

  return {
    async readPom(group, artifact, version) {
      const key = `${group}:${artifact}:${version}`;
      const hit = cache?.get()[key];
      if (hit) return hit.text;
      const text = await fetchFile(`${group.replace(/\./g, '/')}/${artifact}/${version}/${artifact}-${version}.pom`);
      if (text !== undefined && cache && !/SNAPSHOT$/i.test(version)) {
        await cache.update((c) => {
          c[key] = { text, at: now().toISOString() };
          const keys = Object.keys(c);
          if (keys.length > CACHE_ENTRIES)
            for (const k of keys.sort((a, b) => c[a]!.at.localeCompare(c[b]!.at)).slice(0, keys.length - CACHE_ENTRIES)) delete c[k];
        });
      }
      return text;
    },
    async versions(group, artifact) {
      const text = await fetchFile(`${group.replace(/\./g, '/')}/${artifact}/maven-metadata.xml`);
      if (text === undefined) return undefined;
      return [...text.matchAll(/<version>\s*([^<\s]+)\s*<\/version>/g)].map((m) => m[1]!);
    },
  };
}

async function readCapped(res: Response, max: number, url: string): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > max) {
    await res.body?.cancel();
    throw new MavenUnavailable(`${url} is ${declared} bytes, over the ${max}-byte limit (maven.maxPomBytes)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) throw new MavenUnavailable(`${url} is over the ${max}-byte limit (maven.maxPomBytes)`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}
