// Three whole bot replicas (separate processes) on one real PostgreSQL, leader election on the
// Kubernetes API double, the canary world (VirtualServices in the double, a real Prometheus). Every
// replica serves Slack: commands and buttons sent to all of them at once all land, each once; a retried
// delivery is dropped by whichever replica gets it; kill -9 of the leader while a canary step's patch is
// in flight leaves the next leader to continue from the last committed step, with the VirtualService
// and the store agreeing; the database restarted in the middle of a command refuses it cleanly; the
// CLI works on the same database while the bots do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli.ts';
import { at, startWorld, worldCatalog, VIRTUAL_SERVICES, type World } from '../canary/world.ts';
import { PostgresServer } from '../fakes/postgres.ts';
import { blockActionBody, postSigned, slashCommandBody } from '../fakes/slack-request.ts';
import { until } from '../fakes/until.ts';

const SIGNING_SECRET = 'pg-replicas-signing-secret';
const OPERATOR = 'U0OPER';
const child = fileURLToPath(new URL('./pg-bot-child.ts', import.meta.url));

interface Replica {
  id: string;
  proc: ChildProcess;
  slackUrl: string;
  opsUrl: string;
  leading: boolean;
  exited: Promise<void>;
}

interface CanaryRow {
  phase: string;
  weight: number;
  stepIndex: number;
  pending?: { weight: number };
}

