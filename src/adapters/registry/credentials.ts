// Registry credentials from the config file (`registry.credentials`, password from an env var) and
// from a Docker config.json (`auths.<host>.auth`). Config entries win over config.json ones.
import { readFileSync } from 'node:fs';
import type { Config } from '../../config/schema.ts';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages: never the secret itself. */
  source: string;
}

export interface CredentialLookup {
  /** Credentials for a canonical registry name (`docker.io`, `ghcr.io`, `host:5000`). */
  get(registry: string): Credentials | undefined;
  /** Why configured credentials are unusable (e.g. the env var is unset), for error messages. */
  problem(registry: string): string | undefined;
}

/** `https://index.docker.io/v1/` -> `docker.io`; `https://ghcr.io` -> `ghcr.io`. */
export function canonicalRegistryKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

export function loadCredentials(config: Config['registry'], env: NodeJS.ProcessEnv = process.env): CredentialLookup {
  const found = new Map<string, Credentials>();
  const problems = new Map<string, string>();
  if (config.dockerConfig) {
    let auths: Record<string, { auth?: string; username?: string; password?: string }> = {};
    try {
      auths = (JSON.parse(readFileSync(config.dockerConfig, 'utf8')) as { auths?: typeof auths }).auths ?? {};
    } catch (err) {
      throw new Error(`registry.dockerConfig ${config.dockerConfig} cannot be read as a Docker config.json: ${(err as Error).message}`, { cause: err });
    }
    for (const [key, entry] of Object.entries(auths)) {
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
      const registry = canonicalRegistryKey(key);
      if (username && password) found.set(registry, { username, password, source: `${config.dockerConfig} (auths.${key})` });
      else problems.set(registry, `${config.dockerConfig} has an entry for ${key} without a usable "auth" (credential helpers are not supported)`);
    }
  }
  for (const [key, entry] of Object.entries(config.credentials)) {
    const registry = canonicalRegistryKey(key);
    const password = env[entry.passwordEnv];
    if (password) {
      found.set(registry, { username: entry.username, password, source: `registry.credentials.${key}` });
      problems.delete(registry);
    } else if (!found.has(registry)) {
      problems.set(registry, `registry.credentials.${key} reads the password from $${entry.passwordEnv}, which is not set`);
    }
  }
  return { get: (registry) => found.get(registry), problem: (registry) => problems.get(registry) };
}
