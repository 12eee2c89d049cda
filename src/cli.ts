// `archshift <subcommand>`: the same use cases as Slack, from a terminal, with no Slack at all.
// Exit codes: 0 ok, 1 the answer is "no" (e.g. not ready), 2 unknown/failed, 64 usage.
import { allowOnly, parseArgs, UsageError } from './args.ts';
import { buildDeps } from './app.ts';
import { cliCommands } from './cli/index.ts';
import type { CliIO } from './cli/types.ts';
import { loadConfig } from './config/load.ts';
import type { Deps } from './deps.ts';
import { isUserError } from './errors.ts';
import { StoreError } from './adapters/store.ts';
import { createLogger } from './logger.ts';

export function renderCliHelp(): string {
  const width = Math.max(...cliCommands.map((c) => c.usage.length));
  return [
    'archshift: move Kubernetes services from amd64 to arm64.',
    '',
    'Usage: archshift <subcommand> [options]   (global: --config FILE)',
    '',
    ...cliCommands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  Show this help.`,
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(renderCliHelp());
    return 0;
  }
  const command = cliCommands.find((c) => c.name === name);
  if (!command) {
    io.err(`archshift: unknown subcommand "${name}".\n\n${renderCliHelp()}`);
    return 64;
  }
  let built: Promise<Deps> | undefined;
  try {
    const args = parseArgs(rest, command.booleanOptions);
    const config = typeof args.flags.config === 'string' ? args.flags.config : undefined;
    delete args.flags.config;
    allowOnly(args, [...(command.options ?? []), ...(command.booleanOptions ?? [])]);
    const deps = () => (built ??= loadConfig(config).then((c) => buildDeps(c, { logger: createLogger(process.env.LOG_LEVEL ?? 'warn'), storeLock: 'if-free' })));
    return await command.run(args, io, deps);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`archshift ${name}: ${err.message}\nUsage: archshift ${command.usage}`);
      return 64;
    }
    io.err(isUserError(err) || err instanceof StoreError ? `archshift ${name}: ${err.message}` : `archshift ${name} failed: ${(err as Error).stack ?? err}`);
    return 2;
  } finally {
    if (built) await (await built.catch(() => undefined))?.store.close();
  }
}

// Run only when executed (bin/archshift.js or `tsx src/cli.ts`), not when imported by tests.
const entry = process.argv[1] ?? '';
if (entry.endsWith('cli.ts') || entry.endsWith('archshift.js') || entry.endsWith('/archshift')) {
  runCli(process.argv.slice(2), { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) }).then((code) => {
    process.exitCode = code;
  });
}