describe('three replicas on one PostgreSQL', () => {
  let w: World;
  let pgs: PostgresServer;
  let url: string;
  let dir: string;
  const replicas: Replica[] = [];
  const epoch = Date.now();
  let ids = 0;

  async function startReplica(id: string): Promise<Replica> {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      env: {
        ...process.env,
        POD_NAME: id,
        KUBE_URL: w.kube.url,
        KUBE_TOKEN: w.kube.token,
        SLACK_API_URL: w.slack.apiUrl,
        PROM_URL: w.prom.url,
        DATABASE_URL: url,
        CATALOG: JSON.stringify(worldCatalog(w.registry.host)),
        SIGNING_SECRET,
        CLOCK_BASE: String(at(40).getTime()),
        EPOCH: String(epoch),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r: Replica = { id, proc, slackUrl: '', opsUrl: '', leading: false, exited: new Promise((res) => proc.once('exit', () => res())) };
    void r.exited.then(() => (r.leading = false));
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as { started?: boolean; slackUrl?: string; opsUrl?: string; leading?: boolean };
        buf = buf.slice(nl + 1);
        if (line.started) Object.assign(r, { slackUrl: line.slackUrl, opsUrl: line.opsUrl });
        if (typeof line.leading === 'boolean') r.leading = line.leading;
      }
    });
    replicas.push(r);
    await until(() => r.slackUrl !== '', 120_000, `${id} to start`);
    return r;
  }

  const alive = () => replicas.filter((r) => r.proc.exitCode === null && r.proc.signalCode === null);
  const replyId = () => `pg${++ids}`;
  const repliesTo = (id: string) =>
    w.slack.calls.filter((c) => c.method === 'response_url' && c.responseId === id).map((c) => String(c.args.text));
  const command = (r: Replica, text: string, o: { user?: string; id?: string; retryNum?: number } = {}) => {
    const id = o.id ?? replyId();
    const body = slashCommandBody({ text, user_id: o.user ?? OPERATOR, response_url: w.slack.responseUrl(id) });
    return { id, body, res: postSigned(r.slackUrl, body, { secret: SIGNING_SECRET, retryNum: o.retryNum }) };
  };
  const canaryRow = async (service: string) =>
    (await pgs.sql<{ record: CanaryRow }>(url, 'SELECT record FROM canaries WHERE service = $1', [service]))[0]?.record;
  const audit = (action: string) =>
    pgs.sql<{ actor: string; service: string; result: string }>(
      url,
      'SELECT actor, service, result FROM audit_log WHERE action = $1 ORDER BY id',
      [action],
    );

  before(async () => {
    [w, pgs] = await Promise.all([startWorld(), PostgresServer.start()]);
    url = await pgs.database();
    dir = await mkdtemp(join(tmpdir(), 'archshift-pgrep-'));
    // One first (it migrates alone; the others then find the schema current), then two more at once.
    await startReplica('archshift-0');
    await Promise.all([startReplica('archshift-1'), startReplica('archshift-2')]);
    await until(() => replicas.filter((r) => r.leading).length === 1, 60_000, 'one leader');
  });
  after(async () => {
    for (const r of replicas) r.proc.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await Promise.all([w?.stop(), pgs?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  test('commands and buttons sent to all three replicas at once all land, each answered once; a retry is dropped anywhere', async () => {
    const services = ['orders', 'ledger', 'stock'];
    // Three canary starts (one per replica) and, at the same time, pause buttons and status commands on every replica.
    const starts = services.map((s, i) => command(replicas[i], `canary ${s} start --steps 10,50,100 --gates start`));
    const statuses = replicas.map((r) => command(r, 'canaries'));
    for (const c of [...starts, ...statuses]) assert.equal((await c.res).status, 200);
    await until(() => starts.every((c) => repliesTo(c.id).length > 0), 60_000, 'the three starts answered');
    for (const c of starts) assert.match(repliesTo(c.id)[0], /Done: start/);
    for (const s of services) assert.equal((await canaryRow(s))?.phase, 'awaiting-start', `${s} in the database`);
    // Buttons from all replicas at once, one per canary, on a replica other than the one that started it.
    const clicks = services.map((s, i) => {
      const id = replyId();
      const body = blockActionBody({ actionId: 'canary_pause', value: s, user_id: OPERATOR, response_url: w.slack.responseUrl(id) });
      return { id, res: postSigned(replicas[(i + 1) % 3].slackUrl, body, { secret: SIGNING_SECRET }) };
    });
    for (const c of clicks) assert.equal((await c.res).status, 200);
    await until(async () => (await audit('canary.pause')).length === 3, 60_000, 'three pauses audited');
    for (const s of services) assert.equal((await canaryRow(s))?.phase, 'paused');
    assert.deepEqual((await audit('canary.start')).map((e) => [e.service, e.result]).sort(), services.map((s) => [s, 'ok']).sort());
    await until(() => statuses.every((c) => repliesTo(c.id).length > 0), 60_000, 'the status answers');

    // Slack retries a delivery it thinks was lost; the retry reaches another replica and runs nothing.
    const first = command(replicas[0], 'canary billing start --steps 10,100 --gates start');
    assert.equal((await first.res).status, 200);
    const retried = await postSigned(replicas[2].slackUrl, first.body, { secret: SIGNING_SECRET, retryNum: 1 });
    assert.equal(retried.status, 200);
    await until(() => repliesTo(first.id).length > 0, 60_000, 'the first delivery answered');
    await until(async () => (await audit('canary.start')).some((e) => e.service === 'billing'), 60_000, 'billing audited');
    assert.deepEqual((await audit('canary.start')).filter((e) => e.service === 'billing').length, 1, 'ran once');
    assert.ok((await pgs.sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM slack_deliveries'))[0].n > 0);
    assert.equal(repliesTo(first.id).length, 1, 'answered once');
  });

  test("kill -9 of the leader while a step's patch is in flight: the next leader continues from the last committed step; weights match the store", async () => {
    const service = 'billing';
    // billing waits for approval at 0%; resume it from any replica: it moves to 10% (committed).
    const resumed = command(replicas[1], `canary ${service} resume`);
    await until(() => repliesTo(resumed.id).length > 0, 60_000, 'resume answered');
    await until(async () => (await canaryRow(service))?.weight === 10, 60_000, 'step 1 committed');
    // The next patch (10% -> 100%) hangs in the API server: the leader is stuck mid-step with its intent written.
    const patches = () => w.kube.requests.filter((q) => q.method === 'PATCH' && q.path === `${VIRTUAL_SERVICES}/${service}`).length;
    const before = patches();
    w.kube.fail({ method: 'PATCH', path: new RegExp(`/virtualservices/${service}$`), status: 500, hang: true });
    await until(() => patches() > before, 60_000, 'the leader sending the next patch');
    const leader = alive().find((r) => r.leading)!;
    assert.ok(leader, 'a leader drove the step');
    assert.equal((await canaryRow(service))?.pending?.weight, 100, 'the intent was written ahead of the patch');
    leader.proc.kill('SIGKILL');
    await leader.exited;
    await until(() => alive().some((r) => r.leading), 60_000, 'a new leader');
    // The new leader takes the canary over at its next tick, finds the patch never applied, and goes on.
    await until(async () => (await canaryRow(service))?.phase === 'promoted', 90_000, 'the canary promoted by the new leader');
    const row = (await canaryRow(service))!;
    assert.equal(row.pending, undefined);
    assert.deepEqual(w.clusterWeight(service), { amd64: 100 - row.weight, arm64: row.weight });
    assert.equal(row.weight, 100);
    const thread = w.slack.callsTo('chat.postMessage').map((c) => String(c.args.text));
    assert.ok(
      thread.some((t) => /Recovered: the move to 100% arm64 had not been applied; still at 10%/.test(t)),
      thread.join('\n'),
    );
  });

  test('the database restarted in the middle of a command: the command is refused, nothing is half-written; afterwards all works', async () => {
    const r = alive()[0];
    const service = 'ledger';
    const state = async () => {
      const r = (await canaryRow(service))!;
      return { phase: r.phase, weight: r.weight, stepIndex: r.stepIndex, pending: r.pending };
    };
    const before = await state();
    // Slow the cluster so the command is surely past the store check when the database goes.
    w.kube.latencyMs = 1500;
    const gets = () => w.kube.requests.filter((q) => q.method === 'GET' && q.path === `${VIRTUAL_SERVICES}/${service}`).length;
    const seen = gets();
    const rollback = command(r, `canary ${service} rollback`);
    assert.equal((await rollback.res).status, 200);
    await until(() => gets() > seen, 60_000, 'the command reading the VirtualService');
    await pgs.kill();
    w.kube.latencyMs = 0;
    try {
      await until(() => repliesTo(rollback.id).length > 0, 60_000, 'the rollback answered');
      assert.match(repliesTo(rollback.id)[0], /state store unavailable, try again/);
      const ready = await fetch(`${r.opsUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { checks: { store: { ok: boolean } } }).checks.store.ok, false);
      const refused = command(r, 'canaries');
      await until(() => repliesTo(refused.id).length > 0, 60_000, 'a command while the database is down');
      assert.match(repliesTo(refused.id)[0], /state store unavailable, try again/);
    } finally {
      await pgs.restart();
    }
    assert.deepEqual(await state(), before, 'nothing of the refused rollback was written');
    assert.deepEqual(w.clusterWeight(service), { amd64: 100, arm64: 0 });
    await until(async () => (await fetch(`${r.opsUrl}/readyz`)).status === 200, 60_000, 'ready again');
    const again = command(r, `canary ${service} rollback`);
    await until(() => repliesTo(again.id).length > 0, 60_000, 'the retried rollback answered');
    assert.match(repliesTo(again.id)[0], /Done: rollback/);
    assert.equal((await canaryRow(service))?.phase, 'rolled-back');
  });

  test('the CLI works on the same database while the bots do: both writes land', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, w.kube.kubeConfig().exportConfig());
    const config = join(dir, 'archshift.yml');
    const raw = {
      store: { driver: 'postgres', postgres: { url } },
      kubernetes: { kubeconfig },
      canary: { prometheusUrl: w.prom.url },
      catalog: worldCatalog(w.registry.host),
    };
    await writeFile(config, JSON.stringify(raw));
    const err: string[] = [];
    // The bot resumes orders while the terminal resumes stock, on the same canaries table.
    const bot = command(alive()[0], 'canary orders resume');
    const code = await runCli(['canary', 'stock', 'resume', '--config', config], { out: () => undefined, err: (t) => err.push(t) });
    assert.equal(code, 0, err.join('\n'));
    await until(() => repliesTo(bot.id).length > 0, 60_000, 'the bot answered meanwhile');
    assert.match(repliesTo(bot.id)[0], /Done: resume orders/);
    for (const s of ['orders', 'stock']) assert.notEqual((await canaryRow(s))?.phase, 'paused', `${s} resumed`);
    assert.deepEqual(
      (await audit('canary.resume')).filter((e) => e.service === 'stock').map((e) => e.actor.startsWith('cli:')),
      [true],
    );
  });
});
