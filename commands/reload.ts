// /arm64 reload: re-reads the config file the bot was started from (admin only, audited as
// config.reload). With leader election the command runs on the leader, so only the leader reloads.
import { UsageError } from '../src/args.ts';
import { guarded } from '../src/auth/audit.ts';
import { NoConfigFileError, reloadConfig, summarizeReload, type ReloadResult } from '../src/config/reload.ts';
import type { Subcommand } from './types.ts';

export const reload: Subcommand = {
  name: 'reload',
  usage: 'reload',
  summary:
    'Re-read the config file (admin): catalog, roles, readiness, knowledge files and digest content apply at once; the reply names what needs a restart.',
  examples: ['/arm64 reload'],
  async run(ctx) {
    if (ctx.args.positionals.length) throw new UsageError('reload takes no arguments');
    const { deps } = ctx;
    const file = deps.configFile;
    const result = await guarded(
      deps,
      {
        user: ctx.user,
        channelId: ctx.channelId,
        action: 'config.reload',
        role: 'admin',
        what: 'reloading the config',
        describe: summarizeReload,
      },
      async (): Promise<ReloadResult> => {
        if (!file) throw new NoConfigFileError();
        return reloadConfig(deps, file);
      },
    );
    const replicas = deps.config.server.leaderElection.enabled
      ? '\nOnly the leader replica (which runs every command) reloaded; the others read the file when they restart or get SIGHUP.'
      : '';
    await ctx.respond({ response_type: 'in_channel', text: `<@${ctx.user.id}> reloaded ${file}: ${summarizeReload(result)}.${replicas}` });
  },
};
