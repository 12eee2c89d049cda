// One whole archshift bot replica for the HA forwarding test, in its own process so the test can
// SIGKILL it: the real createBot (HTTP receiver) with leader election on the Kubernetes API double, a
// short lease and a fast store replication. Logs are JSON on stdout; the first line added here says
// where the replica listens.
import { KubeConfig } from '@kubernetes/client-node';
import { createBot } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logger.ts';

const env = process.env;
const kubeConfig = new KubeConfig();
kubeConfig.loadFromOptions({
  clusters: [{ name: 'fake', server: env.KUBE_URL!, skipTLSVerify: true }],
  users: [{ name: 'bot', token: 'test-token' }],
  contexts: [{ name: 'fake', cluster: 'fake', user: 'bot' }],
  currentContext: 'fake',
});
const config = parseConfig({
  slack: { mode: 'http', port: 0, apiUrl: env.SLACK_API_URL, retries: 0 },
  store: { file: env.STORE_FILE },
  // Nothing listens on port 9: a PR that got past the permission check would fail loudly.
  github: { baseUrl: 'http://127.0.0.1:9', allow: ['acme/*'] },
  catalog: JSON.parse(env.CATALOG!) as unknown,
  server: {
    port: 0,
    host: '127.0.0.1',
    advertiseHost: '127.0.0.1',
    leaderElection: { enabled: true, namespace: 'archshift', leaseDurationSeconds: 2, renewDeadlineSeconds: 1.2, retryPeriodSeconds: 0.2, replicateSeconds: 0.3 },
  },
});
const bot = await createBot(config, {
  logger: createLogger('info'),
  kubeConfig,
  secrets: { slackBotToken: 'xoxb-test', slackSigningSecret: env.SIGNING_SECRET, peerSecret: env.ARCHSHIFT_PEER_SECRET },
  env: { GITHUB_TOKEN: 'ghp_test' },
});
const server = await bot.start();
const slackPort = (server!.address() as { port: number }).port;
process.stdout.write(JSON.stringify({ started: true, slackUrl: `http://127.0.0.1:${slackPort}/slack/events`, opsUrl: `http://127.0.0.1:${bot.ops.port()}` }) + '\n');
process.on('SIGTERM', () => void bot.stop().then(() => process.exit(0)));
