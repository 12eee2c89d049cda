// /arm64 pr through the subcommand module: the real readiness check reads the repos through the
// GitHub adapter (Octokit over HTTP to the double), then the PRs are opened or politely refused.
import { describe, test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { pr } from '../../commands/pr.ts';
import { runPrCommand } from '../../src/cli/pr.ts';
import { openPrsButton, OPEN_PRS_ACTION } from '../../src/render/pr-buttons.ts';
import { Authorizer } from '../../src/auth/authorize.ts';
import { UsageError } from '../../src/args.ts';
import { ForbiddenError } from '../../src/auth/authorize.ts';
import { auditEntries } from '../../src/auth/audit.ts';
import { prsOf } from '../../src/prs/records.ts';
import type { CommandContext, SlackReply } from '../../commands/types.ts';
import type { Deps } from '../../src/deps.ts';
import { imagesWith, makeDeps, seededGitHub } from './helpers.ts';

describe('/arm64 pr', () => {
  const fake = seededGitHub(['api']);
  let deps: Deps;
  beforeEach(async () => {
    deps = await makeDeps(fake, { registry: imagesWith(false) });
    // The owning team S-api-team has one member, U-OWNER.
    deps = { ...deps, auth: new Authorizer(deps.config.auth, { membersOf: async (g) => new Set(g === 'S-api-team' ? ['U-OWNER'] : []) }) };
  });

  const call = async (text: string, user: string) => {
    const replies: SlackReply[] = [];
    const tokens = text.split(' ');
    const flags: Record<string, true> = {};
    const positionals = tokens.filter((t) => (t.startsWith('--') ? ((flags[t.slice(2)] = true), false) : true));
    const ctx = {
      args: { positionals, flags },
      user: { id: user },
      channelId: 'C1',
      respond: async (r: SlackReply) => void replies.push(r),
      client: {} as never,
      deps,
    } as CommandContext;
    await pr.run(ctx);
    return replies;
  };

  test('an operator opens the PRs; the reply links them', async () => {
    const replies = await call('api pipeline', 'U-OPERATOR');
    const last = replies[replies.length - 1];
    assert.equal(last.response_type, 'in_channel');
    assert.match(
      last.text,
      /:white_check_mark: \*pipeline\* opened <https:\/\/github\.example\/acme\/pipelines\/pull\/\d+\|#\d+> in `acme\/pipelines`/,
    );
    assert.equal(fake.pulls('acme/pipelines').length, 1);
    assert.equal(prsOf(deps.store, 'api')[0].kind, 'pipeline');
    assert.equal(auditEntries(deps.store).at(-1)!.action, 'pr.open');
  });

  test('a member of the owning team may open PRs for that service', async () => {
    const replies = await call('api selectors', 'U-OWNER');
    assert.match(replies.at(-1)!.text, /\*selectors\* opened .*\(draft\)/);
  });

  test('anyone else gets a polite refusal and nothing is created', async () => {
    await assert.rejects(
      call('api all', 'U-STRANGER'),
      (e: unknown) => e instanceof ForbiddenError && /Sorry, opening PRs for api needs the operator role/.test(e.message),
    );
    assert.equal(fake.writes(), 0);
    assert.equal(auditEntries(deps.store).at(-1)!.result, 'denied');
  });

  test('--dry-run needs only the viewer role and prints the diff without writing', async () => {
    const replies = await call('api pipeline --dry-run', 'U-STRANGER');
    assert.match(replies.at(-1)!.text, /\+ {6}mustBuildARM64: true/);
    assert.equal(fake.writes(), 0);
  });

  test('--dry-run by someone who is not even a viewer is refused before anything is read', async () => {
    deps = { ...deps, auth: new Authorizer({ ...deps.config.auth, everyoneIsViewer: false }, { membersOf: async () => new Set() }) };
    const reads = fake.requests.length;
    await assert.rejects(
      call('api pipeline --dry-run', 'U-STRANGER'),
      (e: unknown) => e instanceof ForbiddenError && /dry run of the PRs for api needs the viewer role/.test(e.message),
    );
    assert.equal(fake.requests.length, reads, 'no GitHub request was made');
  });

  test('archshift pr from a terminal is audited as pr.open by cli:<login>; a dry run is not', async () => {
    const io = { out: () => undefined, err: () => undefined };
    assert.equal(await runPrCommand({ positionals: ['api', 'pipeline'], flags: { 'dry-run': true } }, io, async () => deps), 0);
    assert.equal(auditEntries(deps.store).length, 0);
    assert.equal(await runPrCommand({ positionals: ['api', 'pipeline'], flags: {} }, io, async () => deps), 0);
    const entry = auditEntries(deps.store).at(-1)!;
    assert.deepEqual(
      { actor: entry.actor, action: entry.action, service: entry.service, result: entry.result },
      { actor: `cli:${userInfo().username}`, action: 'pr.open', service: 'api', result: 'ok' },
    );
    assert.match(entry.detail!, /^pipeline:opened https:\/\/github\.example\/acme\/pipelines\/pull\/\d+$/);
  });

  test('usage errors name the problem', async () => {
    await assert.rejects(
      call('api everything', 'U-OPERATOR'),
      (e: unknown) => e instanceof UsageError && /unknown change "everything"/.test(e.message),
    );
    await assert.rejects(call('', 'U-OPERATOR'), UsageError);
  });

  test('the Open PRs button carries the service and asks for confirmation', () => {
    const b = openPrsButton('api') as { action_id: string; value: string; confirm?: unknown };
    assert.equal(b.action_id, OPEN_PRS_ACTION);
    assert.equal(b.value, 'api');
    assert.ok(b.confirm);
  });
});
