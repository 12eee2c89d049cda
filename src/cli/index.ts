import { servicesCommand } from './services.ts';
import { checkCommand } from './check.ts';
import { prCommand } from './pr.ts';
import { digestCommand } from './digest.ts';
import { statusCommand } from './status.ts';
import { canaryCommand, canariesCommand } from './canary.ts';
import { storeCommand } from './store.ts';
import { guardCommand } from './guard.ts';
import { nodesCommand } from './nodes.ts';
import type { CliCommand } from './types.ts';

/** Every terminal subcommand; `archshift help` prints them in this order. */
export const cliCommands: CliCommand[] = [
  checkCommand,
  guardCommand,
  prCommand,
  canaryCommand,
  canariesCommand,
  nodesCommand,
  digestCommand,
  statusCommand,
  servicesCommand,
  storeCommand,
];
