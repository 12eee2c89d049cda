// `archshift canary <service> start|status|pause|resume|promote|rollback` and `archshift canaries`: the
// Slack verbs from a terminal. Exit codes: 0 done, 1 preconditions not met, 64 usage.
import { requireWritableStore } from './writable.ts';
import { CanaryError, PreconditionsError } from '../canary/controller.ts';
import { UserError } from '../errors.ts';
import { canaryErrorText } from '../render/canary-events.ts';
import { controllerOf, parseCanaryArgs, requestCanaryVerb } from '../canary/verbs.ts';
import { canaryListText, canaryText, preconditionsText } from '../render/canary-blocks.ts';
import { UsageError } from '../args.ts';
import { cliJson } from './json.ts';
import { terminalActor, type CliRun } from './types.ts';

export const runCanaryCommand: CliRun = async (args, io, deps) => {
  const call = parseCanaryArgs(args);
  const d = await deps();
  if (call.verb !== 'status') requireWritableStore(d, `canary ${call.verb}`);
  try {
    const out = await requestCanaryVerb(d, call, { actor: terminalActor() });
    if (args.flags.json) io.out(cliJson(out));
    else if ('preconditions' in out) io.out(`No canary for ${call.service}.\n${preconditionsText(call.service, out.preconditions)}`);
    else io.out(canaryText(out.record, controllerOf(d).config.thresholds, d.clock.now()));
    return 'preconditions' in out && !out.preconditions.ok ? 1 : 0;
  } catch (err) {
    if (err instanceof CanaryError && !(err instanceof PreconditionsError)) throw new UserError(canaryErrorText(err, 'terminal'));
    if (!(err instanceof PreconditionsError)) throw err;
    io.err(args.flags.json ? cliJson({ preconditions: err.report }) : preconditionsText(call.service, err.report));
    return 1;
  }
};

export const runCanariesCommand: CliRun = async (args, io, deps) => {
  if (args.positionals.length) throw new UsageError('canaries takes no arguments');
  const running = controllerOf(await deps()).list();
  io.out(args.flags.json ? cliJson({ canaries: running }) : canaryListText(running));
  return 0;
};
