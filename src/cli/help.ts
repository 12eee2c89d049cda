// `archshift help`: fits a 100-column terminal (long usages and summaries wrap, indented).
import { EXIT_CODE_HELP } from './exit-codes.ts';
import type { CliCommand } from './types.ts';

export const HELP_WIDTH = 100;

/** Greedy word wrap; a word longer than the line stays whole on its own line. */
export function wrap(text: string, indent: number, width = HELP_WIDTH, hanging = indent): string[] {
  const lines: string[] = [];
  let line = ' '.repeat(indent);
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.trim() && line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' '.repeat(hanging) + word;
    } else line += (line.trim() ? ' ' : '') + word;
  }
  if (line.trim()) lines.push(line);
  return lines;
}

export function renderHelp(commands: CliCommand[], version: string): string {
  return [
    `archshift ${version}: move Kubernetes services from amd64 to arm64.`,
    '',
    'Usage: archshift [--config FILE] <subcommand> [options]   (--config may also follow the subcommand)',
    '       archshift --version | help',
    '',
    'Subcommands:',
    ...commands.flatMap((c) => [...wrap(c.usage, 2, HELP_WIDTH, 6), ...wrap(c.summary, 6)]),
    '',
    'Exit codes:',
    ...EXIT_CODE_HELP.flatMap(([code, what]) => wrap(what, 6).map((l, i) => (i ? l : `  ${String(code).padStart(2)}  ${l.trimStart()}`))),
    '',
    ...wrap('--json output is one object with a schemaVersion (fields are only added; see the README, "JSON output").', 0),
  ].join('\n');
}
