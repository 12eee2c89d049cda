import { servicesCommand } from './services.ts';
import { checkCommand } from './check.ts';
import { prCommand } from './pr.ts';
import { digestCommand } from './digest.ts';
import { statusCommand } from './status.ts';
import { canaryCommand, canariesCommand } from './canary.ts';
import { nodesCommand } from './nodes.ts';
import type { CliCommand } from './types.ts';

/** Every terminal subcommand; `archshift help` prints them in this order. */
export const cliCommands: CliCommand[] = [checkCommand, prCommand, canaryCommand, canariesCommand, nodesCommand, digestCommand, statusCommand, servicesCommand];
