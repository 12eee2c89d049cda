// The state store, lowdb against PostgreSQL, in one run:
// (a) two bot replicas (each its own process, from the built JS as `npm start` runs it) taking bursts of 50
//     concurrent signed `/arm64` commands split between them: ack latency (what Slack waits for) and
//     commands answered per second. A third of the commands write the store (a denied `pr` is audited);
//     every one records its delivery key and, on PostgreSQL, first re-reads what the other replica wrote.
//     lowdb replicas have one file each (a file has one writer); PostgreSQL replicas share one database.
//     Goal: ack p99 on PostgreSQL within 20 % of lowdb's.
// (b) one registry-cache write (one looked-up image) with 10,000 images already cached, through the
//     adapter's own cache, next to what it cost before (lowdb rewriting the whole cache as JSON).
//     Goal: under 5 ms on either driver.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { stringify } from 'yaml';
import { RegistryCache, registryCacheTable } from '../src/adapters/registry/cache.ts';
import { openStore, type Store } from '../src/adapters/store.ts';
import { storeConfigSchema } from '../src/config/store-config.ts';
import { SIGNING_SECRET } from '../test/fakes/bot.ts';
import { freePort } from '../test/fakes/net.ts';
import { PostgresServer } from '../test/fakes/postgres.ts';
import { FakeSlackApi } from '../test/fakes/slack-api.ts';
import { postSigned, slashCommandBody } from '../test/fakes/slack-request.ts';

type Driver = 'lowdb' | 'postgres';

interface AckFigures {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  commandsPerSecond: number;
}

interface CacheFigures {
  cached: number;
  writes: number;
  p50Ms: number;
  p99Ms: number;
}

export interface StoreBenchResult {
  ack: Record<Driver, AckFigures> & { p99Ratio: number; goal: string; pass: boolean };
  cacheWrite: Record<Driver, CacheFigures> & { wholeFileRewriteMs: number; goalMs: number; pass: boolean };
  load: { before: number; after: number };
}

const CONCURRENCY = 50;
const ROUNDS = 6;
const CACHED = 10_000;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round = (n: number) => Math.round(n * 100) / 100;
const catalog = {
  defaults: {
    repo: 'acme/{service}',
    dockerfiles: ['Dockerfile'],
    image: 'registry.acme.io/{service}',
    pipeline: { repo: 'acme/cd', file: 's/{service}.yml' },
    manifests: { repo: 'acme/k8s', files: ['apps/{service}.yaml'] },
  },
  services: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`svc-${i}`, { team: 'S0TEAM' }])),
};

