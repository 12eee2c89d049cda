// The memory and hang attacks of issue 11, repeated against the built bot (`dist/src/main.js`, as
// `npm start` runs it) in its own process, HTTP mode, fake Slack, and a hostile registry on loopback:
//   (a) 8 unsigned 64 MB posts at once into Slack's endpoint, while
//   (b) `/arm64 check` of a service whose image's registry answers a 50 MB manifest;
//   then (c) every malformed signed request of the attack run, one by one, timed.
// Reports the bot's peak RSS (VmHWM) and, apart, `archshift check --image` (the CLI, built) against the
// same 50 MB manifest. Goals: peak RSS < 200 MB for both; 0 hangs; every malformed request answered < 1 s.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { SIGNING_SECRET } from '../test/fakes/bot.ts';
import { FakeSlackApi } from '../test/fakes/slack-api.ts';
import { freePort, closeServer, listenLocal } from '../test/fakes/net.ts';
import { rawRequest, type RawAnswer } from '../test/fakes/raw-http.ts';
import { MALFORMED_SLACK_BODIES } from '../test/fakes/malformed-slack.ts';
import { postSigned, sign, slashCommandBody } from '../test/fakes/slack-request.ts';

const MB = 1024 * 1024;
const GOAL_RSS_MB = 200;
const round = (n: number) => Math.round(n * 10) / 10;

async function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1];
  return kb ? round(Number(kb) / 1024) : undefined;
}

/** A registry whose every manifest is 50 MB of spaces (with a Content-Length, as a naive server would). */
async function hostileRegistry(): Promise<{ host: string; manifestRequests: () => number; close: () => Promise<void> }> {
  let manifests = 0;
  const flood = (res: ServerResponse, bytes: number) => {
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': String(bytes) });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let left = bytes;
    res.on('close', () => (left = 0));
    const pump = () => {
      while (left > 0) {
        left -= chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  };
  const server = createServer((req, res) => {
    if (req.url === '/v2/') return void res.end('{}');
    if (req.url?.includes('/manifests/')) {
      manifests++;
      return flood(res, 50 * MB);
    }
    res.writeHead(404).end();
  });
  const url = await listenLocal(server);
  return { host: url.replace('http://', ''), manifestRequests: () => manifests, close: () => closeServer(server) };
}

/** Runs `node <entry> args` and samples its peak RSS (VmHWM) until it exits. */
async function peakOf(
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ peakRssMb?: number; exitCode: number | null; ms: number; stdout: string; hung: boolean }> {
  const started = Date.now();
  const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.resume();
  let peak: number | undefined;
  let done = false;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => ((done = true), r(code))));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  while (!done) {
    peak = Math.max(peak ?? 0, (await procStatus(child.pid!, 'VmHWM')) ?? 0) || peak;
    await new Promise((r) => setTimeout(r, 20));
  }
  clearTimeout(timer);
  const exitCode = await exited;
  return { peakRssMb: peak, exitCode, ms: Date.now() - started, stdout, hung: Date.now() - started >= timeoutMs };
}

export interface AttackBenchResult {
  bot: { idleRssMb?: number; peakRssMb?: number; goalMb: number; pass: boolean };
  /** Status 0: the bot answered 401 and closed, and the reset reached the sender before the status line. */
  unsignedPosts: { count: number; bytesEach: number; statuses: number[]; maxAnswerMs: number; hangs: number };
  manifest: { manifestRequests: number; checkAnswered: boolean; reply?: string };
  malformed: { count: number; statuses: number[]; maxMs: number; within1s: number; hangs: number; pass: boolean };
  cli: { peakRssMb?: number; goalMb: number; exitCode: number | null; ms: number; hung: boolean; reason?: string; pass: boolean };
  load: { before: number; after: number };
}

