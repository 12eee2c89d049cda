// Registry credentials, first match wins: the config file (`registry.credentials`, password from an env
// var); the Docker config.json (`registry.dockerConfig`, else $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json): its `credHelpers.<host>` helper, then its `auths.<host>.auth`; Amazon ECR hosts
// through GetAuthorizationToken; then the config.json's default `credsStore` helper. Helpers and ECR
// are asked only when a registry wants credentials, and their answers are kept until shortly before
// they expire.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/schema.ts';
import { HELPER_NAME, runCredentialHelper } from './credential-helper.ts';
import { EcrTokens, parseEcrHost } from './ecr.ts';

export interface Credentials {
  username: string;
  password: string;
  /** The password is an identity token: a refresh token for the registry's token service (OAuth2). */
  identityToken?: boolean;
  /** Where they came from, for messages: never the secret itself. */
  source: string;
}

export interface CredentialLookup {
  /**
   * Credentials for a canonical registry name (`docker.io`, `ghcr.io`, `host:5000`); `refresh` asks a
   * helper or ECR again instead of using the kept answer. Throws a RegistryFailure when the place that
   * holds them fails (a helper that cannot run, ECR denying the token).
   */
  get(registry: string, refresh?: boolean): Promise<Credentials | undefined>;
  /** Where the credentials last given for this registry came from, for messages. */
  source(registry: string): string | undefined;
  /** Why configured credentials are unusable (e.g. the env var is unset), for error messages. */
  problem(registry: string): string | undefined;
}

