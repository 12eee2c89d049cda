// One whole archshift replica for the PostgreSQL replica tests, in its own process so the test can
// SIGKILL it: the real createBot (HTTP receiver) on store.driver postgres, leader election on the
// Kubernetes API double (short lease), the canary world's catalog and Prometheus. Time is the world's
// fake time moving at real speed (CLOCK_BASE at EPOCH), the same in every replica. Prints one JSON line
// saying where it listens; logs go to stderr.
import { KubeConfig } from '@kubernetes/client-node';
import { createBot } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logger.ts';

const env = process.env;
const kubeConfig = new KubeConfig();
kubeConfig.loadFromOptions({
  clusters: [{ name: 'fake', server: env.KUBE_URL!, skipTLSVerify: true }],
  users: [{ name: 'bot', token: env.KUBE_TOKEN ?? 'test-token' }],
  contexts: [{ name: 'fake', cluster: 'fake', user: 'bot' }],
  currentContext: 'fake',
});
const base = Number(env.CLOCK_BASE);
const epoch = Number(env.EPOCH);
const config = parseConfig({
  slack: { mode: 'http', port: 0, apiUrl: env.SLACK_API_URL, retries: 0 },
  store: { driver: 'postgres', postgres: { connectTimeoutMs: 1000, statementTimeoutMs: 5000 } },
  catalog: JSON.parse(env.CATALOG!) as unknown,
  auth: { operator: { users: ['U0OPER'] } },
  canary: { prometheusUrl: env.PROM_URL, intervalSeconds: 2, tickSeconds: 1, lockTtlSeconds: 120 },
  digest: { schedule: '0 3 1 1 *', catchUpHours: 0 },
  server: {
    port: 0,
    host: '127.0.0.1',
    probeCacheSeconds: 0,
    leaderElection: { enabled: true, namespace: 'archshift', leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 },
  },
});
const bot = await createBot(config, {
  logger: createLogger(env.LOG_LEVEL ?? 'warn', process.stderr),
  kubeConfig,
  clock: { now: () => new Date(base + Date.now() - epoch) },
  secrets: { slackBotToken: 'xoxb-test', slackSigningSecret: env.SIGNING_SECRET },
  env: { DATABASE_URL: env.DATABASE_URL },
});
const server = await bot.start();
const slackPort = (server!.address() as { port: number }).port;
process.stdout.write(
  JSON.stringify({ started: true, slackUrl: `http://127.0.0.1:${slackPort}/slack/events`, opsUrl: `http://127.0.0.1:${bot.ops.port()}` }) +
    '\n',
);
setInterval(() => process.stdout.write(JSON.stringify({ leading: bot.ops.leadership.isLeader() }) + '\n'), 200);
process.on('SIGTERM', () => void bot.stop().then(() => process.exit(0)));
