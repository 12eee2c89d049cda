// The contract for terminal subcommands (`archshift <name> ...`): the same use cases as Slack, text or
// JSON out, an exit code for scripts.
import { userInfo } from 'node:os';
import type { ParsedArgs } from '../args.ts';
import { cliActor, type Actor } from '../auth/actor.ts';
import type { Deps } from '../deps.ts';

/** The terminal surface's one view of the composition root's bag; use cases declare their own needs. */
export type { Deps };

/** Whoever runs the terminal command: its login. */
export const terminalActor = (): Actor => cliActor(userInfo().username);

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** A progress line redrawn in place (undefined clears it); only set when stderr is a terminal, not in CI. */
  progress?: (text: string | undefined) => void;
}

export type CliRun = (args: ParsedArgs, io: CliIO, deps: () => Promise<Deps>) => Promise<number>;

export interface CliCommand {
  name: string;
  usage: string;
  summary: string;
  options?: string[];
  /** Flags that take no value (e.g. `--json`, `--dry-run`). */
  booleanOptions?: string[];
  /**
   * The subcommand's code, loaded when it runs. It builds Deps lazily: `archshift check ./path` must run with
   * no config file, Slack or cluster.
   */
  load(): Promise<CliRun>;
}