interface Replica {
  proc: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

async function startReplica(
  dir: string,
  name: string,
  slack: FakeSlackApi,
  store: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Promise<Replica> {
  const port = await freePort();
  const configFile = join(dir, `${name}.yml`);
  await writeFile(
    configFile,
    stringify({
      slack: { mode: 'http', port, apiUrl: slack.apiUrl, retries: 0 },
      store,
      server: { port: 0, host: '127.0.0.1' },
      github: { baseUrl: 'http://127.0.0.1:9', allow: ['acme/*'] },
      catalog,
    }),
  );
  const main = fileURLToPath(new URL('../dist/src/main.js', import.meta.url));
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm run bench does)`);
  const proc = spawn(process.execPath, [main, '--config', configFile], {
    env: {
      ...process.env,
      ...env,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      GITHUB_TOKEN: 'ghp_bench',
      LOG_LEVEL: 'info',
      KUBECONFIG: '',
      KUBERNETES_SERVICE_HOST: '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => proc.once('exit', r));
  const url = `http://127.0.0.1:${port}/slack/events`;
  const started = Date.now();
  while (
    !(await fetch(url, { method: 'POST' }).then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() - started > 60_000) throw new Error(`replica ${name} did not start within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, url, exited };
}

async function ackOn(driver: Driver, pg: PostgresServer): Promise<AckFigures> {
  const slack = await new FakeSlackApi().start();
  const dir = await mkdtemp(join(tmpdir(), `archshift-storebench-${driver}-`));
  const replicas: Replica[] = [];
  try {
    const databaseUrl = driver === 'postgres' ? await pg.database() : '';
    for (const name of ['r0', 'r1']) {
      const store = driver === 'lowdb' ? { file: join(dir, `${name}.json`) } : { driver: 'postgres' };
      replicas.push(await startReplica(dir, name, slack, store, { DATABASE_URL: databaseUrl }));
    }
    let id = 0;
    const fire = async (r: Replica, text: string) => {
      const body = slashCommandBody({ text, user_id: 'U0VIEWER', response_url: slack.responseUrl(`b${++id}`) });
      const t0 = process.hrtime.bigint();
      const res = await postSigned(r.url, body, { secret: SIGNING_SECRET });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`ack status ${res.status}`);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    // help and services read memory; a viewer's pr is refused and audited (a store write).
    const texts = Array.from({ length: CONCURRENCY }, (_, i) => ['help', 'services', `pr svc-${i}`][i % 3]);
    const burst = async () => {
      const times = await Promise.all(texts.map((t, i) => fire(replicas[i % 2], t)));
      await slack.waitFor(() => slack.responses.length >= id, 60_000);
      return times;
    };
    await burst(); // cold: connections opened, code paths run once
    const samples: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < ROUNDS; i++) samples.push(...(await burst()));
    const seconds = (Date.now() - t0) / 1000;
    samples.sort((a, b) => a - b);
    return {
      samples: samples.length,
      p50Ms: round(pct(samples, 50)),
      p99Ms: round(pct(samples, 99)),
      maxMs: round(samples.at(-1)!),
      commandsPerSecond: Math.round(samples.length / seconds),
    };
  } finally {
    for (const r of replicas) r.proc.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await slack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const platforms = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
];

/** Warms the cache with CACHED images, then times single lookups being recorded, one at a time. */
async function cacheWriteOn(store: Store): Promise<CacheFigures> {
  const cache = new RegistryCache(registryCacheTable(store), 24 * 3600_000, 24 * 3600_000, Date.now, (err) => {
    throw err;
  });
  const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
  await Promise.all(
    Array.from({ length: CACHED }, (_, i) =>
      cache.remember(`registry.acme.io/app-${i}@${digest(i)}`, { platforms }, `registry.acme.io/app-${i}:1.0`, digest(i)),
    ),
  );
  const times: number[] = [];
  for (let i = CACHED; i < CACHED + 300; i++) {
    const t0 = process.hrtime.bigint();
    await cache.remember(`registry.acme.io/app-${i}@${digest(i)}`, { platforms }, `registry.acme.io/app-${i}:1.0`, digest(i));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { cached: CACHED, writes: times.length, p50Ms: round(pct(times, 50)), p99Ms: round(pct(times, 99)) };
}

/** What one cache write cost before: lowdb rewriting the whole 10,000-image cache section as JSON. */
async function wholeFileRewrite(dir: string): Promise<number> {
  const data = { digests: {} as Record<string, unknown>, tags: {} as Record<string, unknown> };
  for (let i = 0; i < CACHED; i++) {
    data.digests[`registry.acme.io/app-${i}@sha256:${i}`] = { platforms };
    data.tags[`registry.acme.io/app-${i}:1.0`] = { digest: `sha256:${i}`, fetchedAt: Date.now() };
  }
  const db = new Low<unknown>(new JSONFile<unknown>(join(dir, 'whole.json')), { schemaVersion: 1, sections: { registryCache: data } });
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = process.hrtime.bigint();
    await db.write();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return round(
    pct(
      times.sort((a, b) => a - b),
      50,
    ),
  );
}

export async function run(): Promise<StoreBenchResult> {
  const loadBefore = Math.round(loadavg()[0] * 10) / 10;
  const pg = await PostgresServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-storebench-'));
  try {
    const lowdbAck = await ackOn('lowdb', pg);
    const postgresAck = await ackOn('postgres', pg);
    const p99Ratio = round(postgresAck.p99Ms / lowdbAck.p99Ms);
    const ack = { lowdb: lowdbAck, postgres: postgresAck, p99Ratio, goal: 'PostgreSQL p99 within 20 % of lowdb', pass: p99Ratio <= 1.2 };
    console.log(
      `store (a) 2 replicas, ${CONCURRENCY} concurrent signed commands x ${ROUNDS}: lowdb ack p50 ${lowdbAck.p50Ms} ms p99 ${lowdbAck.p99Ms} ms, ${lowdbAck.commandsPerSecond} commands/s; ` +
        `PostgreSQL ack p50 ${postgresAck.p50Ms} ms p99 ${postgresAck.p99Ms} ms, ${postgresAck.commandsPerSecond} commands/s; p99 ratio ${p99Ratio} (goal <= 1.2) -> ${ack.pass ? 'PASS' : 'FAIL'}`,
    );

    const lowdb = await openStore(storeConfigSchema.parse({ file: join(dir, 'cache.json') }));
    const lowdbCache = await cacheWriteOn(lowdb).finally(() => lowdb.close());
    const postgres = await openStore(storeConfigSchema.parse({ driver: 'postgres', postgres: { url: await pg.database() } }));
    const postgresCache = await cacheWriteOn(postgres).finally(() => postgres.close());
    const wholeFileRewriteMs = await wholeFileRewrite(dir);
    const cacheWrite = {
      lowdb: lowdbCache,
      postgres: postgresCache,
      wholeFileRewriteMs,
      goalMs: 5,
      pass: lowdbCache.p99Ms < 5 && postgresCache.p99Ms < 5,
    };
    console.log(
      `store (b) one registry-cache write with ${CACHED} images cached: lowdb p50 ${lowdbCache.p50Ms} ms p99 ${lowdbCache.p99Ms} ms, PostgreSQL p50 ${postgresCache.p50Ms} ms p99 ${postgresCache.p99Ms} ms ` +
        `(before: the whole cache rewritten, ${wholeFileRewriteMs} ms, ${round(wholeFileRewriteMs / lowdbCache.p50Ms)}x lowdb now); goal < 5 ms -> ${cacheWrite.pass ? 'PASS' : 'FAIL'}`,
    );
    const load = { before: loadBefore, after: Math.round(loadavg()[0] * 10) / 10 };
    console.log(`store load average (1 min) ${load.before} before, ${load.after} after (2 shared cores: figures are noisy above ~1)`);
    return { ack, cacheWrite, load };
  } finally {
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
