// Slack acknowledgement latency and idle memory:
// the bot is started as its own process from the built JS (`dist/src/main.js`, as `npm start` and the image run it;
// `npm run bench` builds first), in HTTP mode against fake Slack, then
// (b) its RSS once idle; target < 150 MB;
// (a) 50 concurrent signed `/arm64` commands into its Bolt HTTP receiver (5 bursts after a first, cold one, which is
//     reported apart): time until the HTTP answer (the ack Slack waits for, 3 s at most); target p99 < 100 ms;
//     logging at `info`, as deployed;
// and how long it takes to stop on SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { SIGNING_SECRET } from '../test/fakes/bot.ts';
import { FakeSlackApi } from '../test/fakes/slack-api.ts';
import { postSigned, slashCommandBody } from '../test/fakes/slack-request.ts';

export interface AckBenchResult {
  ack: { concurrency: number; rounds: number; samples: number; p50Ms: number; p99Ms: number; maxMs: number; targetP99Ms: number; pass: boolean; botCpuMsPerCommand: number; firstBurst: { p50Ms: number; maxMs: number } };
  /** 1-minute load average before and after (2 cores shared with other work: figures above ~1 are noisy). */
  load: { before: number; after: number };
  idle: { rssMb: number; targetMb: number; startMs: number; sigtermExitMs: number; exitCode: number | null; pass: boolean };
}

const catalog = {
  defaults: { repo: 'acme/{service}', dockerfiles: ['Dockerfile'], image: 'registry.acme.io/{service}', pipeline: { repo: 'acme/cd', file: 's/{service}.yml' }, manifests: { repo: 'acme/k8s', files: ['apps/{service}.yaml'] } },
  services: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`svc-${i}`, { team: 'S0TEAM' }])),
};

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round = (n: number) => Math.round(n * 10) / 10;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** CPU time (user + system) the process has used, from /proc; unlike latency it hardly depends on the machine's load. */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100 on Linux)
}

/**
 * Fires bursts of `concurrency` signed commands at the bot's receiver; the bot runs in another process, as it would.
 * The first burst after start-up opens the connections (both ways) and runs each code path for the first time;
 * it is reported on its own (`firstBurst`), and the target applies to the `rounds` bursts after it.
 */
async function ackLatency(url: string, slack: FakeSlackApi, pid: number): Promise<AckBenchResult['ack']> {
  const concurrency = 50;
  const rounds = 5;
  let id = 0;
  const fire = async (text: string) => {
    const body = slashCommandBody({ text, response_url: slack.responseUrl(`bench-${++id}`) });
    const start = process.hrtime.bigint();
    const res = await postSigned(url, body, { secret: SIGNING_SECRET });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`ack status ${res.status}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  // A mix: help and services render from memory; an unknown subcommand takes the refusal path.
  const burst = async () => {
    const texts = Array.from({ length: concurrency }, (_, i) => ['help', 'services', 'frobnicate svc-1'][i % 3]);
    const times = await Promise.all(texts.map(fire));
    // Let every reply land before the next burst, so bursts do not overlap.
    await slack.waitFor(() => slack.responses.length >= id, 30_000);
    return times.sort((a, b) => a - b);
  };
  const first = await burst();
  const samples: number[] = [];
  const cpuBefore = await cpuMs(pid);
  for (let r = 0; r < rounds; r++) samples.push(...(await burst()));
  // Each command's whole cost (receive, verify, ack, run, respond), not only the part before the ack.
  const botCpuMsPerCommand = Math.round((((await cpuMs(pid)) - cpuBefore) / samples.length) * 100) / 100;
  samples.sort((a, b) => a - b);
  const p99 = pct(samples, 99);
  return {
    concurrency,
    rounds,
    samples: samples.length,
    p50Ms: round(pct(samples, 50)),
    p99Ms: round(p99),
    maxMs: round(samples.at(-1)!),
    targetP99Ms: 100,
    pass: p99 < 100,
    botCpuMsPerCommand,
    firstBurst: { p50Ms: round(pct(first, 50)), maxMs: round(first.at(-1)!) },
  };
}

export async function run(): Promise<AckBenchResult> {
  const loadBefore = round(loadavg()[0]);
  const slack = await new FakeSlackApi().start();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-ack-'));
  const configFile = join(dir, 'archshift.yml');
  const slackPort = await freePort();
  await writeFile(configFile, stringify({ slack: { mode: 'http', port: slackPort, apiUrl: slack.apiUrl, retries: 0 }, store: { file: join(dir, 'store.json') }, server: { port: 0, host: '127.0.0.1' }, catalog }));
  const main = fileURLToPath(new URL('../dist/src/main.js', import.meta.url));
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm run bench does)`);
  const started = Date.now();
  const child = spawn(process.execPath, [main, '--config', configFile], {
    env: { ...process.env, SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_SIGNING_SECRET: SIGNING_SECRET, LOG_LEVEL: 'info', KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const url = `http://127.0.0.1:${slackPort}/slack/events`;
    for (;;) {
      const up = await fetch(url, { method: 'POST' }).then(() => true, () => false);
      if (up) break;
      if (Date.now() - started > 30_000) throw new Error('the bot did not start within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const startMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 3000)); // idle: start-up garbage collected, timers settled
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))![1]);
    const rssMb = round(rssKb / 1024);
    const ack = await ackLatency(url, slack, child.pid!);
    console.log(`ack (a) ${ack.samples} signed /arm64 commands, ${ack.concurrency} concurrent, bot in its own process: p50 ${ack.p50Ms} ms, p99 ${ack.p99Ms} ms, max ${ack.maxMs} ms, bot CPU ${ack.botCpuMsPerCommand} ms/command; target p99 < ${ack.targetP99Ms} ms -> ${ack.pass ? 'PASS' : 'FAIL'}; first (cold) burst: p50 ${ack.firstBurst.p50Ms} ms, max ${ack.firstBurst.maxMs} ms`);
    const stopAt = Date.now();
    child.kill('SIGTERM');
    const exitCode = await exited;
    const idle = { rssMb, targetMb: 150, startMs, sigtermExitMs: Date.now() - stopAt, exitCode, pass: rssMb < 150 && exitCode === 0 };
    const load = { before: loadBefore, after: round(loadavg()[0]) };
    console.log(`ack (b) idle bot RSS ${idle.rssMb} MB (target < ${idle.targetMb} MB), started in ${idle.startMs} ms, SIGTERM to exit ${idle.sigtermExitMs} ms (code ${idle.exitCode}) -> ${idle.pass ? 'PASS' : 'FAIL'}`);
    console.log(`ack load average (1 min) ${load.before} before, ${load.after} after`);
    return { ack, load, idle };
  } finally {
    child.kill('SIGKILL');
    await slack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
