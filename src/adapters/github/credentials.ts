// GitHub credentials from the environment, read without loading Octokit: with none set, the terminal
// never builds the GitHub adapter (and PR commands say how to set them).
import { readFileSync } from 'node:fs';

export type GitHubAuth = { kind: 'token'; token: string } | { kind: 'app'; appId: string; privateKey: string; installationId: string };

/**
 * Reads credentials from the environment: GITHUB_TOKEN, or GITHUB_APP_ID + GITHUB_APP_INSTALLATION_ID +
 * the App's key, inline (GITHUB_APP_PRIVATE_KEY) or from a mounted file (GITHUB_APP_PRIVATE_KEY_FILE).
 */
export function githubAuthFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  readFile = (p: string) => readFileSync(p, 'utf8'),
): GitHubAuth | undefined {
  const { GITHUB_APP_ID: appId, GITHUB_APP_INSTALLATION_ID: installationId, GITHUB_TOKEN: token } = env;
  const key = env.GITHUB_APP_PRIVATE_KEY || (env.GITHUB_APP_PRIVATE_KEY_FILE ? readFile(env.GITHUB_APP_PRIVATE_KEY_FILE) : undefined);
  if (appId && key && installationId) return { kind: 'app', appId, privateKey: key.replace(/\\n/g, '\n'), installationId };
  if (token) return { kind: 'token', token };
  return undefined;
}
