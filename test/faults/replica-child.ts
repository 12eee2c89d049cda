// One archshift replica for the HA fault test, run as its own process so the test can SIGKILL it:
// it campaigns for the Lease on the Kubernetes API double and, while leading, posts the "digest" for
// each slot it can claim (a slot every SLOT_MS) to the fake Slack API. It prints one JSON line per
// leadership change and per post.
import { KubeConfig } from '@kubernetes/client-node';
import { WebClient } from '@slack/web-api';
import { KubeCluster } from '../../src/adapters/kubernetes.ts';
import { createLogger } from '../../src/logger.ts';
import { LeaderElector } from '../../src/ops/leader.ts';

const env = process.env;
const identity = env.IDENTITY!;
const slotMs = Number(env.SLOT_MS);
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'fake', server: env.KUBE_URL!, skipTLSVerify: true }],
  users: [{ name: 'bot', token: 'test-token' }],
  contexts: [{ name: 'fake', cluster: 'fake', user: 'bot' }],
  currentContext: 'fake',
});
const say = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify({ identity, t: Date.now(), ...event }) + '\n');
const elector = new LeaderElector({
  api: new KubeCluster('fake', kc, 2000),
  namespace: 'archshift',
  name: 'archshift-leader',
  identity,
  leaseDurationMs: Number(env.LEASE_MS),
  renewDeadlineMs: Number(env.RENEW_MS),
  retryPeriodMs: Number(env.RETRY_MS),
  logger: createLogger('silent'),
  onStartedLeading: () => say({ leading: true }),
  onStoppedLeading: () => say({ leading: false }),
});
const slack = new WebClient('xoxb-test', { slackApiUrl: env.SLACK_URL, retryConfig: { retries: 0 } });

// The digest loop: each slot once, on whichever replica leads and claims it first.
const digest = setInterval(() => {
  if (!elector.isLeader()) return;
  const slot = new Date(Math.floor(Date.now() / slotMs) * slotMs).toISOString();
  void elector.claim(`digest:${slot}`).then(
    async (mine) => {
      if (!mine) return;
      await slack.chat.postMessage({ channel: 'C1', text: `digest ${slot} by ${identity}` });
      say({ posted: slot });
    },
    () => undefined,
  );
}, 50);

// One round before the loop, so the test knows this replica has seen the Lease (and lost, or won).
await elector.tryAcquireOrRenew().catch(() => false);
say({ campaigning: true });
elector.start();
process.on('SIGTERM', () => {
  clearInterval(digest);
  void elector.stop().then(() => {
    say({ stopped: true });
    process.exit(0);
  });
});