export interface CredentialOptions {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/** `https://index.docker.io/v1/` -> `docker.io`; `https://ghcr.io` -> `ghcr.io`. */
export function canonicalRegistryKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

/** A helper's answer is re-asked after this long: helpers such as gcloud's hand out short-lived tokens. */
const HELPER_ANSWER_TTL_MS = 5 * 60_000;
/** An ECR token is renewed this long before it expires (at most half its lifetime). */
const ECR_RENEW_MARGIN_MS = 10 * 60_000;

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

type Source =
  { kind: 'static'; credentials: Credentials } | { kind: 'helper'; helper: string; serverUrl: string; where: string } | { kind: 'ecr' };

export function loadCredentials(config: Config['registry'], options: CredentialOptions = {}): CredentialLookup {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const docker = readDockerConfig(config.dockerConfig, env);
  const sources = new Map<string, Source>();
  const problems = new Map<string, string>();
  const helper = (name: string, serverUrl: string, where: string): Source | undefined => {
    if (HELPER_NAME.test(name)) return { kind: 'helper', helper: name, serverUrl, where };
    problems.set(
      canonicalRegistryKey(serverUrl),
      `${where} names the credential helper ${JSON.stringify(name)}, which is not a plain program name`,
    );
    return undefined;
  };

  // Lowest precedence first: later entries replace earlier ones.
  for (const [key, entry] of Object.entries(docker?.file.auths ?? {})) {
    const registry = canonicalRegistryKey(key);
    const found = authEntry(entry, `${docker!.path} (auths.${key})`);
    if (found) sources.set(registry, { kind: 'static', credentials: found });
    else if (!docker!.file.credsStore)
      problems.set(
        registry,
        `${docker!.path} has an entry for ${key} without a usable "auth", and no credsStore or credHelpers entry holds its credentials`,
      );
  }
  for (const [key, name] of Object.entries(docker?.file.credHelpers ?? {})) {
    const source = helper(name, key, `credHelpers.${key} in ${docker!.path}`);
    if (source) sources.set(canonicalRegistryKey(key), source);
  }
  for (const [key, entry] of Object.entries(config.credentials)) {
    const registry = canonicalRegistryKey(key);
    const password = env[entry.passwordEnv];
    if (password) {
      sources.set(registry, { kind: 'static', credentials: { username: entry.username, password, source: `registry.credentials.${key}` } });
      problems.delete(registry);
    } else if (!sources.has(registry)) {
      problems.set(registry, `registry.credentials.${key} reads the password from $${entry.passwordEnv}, which is not set`);
    }
  }
  const store = docker?.file.credsStore;
  const storeKeys = new Map(Object.keys(docker?.file.auths ?? {}).map((k) => [canonicalRegistryKey(k), k]));
  const ecr = config.ecr.enabled ? new EcrTokens({ endpoint: config.ecr.endpoint, maxAttempts: config.ecr.maxAttempts }) : undefined;

  const sourceFor = (registry: string): Source | undefined => {
    const known = sources.get(registry);
    if (known) return known;
    if (ecr && parseEcrHost(registry)) return { kind: 'ecr' };
    if (!store) return undefined;
    // Docker stores Docker Hub's credentials under its v1 index URL, others under the host as typed.
    const serverUrl = storeKeys.get(registry) ?? (registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry);
    return helper(store, serverUrl, `credsStore in ${docker!.path}`);
  };

  const kept = new Map<string, { credentials: Credentials | undefined; until: number }>();
  const asking = new Map<string, Promise<Credentials | undefined>>();
  const used = new Map<string, string>();

  const ask = async (registry: string, source: Exclude<Source, { kind: 'static' }>): Promise<Credentials | undefined> => {
    if (source.kind === 'ecr') {
      const token = await ecr!.token(registry);
      const margin = Math.min(ECR_RENEW_MARGIN_MS, Math.max(0, token.expiresAt - now()) / 2);
      kept.set(registry, {
        credentials: {
          username: token.username,
          password: token.password,
          source: 'ECR GetAuthorizationToken (AWS default credential chain)',
        },
        until: token.expiresAt - margin,
      });
      return kept.get(registry)!.credentials;
    }
    const program = `docker-credential-${source.helper}`;
    const answer = await runCredentialHelper(source.helper, source.serverUrl, { timeoutMs: config.credentialHelperTimeoutMs, env });
    if (answer) problems.delete(registry);
    else
      problems.set(
        registry,
        `${program} (${source.where}) has no credentials for ${source.serverUrl} (credentials not found); log in with \`docker login ${registry}\` or fix the helper`,
      );
    const credentials = answer && {
      username: answer.username,
      password: answer.secret,
      identityToken: answer.identityToken,
      source: `${program} (${source.where})`,
    };
    kept.set(registry, { credentials, until: now() + HELPER_ANSWER_TTL_MS });
    return credentials;
  };

  return {
    async get(registry, refresh = false) {
      const source = sourceFor(registry);
      if (!source) return undefined;
      let credentials: Credentials | undefined;
      if (source.kind === 'static') credentials = source.credentials;
      else {
        const k = kept.get(registry);
        if (!refresh && k && k.until > now()) credentials = k.credentials;
        else {
          let pending = asking.get(registry);
          if (!pending) {
            pending = ask(registry, source).finally(() => asking.delete(registry));
            asking.set(registry, pending);
          }
          credentials = await pending;
        }
      }
      if (credentials) used.set(registry, credentials.source);
      return credentials;
    },
    source: (registry) => used.get(registry),
    problem: (registry) => problems.get(registry),
  };
}

function authEntry(entry: NonNullable<DockerConfigFile['auths']>[string], source: string): Credentials | undefined {
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  // `docker login` against a registry with OAuth2 keeps a refresh token here instead of a password.
  if (entry.identitytoken) return { username: username ?? '<token>', password: entry.identitytoken, identityToken: true, source };
  return username && password ? { username, password, source } : undefined;
}

/** An explicit `registry.dockerConfig` must be readable; Docker's default place may well be absent. */
function readDockerConfig(explicit: string | undefined, env: NodeJS.ProcessEnv): { path: string; file: DockerConfigFile } | undefined {
  const path = explicit ?? (env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(homedir(), '.docker', 'config.json'));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${explicit ? 'registry.dockerConfig' : 'the Docker config'} ${path} cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return { path, file: JSON.parse(text) as DockerConfigFile };
  } catch (err) {
    throw new Error(`${path} cannot be read as a Docker config.json: ${(err as Error).message}`, { cause: err });
  }
}
