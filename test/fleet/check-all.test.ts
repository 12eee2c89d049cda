// `archshift check --all`: every catalog service through the GitHub double and a real registry, a
// bounded number at a time, one shared registry client; the summary, the table/CSV/Markdown/JSON forms,
// the TTY-only progress, and the HTML report opened in a real headless chromium (playwright-core).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { parseArgs, UsageError } from '../../src/args.ts';
import { exitCodeOfError } from '../../src/cli/exit-codes.ts';
import { runCheckCommand } from '../../src/cli/check.ts';
import { cliCommand } from '../../src/cli/index.ts';
import type { Deps } from '../../src/deps.ts';
import { checkFleet, mapBounded, type FleetResult } from '../../src/fleet/check-all.ts';
import { renderFleetHtml } from '../../src/render/fleet-html.ts';
import { FakeGitHub } from '../fakes/github-api.ts';
import { startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry } from '../fakes/registry.ts';
import { pushOpenImages, readinessDeps, seedServiceRepos } from '../readiness/service-fixtures.ts';

/** The launch flags a CI machine with no network, GPU or sandbox needs; nothing phones home. */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('check --all over the catalog', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let github: FakeGitHub;
  let dir: string;
  let deps: Deps;
  let result: FleetResult;

  before(async () => {
    [registry, github] = await Promise.all([startRegistry(), new FakeGitHub().start()]);
    await pushOpenImages(registry);
    proxy = await startFaultProxy(registry.url);
    const teams: Record<string, string> = {
      'checkout-api': 'S0SHOP',
      'catalog-web': 'S0SHOP',
      'legacy-billing': 'S0FIN',
      'search-indexer': 'S0SEARCH',
    };
    const services: Record<string, unknown> = {};
    for (const [name, team] of Object.entries(teams)) services[name] = { ...(await seedServiceRepos(github, name, proxy.host)), team };
    services.orphan = { team: 'S0FIN' }; // incomplete: no repo, image, files
    dir = await mkdtemp(join(tmpdir(), 'archshift-fleet-'));
    deps = await readinessDeps(github, { catalog: { services } }, dir);
    result = await checkFleet(deps, { concurrency: 2 });
  });
  after(async () => {
    await deps?.store.close();
    await Promise.all([proxy?.close(), registry?.stop(), github?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('every service has a verdict; an incomplete entry is unknown with its reason, never ready', () => {
    const by = Object.fromEntries(result.entries.map((e) => [e.service, e]));
    assert.deepEqual(Object.keys(by).sort(), ['catalog-web', 'checkout-api', 'legacy-billing', 'orphan', 'search-indexer']);
    assert.equal(by['legacy-billing']!.verdict, 'blocked');
    assert.equal(by.orphan!.verdict, 'unknown');
    assert.match(by.orphan!.error!, /missing catalog keys/);
    const s = result.summary;
    assert.equal(s.total, 5);
    assert.equal(
      Object.values(s.verdicts).reduce((a, b) => a + b, 0),
      5,
    );
    assert.ok(s.topBlockers.some((b) => b.services.includes('legacy-billing')));
    for (let i = 1; i < s.topBlockers.length; i++)
      assert.ok(s.topBlockers[i - 1]!.services.length >= s.topBlockers[i]!.services.length, 'most services first');
    assert.ok(
      s.prs.some((p) => p.kind === 'pipeline'),
      'the pipeline flag is a PR',
    );
  });

  test('the registry client is shared: no base image manifest is asked for twice, and a second run makes no registry request at all', async () => {
    // Base images (not the services' own, whose layers the image scan also reads) are shared by services.
    const gets = proxy.log
      .filter((r) => r.method === 'GET' && r.path.includes('/manifests/') && !r.path.startsWith('/v2/shop/'))
      .map((r) => r.path);
    assert.ok(gets.length > 0);
    assert.deepEqual(
      gets.filter((p, i) => gets.indexOf(p) !== i),
      [],
      'each base image manifest fetched once for the whole fleet',
    );
    const before = proxy.log.length;
    await checkFleet(deps, { concurrency: 4 });
    // Manifests, config blobs, tag lists and the layer scans' results all come from the cache.
    assert.deepEqual(
      proxy.log.slice(before).map((r) => `${r.method} ${r.path}`),
      [],
    );
  });

  test('concurrency is bounded', async () => {
    let running = 0;
    let peak = 0;
    await mapBounded([...Array(20).keys()], 3, async () => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setImmediate(r));
      running--;
    });
    assert.equal(peak, 3);
  });

  const run = async (argv: string[], progress?: (t: string | undefined) => void) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCheckCommand(
      parseArgs(argv, cliCommand('check')!.booleanOptions),
      { out: (t) => out.push(t), err: (t) => err.push(t), progress },
      async () => deps,
    );
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  test('the table ends with the summary; --team filters; exit code follows the worst verdict', async () => {
    const all = await run(['--all']);
    assert.equal(all.code, 1, 'a blocked service makes the fleet exit 1');
    assert.match(all.out, /^SERVICE +TEAM +CLUSTER +VERDICT/);
    assert.match(all.out, /5 services: 1 blocked, \d+ unknown/);
    assert.match(all.out, /Blockers affecting most services:\n {2}1 service: /);
    assert.match(all.out, /What PRs would fix \(archshift pr --all\):\n {2}/);
    const shop = await run(['--all', '--team', 'S0SHOP', '--format', 'json']);
    const json = JSON.parse(shop.out) as {
      schemaVersion: number;
      services: { service: string; report: { schemaVersion: number } | null }[];
    };
    assert.equal(json.schemaVersion, 1);
    assert.deepEqual(
      json.services.map((s) => s.service),
      ['catalog-web', 'checkout-api'],
    );
    assert.equal(json.services[0]!.report!.schemaVersion, 1);
    await assert.rejects(run(['--all', '--team', 'S0NOBODY']), (e: unknown) => exitCodeOfError(e) === 66);
    await assert.rejects(run(['--all', '--concurrency', '0']), UsageError);
    await assert.rejects(run(['--all', '--format', 'pdf']), UsageError);
  });

  test('CSV (RFC 4180) and Markdown carry one row per service', async () => {
    const csv = (await run(['--all', '--format', 'csv'])).out.split('\r\n');
    assert.equal(csv[0], 'service,team,cluster,verdict,blockers,unknowns,changes,first thing to fix');
    assert.equal(csv.length, 6);
    assert.ok(csv.every((l) => !l.includes('\n')));
    const md = (await run(['--all', '--format', 'markdown'])).out;
    assert.match(md, /^# arm64 readiness of the fleet/);
    assert.equal(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| service')).length, 5);
  });

  test('progress goes to the progress line only when the CLI has one (a TTY); piped output has none', async () => {
    const lines: Array<string | undefined> = [];
    const withBar = await run(['--all', '--format', 'csv'], (t) => lines.push(t));
    assert.match(lines.find((l) => l?.includes('5/5')) ?? '', /^\[#+\] 5\/5 /);
    assert.equal(lines.at(-1), undefined, 'cleared at the end');
    assert.ok(!withBar.out.includes('['), 'stdout has no bar');
    const piped = await run(['--all', '--format', 'csv']);
    assert.equal(piped.err, '');
  });

  test('the HTML report in headless chromium: summary, findings, filters, sorting, no network', { timeout: 120_000 }, async () => {
    const file = join(dir, 'fleet.html');
    await writeFile(file, renderFleetHtml(result, { githubWebUrl: 'https://github.example.com' }));
    const profile = await mkdtemp(join(tmpdir(), 'archshift-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_FLAGS,
    });
    try {
      const requests: string[] = [];
      browser.on('request', (r) => requests.push(r.url()));
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href);
      assert.match(await page.locator('#summary').innerText(), /5 services/);
      assert.match(await page.locator('#summary').innerText(), /Blockers affecting most services/);
      assert.equal(await page.locator('#shown').innerText(), '5 of 5 services shown');

      const billing = page.locator('tbody.service[data-service="legacy-billing"]');
      await billing.locator('summary').click();
      const findings = billing.locator('li.finding');
      assert.ok((await findings.count()) > 0);
      assert.ok(await billing.locator('li.finding.sev-blocker').first().isVisible());
      assert.ok(await billing.locator('h4', { hasText: 'Dockerfile' }).isVisible(), 'findings are grouped by ecosystem');
      const link = await billing.locator('a[href*="/acme/legacy-billing/blob/"]').first().getAttribute('href');
      assert.match(link!, /^https:\/\/github\.example\.com\/acme\/legacy-billing\/blob\/HEAD\/Dockerfile#L\d+$/);

      await page.selectOption('#verdict', 'blocked');
      assert.deepEqual(
        await page.locator('tbody.service:visible').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.service)),
        ['legacy-billing'],
      );
      await page.selectOption('#verdict', '');
      await page.selectOption('#team', 'S0SHOP');
      assert.deepEqual(
        (await page.locator('tbody.service:visible').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.service))).sort(),
        ['catalog-web', 'checkout-api'],
      );
      assert.equal(await page.locator('#shown').innerText(), '2 of 5 services shown');
      await page.selectOption('#team', '');

      await page.locator('th[data-key="service"]').first().click();
      await page.locator('th[data-key="service"]').first().click();
      const order = await page.locator('tbody.service').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.service));
      assert.deepEqual(order, [...order].sort().reverse(), 'a second click sorts descending');

      assert.deepEqual(errors, []);
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file:')),
        [],
        'nothing is fetched from the network',
      );
    } finally {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    }
  });
});
