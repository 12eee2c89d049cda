// Slack acknowledgement latency and idle memory. The bot is started as its own process from the built JS
// (`dist/src/main.js`, as `npm start` and the image run it; `npm run bench` builds first), in HTTP mode
// against fake Slack, pinned to core 0 (taskset) while this process, the load generator and fake Slack,
// runs on core 1, so the generator does not take the bot's CPU. Then:
// (a) 3 runs, each against a fresh bot: 2,000 signed `/arm64` commands in bursts of 50 (after a first,
//     cold burst reported apart): time until the HTTP answer (the ack Slack waits for, 3 s at most);
//     p50/p99 per run and their spread; target p99 < 100 ms in each run; logging at `info`, as deployed;
//     with ACK_BENCH_BASELINE (another build's dist/src/main.js, e.g. main's) a bot of that build takes
//     every other burst, so both builds' figures come from the same moments of a shared machine;
// (b) one more run with bench/ack-probe.ts preloaded into the bot: its CPU per command before the ack
//     (what bounds ack latency) apart from the work after it, and how much of that later work ran while
//     another command was still waiting for its ack (work that delays acks); with ACK_BENCH_BASELINE that
//     build is instrumented beside it, bursts in turn, and the ratio printed;
// (c) the bot's RSS once idle (target < 150 MB), and how long it takes to stop on SIGTERM.
import { execFileSync, spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { SIGNING_SECRET } from '../test/fakes/bot.ts';
import { FakeSlackApi } from '../test/fakes/slack-api.ts';
import { postSigned, sign, slashCommandBody } from '../test/fakes/slack-request.ts';

interface AckRun {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  /** p99 counted from the moment the request was on the wire, not from when the generator fired it. */
  wireP99Ms: number;
  maxMs: number;
  pass: boolean;
  /** Each command's whole cost in the bot (receive, verify, ack, run, respond), from /proc. */
  botCpuMsPerCommand: number;
  /**
   * The bot's CPU per burst while the burst waited for its acks (from firing it to its last ack), from /proc
   * (10 ms ticks, averaged over the bursts): near the burst's pre-ack CPU when acks go first, near all of
   * its CPU when post-ack work runs between them.
   */
  botCpuMsPerBurstWhileAcking: number;
  firstBurst: { p50Ms: number; maxMs: number };
  load: number;
}

export interface AckBenchResult {
  pinned: string;
  ack: { commands: number; burst: number; targetP99Ms: number; runs: AckRun[]; p99SpreadMs: string; p50SpreadMs: string; pass: boolean };
  /** From the instrumented run (bench/ack-probe.ts): the bot's CPU per command before Bolt's ack and after it. */
  cpuPerCommand: {
    commands: number;
    /** Its request's own callbacks before the ack, plus reading requests off the sockets (readingMeanMs). */
    preAckMeanMs: number;
    /**
     * CPU of callbacks of no request (the sockets' reads: HTTP parsing, body chunks) inside bursts' windows,
     * per command: part of what each ack costs, which a request's own callbacks do not show.
     */
    readingMeanMs: number;
    preAckP50Ms: number;
    preAckP99Ms: number;
    postAckMeanMs: number;
    /**
     * Post-ack CPU that ran while the bot still had acks of the same burst to write (it delays those acks), per
     * command; counted from the bot's first read to its last ack (the generator's window also holds the time its
     * last acks take to reach a busy generator, when post-ack work delays nothing).
     */
    postAckWhileAckPendingMeanMs: number;
    /**
     * Garbage collection from the first timed burst to the last: collections per 1,000 commands (minor and major)
     * and pause per command, all of it and the part that fell in the bot's windows (pausing pending acks).
     */
    gc: { minorPer1000: number; majorPer1000: number; pauseMeanMs: number; pauseWhileAckingMeanMs: number; maxPauseMs: number };
    instrumentedP99Ms: number;
  };
  /** With ACK_BENCH_BASELINE: the same figures for that build, its bursts taking turns with this build's. */
  vsBaseline?: { main: string; runs: AckRun[]; cpuPerCommand: AckBenchResult['cpuPerCommand']; preAckRatio: number };
  /** Where the instrumented run's ack latency went, for its slowest 1 % of commands and for all. */
  latencySplit: { slowest: LatencyParts; all: LatencyParts };
  /** 1-minute load average before and after (2 cores shared with other work: figures above ~1 are noisy). */
  load: { before: number; after: number };
  /** From the first run (absent with ACK_BENCH_RUNS=0: the instrumented run only). */
  idle?: { rssMb: number; targetMb: number; startMs: number; sigtermExitMs: number; exitCode: number | null; pass: boolean };
}

const COMMANDS = Number(process.env.ACK_BENCH_COMMANDS ?? 2000);
const BURST = 50;
const RUNS = Number(process.env.ACK_BENCH_RUNS ?? 3);
/** A folder: the timed runs' bots write V8 CPU profiles there (`--cpu-prof`), to see where their CPU goes. */
const CPU_PROF_DIR = process.env.ACK_BENCH_CPU_PROF;
/** Another build's dist/src/main.js (e.g. main's) to instrument beside this one, bursts taking turns. */
const BASELINE = process.env.ACK_BENCH_BASELINE;

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

/** For the instrumented run: each burst's [first sent, last ack received] and each command's [sent, on the wire, ack received], in µs (process.hrtime). */
interface Trace {
  windows: [number, number][];
  commands: Map<string, [number, number, number]>;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** When fetch (undici) finished writing each request, by its x-slack-signature (unique per body). */
const onWire = new Map<string, number>();
const wireChannel = 'undici:request:bodySent';
const noteWire = (message: unknown) => {
  const headers = (message as { request: { headers?: unknown } }).request.headers;
  if (!Array.isArray(headers)) return;
  const i = headers.indexOf('x-slack-signature');
  if (i >= 0) onWire.set(String(headers[i + 1]), nowUs());
};

/**
 * Fires signed commands in bursts of BURST at one bot's receiver; the bot runs in another process, as it would.
 * Latency counts from the moment a command is fired, so it includes the generator's own work on the rest of the
 * burst; `wireMs` counts from the moment its request was on the wire (what Slack's 3 s clock would see). Its
 * response_urls are `<tag>-<n>`, so two bots can take turns against the same fake Slack.
 */
function burster(url: string, slack: FakeSlackApi, pid: number, tag: string, trace?: Trace) {
  let id = 0;
  // fake Slack is shared (by the runs, and by two bots taking turns): this bot's replies are those to its URLs.
  let seen = slack.calls.length;
  let replied = 0;
  const allReplied = () => {
    for (; seen < slack.calls.length; seen++) if (slack.calls[seen]!.responseId?.startsWith(`${tag}-`)) replied++;
    return replied >= id;
  };
  const fire = async (text: string) => {
    const responseUrl = slack.responseUrl(`${tag}-${++id}`);
    const body = slashCommandBody({ text, response_url: responseUrl });
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = sign(SIGNING_SECRET, timestamp, body);
    const start = process.hrtime.bigint();
    const res = await postSigned(url, body, { secret: SIGNING_SECRET, timestamp, signature });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`ack status ${res.status}`);
    const end = process.hrtime.bigint();
    const wired = onWire.get(signature);
    onWire.delete(signature);
    if (wired === undefined) throw new Error(`no ${wireChannel} for a command: cannot time it from the wire`);
    trace?.commands.set(responseUrl, [Number(start / 1000n), wired, Number(end / 1000n)]);
    return { ms: Number(end - start) / 1e6, wireMs: (Number(end / 1000n) - wired) / 1000 };
  };
  return {
    /** The bot's CPU while bursts waited for their acks, summed (from /proc). */
    cpuWhileAcking: 0,
    /** One burst, its acks' times; resolves once every reply landed, so bursts do not overlap. */
    async burst() {
      // A mix: help and services render from memory; an unknown subcommand takes the refusal path.
      const texts = Array.from({ length: BURST }, (_, i) => ['help', 'services', 'frobnicate svc-1'][i % 3]);
      const cpuAtStart = await cpuMs(pid);
      const sent = nowUs();
      const times = await Promise.all(texts.map(fire));
      // From the first command sent to the last ack received, some command of the burst waits for its ack.
      trace?.windows.push([sent, nowUs()]);
      this.cpuWhileAcking += (await cpuMs(pid)) - cpuAtStart;
      await slack.waitFor(allReplied, 30_000);
      return times;
    },
  };
}

type Burster = ReturnType<typeof burster>;

/**
 * COMMANDS commands at each bot, a burst at a time, the bots taking turns (one bot: a run). The first burst after
 * start-up opens the connections (both ways) and runs each code path for the first time; it is reported on its own
 * (`firstBurst`), and the target applies to the bursts after it.
 */
async function ackLatency(bots: { pid: number; b: Burster }[]): Promise<AckRun[]> {
  subscribe(wireChannel, noteWire);
  try {
    const first: number[][] = [];
    for (const { b } of bots) {
      first.push((await b.burst()).map((t) => t.ms).sort((a, b) => a - b));
      b.cpuWhileAcking = 0;
    }
    const timed = bots.map(() => [] as { ms: number; wireMs: number }[]);
    const cpu = bots.map(() => 0);
    while (timed[0]!.length < COMMANDS)
      for (const [i, { pid, b }] of bots.entries()) {
        const before = await cpuMs(pid);
        timed[i]!.push(...(await b.burst()));
        cpu[i] += (await cpuMs(pid)) - before;
      }
    return bots.map(({ b }, i) => {
      const samples = timed[i]!.map((t) => t.ms).sort((a, b) => a - b);
      const fromWire = timed[i]!.map((t) => t.wireMs).sort((a, b) => a - b);
      const p99 = pct(samples, 99)!;
      return {
        samples: samples.length,
        p50Ms: round(pct(samples, 50)!),
        p99Ms: round(p99),
        wireP99Ms: round(pct(fromWire, 99)!),
        maxMs: round(samples.at(-1)!),
        pass: p99 < 100,
        botCpuMsPerCommand: Math.round((cpu[i]! / samples.length) * 100) / 100,
        botCpuMsPerBurstWhileAcking: round(b.cpuWhileAcking / (samples.length / BURST)),
        firstBurst: { p50Ms: round(pct(first[i]!, 50)!), maxMs: round(first[i]!.at(-1)!) },
        load: round(loadavg()[0]!),
      };
    });
  } finally {
    unsubscribe(wireChannel, noteWire);
  }
}

/** `taskset` pins the bot to core 0 and this process (all its threads) to core 1, when there are two cores and taskset. */
function pinning(): { bot: string[]; label: string } {
  try {
    if (availableParallelism() < 2) return { bot: [], label: 'not pinned (one core)' };
    execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
    return { bot: ['taskset', '-c', '0'], label: 'bot on core 0, load generator and fake Slack on core 1 (taskset)' };
  } catch {
    return { bot: [], label: 'not pinned (taskset failed or is missing: util-linux)' };
  }
}

interface Bot {
  url: string;
  pid: number;
  startMs: number;
  stop(): Promise<{ exitCode: number | null; sigtermExitMs: number }>;
}

async function startBot(
  slack: FakeSlackApi,
  dir: string,
  pin: string[],
  preload: string[],
  env: Record<string, string> = {},
  main = fileURLToPath(new URL('../dist/src/main.js', import.meta.url)),
): Promise<Bot> {
  const configFile = join(dir, 'archshift.yml');
  const slackPort = await freePort();
  await writeFile(
    configFile,
    stringify({
      slack: { mode: 'http', port: slackPort, apiUrl: slack.apiUrl, retries: 0 },
      store: { file: join(dir, `store-${slackPort}.json`) },
      server: { port: 0, host: '127.0.0.1' },
      catalog,
    }),
  );
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm run bench does)`);
  const started = Date.now();
  const [cmd, ...args] = [...pin, process.execPath, ...preload, main, '--config', configFile];
  const child = spawn(cmd!, args, {
    env: {
      ...process.env,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      LOG_LEVEL: 'info',
      KUBECONFIG: '',
      KUBERNETES_SERVICE_HOST: '',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${slackPort}/slack/events`;
  try {
    for (;;) {
      const up = await fetch(url, { method: 'POST' }).then(
        () => true,
        () => false,
      );
      if (up) break;
      if (Date.now() - started > 60_000) throw new Error('the bot did not start within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    startMs: Date.now() - started,
    async stop() {
      const stopAt = Date.now();
      child.kill('SIGTERM');
      const exitCode = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
      child.kill('SIGKILL');
      return { exitCode, sigtermExitMs: Date.now() - stopAt };
    },
  };
}

/** One HTTP request as bench/ack-probe.ts saw it in the bot (CPU in µs, times in µs of process.hrtime). */
interface ProbedRequest {
  preUs: number;
  postUs: number;
  receivedUs: number;
  ackedUs: number;
  responseUrl?: string | null;
}

interface LatencyParts {
  /** From firing the command until fetch had written it: the generator's own work (on the whole burst). */
  generatorMs: number;
  /** From the wire until the bot's 'request' event: the bot busy with other requests or other work. */
  toBotMs: number;
  /** From the 'request' event until Bolt's ack ended the response. */
  inBotMs: number;
  /** From the ack until the generator had the answer. */
  backMs: number;
}

const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100;

/** The probe's figures for the timed commands (the cold first burst left out), matched to the generator's by response_url. */
interface Probed {
  requests: ProbedRequest[];
  postAck: number[];
  unattributed: number[];
  /** Flat: [started at (µs, hrtime), pause µs, 1 when major, …]. */
  gcs: number[];
}

function analyse(probed: Probed, trace: Trace, run: AckRun) {
  const timed = [...trace.commands].slice(-run.samples);
  const byUrl = new Map(probed.requests.filter((r) => r.responseUrl).map((r) => [r.responseUrl!, r]));
  const matched = timed.map(([url, [sent, wired, done]]) => {
    const r = byUrl.get(url);
    if (!r) throw new Error(`the probe did not see ${url}`);
    return { r, sent, wired, done };
  });
  // Bursts after the cold one, as the generator saw them (first sent until last ack received) and as the bot did
  // (first request read until its last ack written): post-ack CPU in the bot's window delays the burst's acks;
  // after it, while the last acks travel back to a busy generator, it delays none.
  const windows = trace.windows.slice(1);
  const botWindows = windows.map(([from, to]) => {
    const burst = matched.filter(({ sent }) => sent >= from && sent <= to);
    return [Math.min(...burst.map(({ r }) => r.receivedUs)), Math.max(...burst.map(({ r }) => r.ackedUs))] as [number, number];
  });
  const insideWindows = (stretches: number[], within: [number, number][]) => {
    let us = 0;
    for (let i = 0; i < stretches.length; i += 2) {
      const at = stretches[i]!;
      if (within.some(([from, to]) => at >= from && at <= to)) us += stretches[i + 1]!;
    }
    return us;
  };
  const postAckWhileWaitingUs = insideWindows(probed.postAck, botWindows);
  const readingMeanMs = insideWindows(probed.unattributed, windows) / 1000 / matched.length;
  const [firstFrom, lastTo] = [windows[0]![0], windows.at(-1)![1]];
  const timedGcs: { at: number; us: number; major: boolean }[] = [];
  for (let i = 0; i < probed.gcs.length; i += 3) {
    const at = probed.gcs[i]!;
    if (at >= firstFrom && at <= lastTo) timedGcs.push({ at, us: probed.gcs[i + 1]!, major: probed.gcs[i + 2] === 1 });
  }
  const perCommand = (us: number) => Math.round((us / 1000 / matched.length) * 1000) / 1000;
  const gc = {
    minorPer1000: round((timedGcs.filter((g) => !g.major).length * 1000) / matched.length),
    majorPer1000: round((timedGcs.filter((g) => g.major).length * 1000) / matched.length),
    pauseMeanMs: perCommand(timedGcs.reduce((a, g) => a + g.us, 0)),
    pauseWhileAckingMeanMs: perCommand(
      timedGcs.filter((g) => botWindows.some(([from, to]) => g.at >= from && g.at <= to)).reduce((a, g) => a + g.us, 0),
    ),
    maxPauseMs: round(Math.max(0, ...timedGcs.map((g) => g.us)) / 1000),
  };
  const pre = matched.map(({ r }) => r.preUs / 1000).sort((a, b) => a - b);
  const cpuPerCommand = {
    commands: matched.length,
    preAckMeanMs: Math.round((mean(pre) + readingMeanMs) * 100) / 100,
    readingMeanMs: Math.round(readingMeanMs * 100) / 100,
    preAckP50Ms: round(pct(pre, 50)!),
    preAckP99Ms: round(pct(pre, 99)!),
    postAckMeanMs: mean(matched.map(({ r }) => r.postUs / 1000)),
    postAckWhileAckPendingMeanMs: Math.round((postAckWhileWaitingUs / 1000 / matched.length) * 100) / 100,
    gc,
    instrumentedP99Ms: run.p99Ms,
  };
  const parts = (xs: typeof matched): LatencyParts => ({
    generatorMs: mean(xs.map(({ sent, wired }) => (wired - sent) / 1000)),
    toBotMs: mean(xs.map(({ r, wired }) => (r.receivedUs - wired) / 1000)),
    inBotMs: mean(xs.map(({ r }) => (r.ackedUs - r.receivedUs) / 1000)),
    backMs: mean(xs.map(({ r, done }) => (done - r.ackedUs) / 1000)),
  });
  const slowest = [...matched].sort((a, b) => b.done - b.sent - (a.done - a.sent)).slice(0, Math.max(1, Math.ceil(matched.length / 100)));
  return { cpuPerCommand, latencySplit: { slowest: parts(slowest), all: parts(matched) } };
}

const spreadOf = (xs: number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`;

export async function run(): Promise<AckBenchResult> {
  const loadBefore = round(loadavg()[0]!);
  const pin = pinning();
  if (CPU_PROF_DIR) await mkdir(CPU_PROF_DIR, { recursive: true });
  const slack = await new FakeSlackApi().start();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-ack-'));
  try {
    const runs: AckRun[] = [];
    /** With ACK_BENCH_BASELINE: that build's runs, its bursts taking turns with this build's (the same load). */
    const baselineRuns: AckRun[] = [];
    const runLine = (run: AckRun) =>
      `${run.samples} signed /arm64 commands in bursts of ${BURST}: p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms (${run.wireP99Ms} ms from the wire), max ${run.maxMs} ms, bot CPU ${run.botCpuMsPerCommand} ms/command, ${run.botCpuMsPerBurstWhileAcking} ms per burst of ${BURST} while it waited for its acks, load ${run.load} -> ${run.pass ? 'PASS' : 'FAIL'}; first (cold) burst p50 ${run.firstBurst.p50Ms} ms, max ${run.firstBurst.maxMs} ms`;
    let idle: AckBenchResult['idle'] | undefined;
    for (let r = 0; r < RUNS; r++) {
      const bot = await startBot(slack, dir, pin.bot, CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : []);
      const baseline = BASELINE ? await startBot(slack, dir, pin.bot, [], {}, BASELINE) : undefined;
      try {
        if (r === 0) await new Promise((res) => setTimeout(res, 3000)); // idle: start-up garbage collected, timers settled
        const rssKb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${bot.pid}/status`, 'utf8'))![1]);
        const windows: Trace | undefined = CPU_PROF_DIR ? { windows: [], commands: new Map() } : undefined;
        const [run, baselineRun] = await ackLatency([
          { pid: bot.pid, b: burster(bot.url, slack, bot.pid, 'bench', windows) },
          ...(baseline ? [{ pid: baseline.pid, b: burster(baseline.url, slack, baseline.pid, 'baseline') }] : []),
        ]);
        runs.push(run!);
        // Beside the profile: when each burst waited for its acks (µs of the machine's monotonic clock, as V8's samples).
        if (windows) await writeFile(join(CPU_PROF_DIR!, `windows-${bot.pid}.json`), JSON.stringify(windows.windows));
        console.log(`ack run ${r + 1}: ${runLine(run!)}`);
        if (baselineRun) {
          baselineRuns.push(baselineRun);
          console.log(`ack run ${r + 1}, baseline ${BASELINE} (bursts in turn with the run above): ${runLine(baselineRun)}`);
        }
        const { exitCode, sigtermExitMs } = await bot.stop();
        if (r === 0)
          idle = {
            rssMb: round(rssKb / 1024),
            targetMb: 150,
            startMs: bot.startMs,
            sigtermExitMs,
            exitCode,
            pass: rssKb / 1024 < 150 && exitCode === 0,
          };
      } finally {
        await bot.stop();
        await baseline?.stop();
      }
    }
    // The instrumented run: the probe costs CPU of its own, so its latency is not the one judged. With
    // ACK_BENCH_BASELINE (another build's dist/src/main.js, e.g. main's), that bot is instrumented too and the two
    // take turns burst by burst, so both see the same load: their CPU per command is comparable on a busy machine.
    const probe = fileURLToPath(new URL('./ack-probe.ts', import.meta.url));
    const probed = async (main: string | undefined, tag: string) => {
      const out = join(dir, `probe-${tag}.json`);
      const bot = await startBot(
        slack,
        dir,
        pin.bot,
        ['--import', 'tsx', '--import', pathToFileURL(probe).href],
        { ACK_PROBE_OUT: out },
        main,
      );
      const trace: Trace = { windows: [], commands: new Map() };
      return { bot, trace, out, b: burster(bot.url, slack, bot.pid, tag, trace) };
    };
    const instrumented = [await probed(undefined, 'probe')];
    if (BASELINE) instrumented.push(await probed(BASELINE, 'baseline'));
    let instrumentedRuns: AckRun[];
    try {
      instrumentedRuns = await ackLatency(instrumented.map(({ bot, b }) => ({ pid: bot.pid, b })));
    } finally {
      for (const { bot } of instrumented) await bot.stop();
    }
    const [{ cpuPerCommand, latencySplit }, baseline] = await Promise.all(
      instrumented.map(async ({ out, trace }, i) =>
        analyse(JSON.parse(await readFile(out, 'utf8')) as Probed, trace, instrumentedRuns[i]!),
      ),
    );
    const cpuLine = (c: AckBenchResult['cpuPerCommand']) =>
      `before the ack mean ${c.preAckMeanMs} ms (of which ${c.readingMeanMs} ms reading requests off the sockets; its request's own callbacks p50 ${c.preAckP50Ms}, p99 ${c.preAckP99Ms}), after it mean ${c.postAckMeanMs} ms, of which ${c.postAckWhileAckPendingMeanMs} ms ran while the bot still had acks of its burst to write; GC ${c.gc.minorPer1000} minor + ${c.gc.majorPer1000} major per 1,000 commands, pause ${c.gc.pauseMeanMs} ms per command (${c.gc.pauseWhileAckingMeanMs} ms while acks were pending), longest ${c.gc.maxPauseMs} ms; instrumented p99 ${c.instrumentedP99Ms} ms`;
    console.log(`ack CPU per command (instrumented run): ${cpuLine(cpuPerCommand)}`);
    const vsBaseline = baseline && {
      main: BASELINE!,
      runs: baselineRuns,
      cpuPerCommand: baseline.cpuPerCommand,
      preAckRatio: Math.round((cpuPerCommand.preAckMeanMs / baseline.cpuPerCommand.preAckMeanMs) * 100) / 100,
    };
    if (vsBaseline)
      console.log(
        `ack CPU per command, baseline ${BASELINE} (bursts in turn with the run above): ${cpuLine(vsBaseline.cpuPerCommand)}; before the ack this build / baseline = ${vsBaseline.preAckRatio}`,
      );
    console.log(
      `ack latency split (instrumented run), mean over the slowest 1% / all: fired until on the wire (the generator) ${latencySplit.slowest.generatorMs} / ${latencySplit.all.generatorMs} ms, until the bot read it ${latencySplit.slowest.toBotMs} / ${latencySplit.all.toBotMs} ms, read until acked ${latencySplit.slowest.inBotMs} / ${latencySplit.all.inBotMs} ms, acked until the ack arrived ${latencySplit.slowest.backMs} / ${latencySplit.all.backMs} ms`,
    );
    const ack = {
      commands: COMMANDS,
      burst: BURST,
      targetP99Ms: 100,
      runs,
      p99SpreadMs: spreadOf(runs.map((r) => r.p99Ms)),
      p50SpreadMs: spreadOf(runs.map((r) => r.p50Ms)),
      pass: runs.every((r) => r.pass),
    };
    if (RUNS)
      console.log(
        `ack p99 over ${RUNS} runs: ${ack.p99SpreadMs} ms (p50 ${ack.p50SpreadMs} ms); ${pin.label} -> ${ack.pass ? 'PASS' : 'FAIL'}`,
      );
    const load = { before: loadBefore, after: round(loadavg()[0]!) };
    if (idle)
      console.log(
        `ack idle bot RSS ${idle.rssMb} MB (target < ${idle.targetMb} MB), started in ${idle.startMs} ms, SIGTERM to exit ${idle.sigtermExitMs} ms (code ${idle.exitCode})`,
      );
    console.log(`ack load average (1 min) ${load.before} before, ${load.after} after`);
    return { pinned: pin.label, ack, cpuPerCommand, ...(vsBaseline ? { vsBaseline } : {}), latencySplit, load, ...(idle ? { idle } : {}) };
  } finally {
    await slack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
