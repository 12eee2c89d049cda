// The docker-credential-helpers protocol, `get` only: run `docker-credential-<name> get` (no shell),
// write the server URL to its stdin, read `{"ServerURL","Username","Secret"}` from its stdout. A helper
// that knows nothing of the server exits non-zero printing "credentials not found in native keychain".
// A `<token>` username means the secret is an identity token (an OAuth2 refresh token), not a password.
import { spawn } from 'node:child_process';
import { RegistryFailure } from './failure.ts';

export interface HelperAnswer {
  username: string;
  secret: string;
  identityToken: boolean;
}

export interface HelperOptions {
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

/** What the protocol's helpers print for an unknown server (errCredentialsNotFound). */
const NOT_FOUND = /credentials not found/i;
/** A helper's answer is a few hundred bytes; anything past this is not read. */
const OUTPUT_CAP = 64 * 1024;

/** Helper names come from config.json: a bare name, never a path or anything a shell would read. */
export const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The credentials a helper holds for `serverUrl`; undefined when it has none. Any other failure (not
 * installed, non-zero exit, timeout, malformed answer) throws a RegistryFailure saying which. The secret
 * never appears in a message: on failure only the helper's error text (stderr, or stdout without JSON)
 * is quoted, and only its first line.
 */
export async function runCredentialHelper(name: string, serverUrl: string, o: HelperOptions): Promise<HelperAnswer | undefined> {
  const program = `docker-credential-${name}`;
  if (!HELPER_NAME.test(name))
    throw new RegistryFailure('error', `credential helper name ${JSON.stringify(name)} is not a plain program name`);
  const { code, stdout, stderr } = await run(program, serverUrl, o);
  if (code !== 0) {
    const said = firstLine(stderr) || (stdout.trimStart().startsWith('{') ? '' : firstLine(stdout));
    if (NOT_FOUND.test(said)) return undefined;
    throw new RegistryFailure('error', `${program} get failed for ${serverUrl} (exit ${code}${said ? `: ${said}` : ''})`);
  }
  let body: { Username?: unknown; Secret?: unknown };
  try {
    body = JSON.parse(stdout) as typeof body;
  } catch {
    throw new RegistryFailure('error', `${program} get answered something that is not the helper protocol's JSON for ${serverUrl}`);
  }
  if (typeof body.Secret !== 'string' || !body.Secret || typeof body.Username !== 'string') {
    throw new RegistryFailure('error', `${program} get answered for ${serverUrl} without a Username and Secret`);
  }
  return { username: body.Username, secret: body.Secret, identityToken: body.Username === '<token>' };
}

function run(program: string, input: string, o: HelperOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { env: o.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const fail = (message: string) =>
      finish(() => {
        child.kill('SIGKILL');
        reject(new RegistryFailure('error', message));
      });
    // Settled on the timer, not on the pipes closing: a grandchild may hold them open.
    const timer = setTimeout(
      () => fail(`${program} get gave no answer within ${o.timeoutMs} ms (registry.credentialHelperTimeoutMs)`),
      o.timeoutMs,
    );
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > OUTPUT_CAP) return fail(`${program} get wrote more than ${OUTPUT_CAP / 1024} KiB; not read`);
      into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (e: NodeJS.ErrnoException) =>
      fail(
        e.code === 'ENOENT'
          ? `${program} is not installed (not found on PATH); install it or remove it from the Docker config.json`
          : `${program} could not be started: ${e.code ?? e.message}`,
      ),
    );
    child.on('close', (code, signal) =>
      finish(() =>
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        }),
      ),
    );
    // A helper that exits without reading stdin makes the write fail with EPIPE: its exit code tells.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function firstLine(text: string): string {
  return (text.trim().split('\n')[0] ?? '').slice(0, 200);
}
