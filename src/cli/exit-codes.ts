// The terminal's exit codes, sysexits(3) style so scripts and CI can tell "not ready" from "could not
// tell" from "you typed it wrong". Documented in the README and in `archshift help`.
import { UsageError } from '../args.ts';
import { GitHubError } from '../adapters/github/errors.ts';
import { KubeError } from '../adapters/kubernetes.ts';
import { PrometheusError } from '../adapters/prometheus.ts';
import { RegistryFailure } from '../adapters/registry/http.ts';
import { StoreError } from '../adapters/store.ts';
import { ForbiddenError } from '../auth/authorize.ts';
import { IncompleteServiceError, UnknownServiceError } from '../config/catalog.ts';
import { ConfigError } from '../config/load.ts';
import { MissingSecretError } from '../config/secrets.ts';
import { KnowledgeError } from '../readiness/knowledge/load.ts';
import type { Verdict } from '../readiness/report.ts';
import { NotConfiguredError, UserError } from '../errors.ts';

export const EXIT = {
  ok: 0,
  /** Ready to act on: changes or blockers were found (or a precondition is not met). */
  notReady: 1,
  /** Evidence was missing: the verdict is unknown. */
  unknown: 2,
  usage: 64,
  /** No such service, checkout path or file. */
  noInput: 66,
  /** An outside system (GitHub, a cluster, the registry, Prometheus) did not answer as needed. */
  unavailable: 69,
  /** A bug in archshift: the message carries the stack trace. */
  software: 70,
  /** The store file could not be read or written. */
  ioError: 74,
  /** Not allowed from here (a bot holds the store; a role is missing). */
  noPermission: 77,
  /** The config file, a secret or a catalog entry is missing or invalid. */
  config: 78,
} as const;

/** The lines `archshift help` prints about exit codes. */
export const EXIT_CODE_HELP: Array<[number, string]> = [
  [EXIT.ok, 'ready / done'],
  [EXIT.notReady, 'needs changes or blocked (or a precondition is not met)'],
  [EXIT.unknown, 'verdict unknown (evidence missing)'],
  [EXIT.usage, 'usage error'],
  [EXIT.noInput, 'no such service, path or file'],
  [EXIT.unavailable, 'an outside system (GitHub, cluster, registry, Prometheus) is unavailable'],
  [EXIT.software, 'internal error (a bug: please report it)'],
  [EXIT.ioError, 'the store file could not be read or written'],
  [EXIT.noPermission, 'not allowed from this terminal'],
  [EXIT.config, 'bad or missing configuration'],
];

export const exitCodeOfVerdict = (verdict: Verdict): number =>
  verdict === 'ready' ? EXIT.ok : verdict === 'unknown' ? EXIT.unknown : EXIT.notReady;

/** A user error whose exit code says what kind of problem it is. */
export class CliError extends UserError {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function exitCodeOfError(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof UnknownServiceError) return EXIT.noInput;
  if (
    err instanceof ConfigError ||
    err instanceof IncompleteServiceError ||
    err instanceof MissingSecretError ||
    err instanceof KnowledgeError
  )
    return EXIT.config;
  if (err instanceof NotConfiguredError) return EXIT.config;
  if (err instanceof ForbiddenError) return EXIT.noPermission;
  if (err instanceof StoreError) return EXIT.ioError;
  if (err instanceof GitHubError || err instanceof KubeError || err instanceof RegistryFailure || err instanceof PrometheusError)
    return EXIT.unavailable;
  const code =
    (err as { code?: unknown; cause?: { code?: unknown } } | undefined)?.code ??
    (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return EXIT.unavailable;
  if (err instanceof UserError) return EXIT.notReady;
  return EXIT.software;
}

/** Whether the error's message is written for a person (else the stack goes out: it is a bug). */
export const isExplained = (err: unknown): boolean => exitCodeOfError(err) !== EXIT.software;
