// `npm start`: runs the Slack bot. Misconfiguration is a one-paragraph message and exit code 1,
// never a stack trace.
import { createBot } from './app.ts';
import { configPath, loadConfig } from './config/load.ts';
import { reloadOnSignal } from './config/reload.ts';
import { isUserError } from './errors.ts';
import { StoreError } from './adapters/store.ts';
import { createLogger } from './logger.ts';

const logger = createLogger();

async function main(): Promise<void> {
  const configFile = process.argv.find((_a, i) => process.argv[i - 1] === '--config');
  const config = await loadConfig(configFile);
  const bot = await createBot(config, { logger, configFile: configPath(configFile) });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // The kubelet sends SIGKILL after terminationGracePeriodSeconds; leave before that on our own.
    setTimeout(() => process.exit(1), (config.server.shutdownTimeoutSeconds + 5) * 1000).unref();
    await bot.stop().catch((err) => logger.error({ err }, 'error while stopping'));
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // Re-reads the config file in this process only (each replica needs its own signal); see src/config/reload.ts.
  process.on('SIGHUP', () => void reloadOnSignal(bot.deps));
  // A stray rejection in one feature is logged, not allowed to take the whole bot down.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
  await bot.start();
}

main().catch((err) => {
  if (isUserError(err) || err instanceof StoreError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    logger.fatal({ err }, 'archshift failed to start');
  }
  process.exit(1);
});