export async function run(): Promise<AttackBenchResult> {
  const loadBefore = round(loadavg()[0]);
  const main = fileURLToPath(new URL('../dist/src/main.js', import.meta.url));
  const cli = fileURLToPath(new URL('../dist/cli/archshift.js', import.meta.url));
  if (!existsSync(main) || !existsSync(cli)) throw new Error('dist/ is missing: run `npm run build` (npm run bench does)');
  const slack = await new FakeSlackApi().start();
  const registry = await hostileRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-attack-'));
  const slackPort = await freePort();
  const configFile = join(dir, 'archshift.yml');
  const catalog = {
    defaults: {
      repo: 'acme/{service}',
      dockerfiles: ['Dockerfile'],
      image: `${registry.host}/team/{service}`,
      pipeline: { repo: 'acme/cd', file: 's/{service}.yml' },
      manifests: { repo: 'acme/k8s', files: ['a/{service}.yaml'] },
    },
    services: { payments: { tag: '1' } },
  };
  await writeFile(
    configFile,
    stringify({
      slack: { mode: 'http', port: slackPort, apiUrl: slack.apiUrl, retries: 0 },
      store: { file: join(dir, 'store.json') },
      server: { port: 0, host: '127.0.0.1' },
      registry: { retries: 0 },
      catalog,
    }),
  );
  const child = spawn(process.execPath, [main, '--config', configFile], {
    env: {
      ...process.env,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      LOG_LEVEL: 'warn',
      KUBECONFIG: '',
      KUBERNETES_SERVICE_HOST: '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${slackPort}/slack/events`;
  try {
    const started = Date.now();
    while (
      !(await fetch(url, { method: 'POST' }).then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() - started > 30_000) throw new Error('the bot did not start within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const idleRssMb = await procStatus(child.pid!, 'VmRSS');

    // (a) + (b) at once.
    const responseId = 'attack-check';
    const check = postSigned(url, slashCommandBody({ text: 'check payments', response_url: slack.responseUrl(responseId) }), {
      secret: SIGNING_SECRET,
    });
    const posts = await Promise.all(
      Array.from({ length: 8 }, () =>
        rawRequest({
          url,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(64 * MB) },
          flood: 64 * MB,
          timeoutMs: 10_000,
        }).catch(() => undefined),
      ),
    );
    await check;
    const checkAnswered = await slack
      .waitFor(
        () =>
          slack.calls.some(
            (c) => (c.responseId === responseId || c.method === 'chat.update') && /unknown|4096 KiB|not read/i.test(JSON.stringify(c.args)),
          ),
        30_000,
      )
      .then(
        () => true,
        () => false,
      );
    const reply = slack.calls
      .filter((c) => c.method === 'chat.update' || c.responseId === responseId)
      .map((c) => JSON.stringify(c.args))
      .find((t) => /4096 KiB|not read/.test(t));
    const answered = posts.filter((p): p is RawAnswer => p !== undefined);

    // (c) malformed, signed, one at a time.
    const malformedAnswers: Array<RawAnswer | undefined> = [];
    for (const m of MALFORMED_SLACK_BODIES) {
      const ts = Math.floor(Date.now() / 1000);
      malformedAnswers.push(
        await rawRequest({
          url,
          headers: {
            'content-type': m.contentType,
            'x-slack-request-timestamp': String(ts),
            'x-slack-signature': sign(SIGNING_SECRET, ts, m.body),
          },
          chunks: [m.body],
          timeoutMs: 5000,
        }).catch(() => undefined),
      );
    }
    const peakRssMb = await procStatus(child.pid!, 'VmHWM');
    const got = malformedAnswers.filter((a): a is RawAnswer => a !== undefined);
    const maxMs = Math.max(...got.map((a) => a.ms));

    // The CLI against the same manifest, as its own process.
    const checkout = join(dir, 'checkout');
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n').catch(() => undefined);
    await import('node:fs/promises').then((fs) =>
      fs.mkdir(checkout).then(() => fs.writeFile(join(checkout, 'Dockerfile'), 'FROM scratch\nCOPY app /app\n')),
    );
    const cliRun = await peakOf(
      cli,
      ['check', checkout, '--image', `${registry.host}/team/cli:1`, '--json'],
      { ...process.env, ARCHSHIFT_CONFIG: '' },
      60_000,
    );
    const reason = /[^"]*4096 KiB[^"]*/.exec(cliRun.stdout)?.[0];

    const result: AttackBenchResult = {
      bot: { idleRssMb, peakRssMb, goalMb: GOAL_RSS_MB, pass: (peakRssMb ?? Infinity) < GOAL_RSS_MB },
      unsignedPosts: {
        count: 8,
        bytesEach: 64 * MB,
        statuses: answered.map((a) => a.status),
        maxAnswerMs: Math.max(...answered.map((a) => a.ms)),
        hangs: 8 - answered.length,
      },
      manifest: { manifestRequests: registry.manifestRequests(), checkAnswered, reply: reply?.slice(0, 300) },
      malformed: {
        count: MALFORMED_SLACK_BODIES.length,
        statuses: got.map((a) => a.status),
        maxMs,
        within1s: got.filter((a) => a.ms < 1000).length,
        hangs: MALFORMED_SLACK_BODIES.length - got.length,
        pass: got.length === MALFORMED_SLACK_BODIES.length && got.every((a) => a.ms < 1000 && a.status === 400),
      },
      cli: {
        peakRssMb: cliRun.peakRssMb,
        goalMb: GOAL_RSS_MB,
        exitCode: cliRun.exitCode,
        ms: cliRun.ms,
        hung: cliRun.hung,
        reason,
        pass: !cliRun.hung && (cliRun.peakRssMb ?? Infinity) < GOAL_RSS_MB,
      },
      load: { before: loadBefore, after: round(loadavg()[0]) },
    };
    console.log(
      `attack (a+b) bot peak RSS ${result.bot.peakRssMb} MB (idle ${result.bot.idleRssMb} MB) while 8 unsigned 64 MB posts (answers ${[...new Set(result.unsignedPosts.statuses)].join(',')}, slowest ${result.unsignedPosts.maxAnswerMs} ms, ${result.unsignedPosts.hangs} unanswered) and a 50 MB manifest (${result.manifest.manifestRequests} manifest requests, check answered: ${checkAnswered}); goal < ${GOAL_RSS_MB} MB -> ${result.bot.pass ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `attack (c) ${result.malformed.count} malformed signed requests: statuses ${[...new Set(result.malformed.statuses)].join(',')}, slowest ${maxMs} ms, ${result.malformed.hangs} hangs -> ${result.malformed.pass ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `attack (d) archshift check --image (50 MB manifest), own process: peak RSS ${result.cli.peakRssMb} MB in ${result.cli.ms} ms, exit ${result.cli.exitCode}${result.cli.hung ? ', HUNG' : ''}; goal < ${GOAL_RSS_MB} MB -> ${result.cli.pass ? 'PASS' : 'FAIL'}`,
    );
    return result;
  } finally {
    child.kill('SIGKILL');
    await slack.stop();
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
