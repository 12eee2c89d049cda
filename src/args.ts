// One argument parser for both surfaces (Slack command text and terminal argv), so `--steps 10,25`
// means the same thing everywhere. Never evaluated by a shell.
import { UserError } from './errors.ts';

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | true>;
}

export class UsageError extends UserError {}

const MAX_TEXT = 4000;

/** Splits Slack command text into tokens; double or single quotes group words. */
export function tokenize(text: string): string[] {
  if (text.length > MAX_TEXT) throw new UsageError(`command text is too long (${text.length} characters, at most ${MAX_TEXT})`);
  // Control characters (and the invisible bidi overrides) have no meaning in a command and can hide
  // what it says: refused as usage, never run. Tabs and line breaks are just spaces.
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.exec(text);
  if (control) {
    const code = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw new UsageError(`the command text contains a control character (${code}), which no command takes; type it again without it`);
  }
  const clean = text.replace(/[\t\n\r]/g, ' ');
  const tokens: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(clean); m; m = re.exec(clean)) tokens.push(m[1] ?? m[2] ?? m[3]);
  return tokens;
}

/** `--name value`, `--name=value` and bare `--flag` (true); the rest are positionals in order. */
export function parseArgs(tokens: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!t.startsWith('--') || t === '--') {
      positionals.push(t);
      continue;
    }
    const eq = t.indexOf('=');
    const name = eq > 0 ? t.slice(2, eq) : t.slice(2);
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new UsageError(`unknown option ${t.slice(0, 40)}`);
    if (eq > 0) flags[name] = t.slice(eq + 1);
    else if (booleanFlags.includes(name) || i + 1 >= tokens.length || tokens[i + 1].startsWith('--')) flags[name] = true;
    else flags[name] = tokens[++i];
  }
  return { positionals, flags };
}

/** Refuses options a subcommand does not know, so a typo is never silently ignored. */
export function allowOnly(args: ParsedArgs, allowed: readonly string[]): void {
  const unknown = Object.keys(args.flags).filter((f) => !allowed.includes(f));
  if (unknown.length)
    throw new UsageError(`unknown option --${unknown[0]}${allowed.length ? ` (known: ${allowed.map((a) => `--${a}`).join(', ')})` : ''}`);
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}
