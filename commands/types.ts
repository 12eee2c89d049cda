// The contract between the /arm64 router and its subcommand modules. A module parses its arguments,
// checks permission, calls a use case and renders; it holds no business logic.
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { ParsedArgs } from '../src/args.ts';
import type { Deps } from '../src/deps.ts';

/** The Slack surface's one view of the composition root's bag; modules below commands/ declare their own needs. */
export type { Deps };

export interface SlackReply {
  text: string;
  blocks?: unknown[];
  response_type?: 'ephemeral' | 'in_channel';
  replace_original?: boolean;
}

export interface CommandContext {
  args: ParsedArgs;
  user: { id: string; name?: string };
  channelId: string;
  /** Replies to the person who typed the command, visible to them only. */
  respond(reply: SlackReply): Promise<void>;
  client: WebClient;
  deps: Deps;
}

export interface Subcommand {
  name: string;
  /** e.g. `check <service>`; shown in help and in usage errors. */
  usage: string;
  summary: string;
  examples: string[];
  /** Options taking a value (`--steps 5,10`); others are refused as a usage error. */
  options?: string[];
  /** Options that take no value (`--me`, `--dry-run`). */
  booleanOptions?: string[];
  run(ctx: CommandContext): Promise<void>;
}

/** Buttons and other interactive handlers a feature registers on the Bolt app. */
export type ActionRegistrar = (app: App, deps: Deps) => void;
