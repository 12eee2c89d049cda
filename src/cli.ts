// `archshift <subcommand>`: the same use cases as Slack, from a terminal, with no Slack at all.
// Exit codes are sysexits style (src/cli/exit-codes.ts): 0 ready, 1 changes/blocked, 2 unknown, 64 usage, ...
import { allowOnly, parseArgs, UsageError } from './args.ts';
import { buildDeps } from './build-deps.ts';
import { exitCodeOfError, EXIT, isExplained } from './cli/exit-codes.ts';
import { renderHelp } from './cli/help.ts';
import { cliCommand, cliCommands } from './cli/index.ts';
import type { CliIO } from './cli/types.ts';
import { packageVersion } from './cli/version.ts';
import { terminalProgress } from './cli/progress.ts';
import { loadConfig } from './config/load.ts';
import type { Deps } from './deps.ts';
import { createLogger } from './logger.ts';

export function renderCliHelp(): string {
  return renderHelp(cliCommands, packageVersion());
}

/** Options that come before the subcommand: `archshift --config f.yml check x`. */
function splitGlobal(argv: string[]): { config?: string; name?: string; rest: string[] } {
  let config: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === '--config') {
      config = argv[++i];
      if (config === undefined || config.startsWith('--')) throw new UsageError('--config needs a file');
    } else if (t.startsWith('--config=')) config = t.slice('--config='.length);
    else break;
  }
  return { config, name: argv[i], rest: argv.slice(i + 1) };
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let global: ReturnType<typeof splitGlobal>;
  try {
    global = splitGlobal(argv);
  } catch (err) {
    io.err(`archshift: ${(err as Error).message}\n\n${renderCliHelp()}`);
    return EXIT.usage;
  }
  const { name, rest } = global;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(packageVersion());
    return EXIT.ok;
  }
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(renderCliHelp());
    return EXIT.ok;
  }
  const command = cliCommand(name);
  if (!command) {
    io.err(`archshift: unknown subcommand "${name}".\n\n${renderCliHelp()}`);
    return EXIT.usage;
  }
  let built: Promise<Deps> | undefined;
  try {
    const args = parseArgs(rest, command.booleanOptions);
    const after = args.flags.config;
    if (after === true) throw new UsageError('--config needs a file');
    const config = after ?? global.config;
    delete args.flags.config;
    allowOnly(args, [...(command.options ?? []), ...(command.booleanOptions ?? [])]);
    const deps = () =>
      (built ??= loadConfig(config).then((c) =>
        buildDeps(c, { logger: createLogger(process.env.LOG_LEVEL ?? 'warn'), storeLock: 'if-free' }),
      ));
    const run = await command.load();
    return await run(args, io, deps);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`archshift ${name}: ${err.message}\nUsage: archshift ${command.usage}`);
      return EXIT.usage;
    }
    io.err(isExplained(err) ? `archshift ${name}: ${(err as Error).message}` : `archshift ${name} failed: ${(err as Error).stack ?? err}`);
    return exitCodeOfError(err);
  } finally {
    if (built) await (await built.catch(() => undefined))?.store.close();
  }
}

/** The terminal command: runs the subcommand in process.argv and sets the exit code. */
export function main(): void {
  const io: CliIO = {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    progress: terminalProgress(),
  };
  runCli(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}

// `tsx src/cli.ts` and `node dist/src/cli.js` run it; bin/archshift.js and the bundle's entry call main().
if (/(^|\/)cli\.[jt]s$/.test(process.argv[1] ?? '')) main();
