import type { Subcommand } from './types.ts';

/** `/arm64 help` lists exactly the subcommands the router knows, with examples. */
export function helpCommand(all: () => Subcommand[]): Subcommand {
  return {
    name: 'help',
    usage: 'help',
    summary: 'List the /arm64 subcommands with examples.',
    examples: ['/arm64 help'],
    async run(ctx) {
      await ctx.respond({ response_type: 'ephemeral', text: renderHelp(all()) });
    },
  };
}

export function renderHelp(subcommands: Subcommand[]): string {
  const lines = ['*archshift* moves services from amd64 to arm64. Subcommands:'];
  for (const s of subcommands) {
    lines.push(`• \`/arm64 ${s.usage}\` — ${s.summary}`);
    for (const e of s.examples) lines.push(`    e.g. \`${e}\``);
  }
  return lines.join('\n');
}
