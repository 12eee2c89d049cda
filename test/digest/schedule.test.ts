import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cron from 'node-cron';
import { Store } from '../../src/adapters/store.ts';
import { digestConfigSchema } from '../../src/digest/config.ts';
import { DigestSchedule, type DigestScheduleOptions } from '../../src/digest/schedule.ts';
import { createLogger } from '../../src/logger.ts';
import { FakeClock } from '../fakes/clock.ts';

describe('digest schedule driven by a fake clock', () => {
  let dir: string;
  const clock = new FakeClock(new Date('2026-11-25T07:00:00Z'));
  const posted: string[] = [];
  let schedules: DigestSchedule[] = [];

  /** A schedule as the bot builds it at start-up, over the store file on disk (a restart reopens it). */
  async function boot(over: Partial<DigestScheduleOptions> = {}): Promise<DigestSchedule> {
    const s = new DigestSchedule({
      expression: '0 9 * * 1-5',
      timezone: 'Europe/Berlin',
      catchUpHours: 6,
      store: await Store.open(join(dir, 'store.json')),
      clock,
      logger: createLogger('silent'),
      run: async (slot) => {
        posted.push(slot.toISOString());
      },
      ...over,
    });
    schedules.push(s);
    return s;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archshift-schedule-'));
  });
  after(async () => {
    for (const s of schedules) await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('slots are read in the configured time zone: weekdays 09:00 Berlin = 08:00 UTC in winter', async () => {
    const s = await boot();
    assert.equal(s.dueSlot(new Date('2026-11-25T07:59:00Z')), undefined);
    assert.equal(s.dueSlot(new Date('2026-11-25T08:00:00Z'))?.toISOString(), '2026-11-25T08:00:00.000Z');
    assert.equal(s.dueSlot(new Date('2026-11-25T13:59:00Z'))?.toISOString(), '2026-11-25T08:00:00.000Z', 'within the catch-up window');
    assert.equal(s.dueSlot(new Date('2026-11-25T14:01:00Z')), undefined, 'older than catchUpHours');
    assert.equal(s.dueSlot(new Date('2026-11-28T08:00:00Z')), undefined, 'Saturday');
  });

  test('a slot is posted once: the timer tick posts, a second tick and a restart do not', async () => {
    clock.set('2026-11-25T08:00:00Z');
    const s = await boot();
    assert.equal(await s.tick(), 'posted');
    assert.equal(await s.tick(), 'already-posted');
    clock.set('2026-11-25T08:30:00Z');
    const restarted = await boot();
    assert.equal(await restarted.tick(), 'already-posted');
    assert.deepEqual(posted, ['2026-11-25T08:00:00.000Z']);
  });

  test('a slot missed while the bot was down is posted once at start-up, not again on the next restart', async () => {
    posted.length = 0;
    clock.set('2026-11-26T10:30:00Z'); // Thursday; down at 08:00 UTC
    const first = await boot();
    assert.equal(await first.tick(), 'posted');
    clock.set('2026-11-26T10:35:00Z');
    const second = await boot();
    assert.equal(await second.tick(), 'already-posted');
    assert.deepEqual(posted, ['2026-11-26T08:00:00.000Z']);
  });

  test('overlapping ticks do not run twice', async () => {
    posted.length = 0;
    clock.set('2026-11-27T08:00:00Z');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = await boot({
      run: async (slot) => {
        await gate;
        posted.push(slot.toISOString());
      },
    });
    const running = slow.tick();
    assert.equal(await slow.tick(), 'busy');
    release();
    assert.equal(await running, 'posted');
    assert.deepEqual(posted, ['2026-11-27T08:00:00.000Z']);
  });

  test('only the leader posts', async () => {
    posted.length = 0;
    clock.set('2026-11-30T08:00:00Z'); // Monday
    const follower = await boot({ shouldRun: () => false });
    assert.equal(await follower.tick(), 'not-leader');
    assert.deepEqual(posted, []);
    const leader = await boot({ shouldRun: async () => true });
    assert.equal(await leader.tick(), 'posted');
  });

  test('a failed post releases the slot so the next tick retries it', async () => {
    posted.length = 0;
    clock.set('2026-12-01T08:00:00Z');
    let fail = true;
    const s = await boot({
      run: async (slot) => {
        if (fail) throw new Error('slack down');
        posted.push(slot.toISOString());
      },
    });
    assert.equal(await s.tick(), 'failed');
    fail = false;
    clock.advance(60_000);
    assert.equal(await s.tick(), 'posted');
    assert.deepEqual(posted, ['2026-12-01T08:00:00.000Z']);
  });

  test('start() arms node-cron for the next slot in the time zone; stop() removes the task', async () => {
    clock.set('2026-12-02T12:00:00Z'); // today's 08:00 UTC slot was never posted: start() catches up
    posted.length = 0;
    const named = () => [...cron.getTasks().values()].filter((t) => t.name === 'archshift-digest').length;
    const s = await boot();
    const before = named();
    assert.equal(await s.start(), 'posted');
    const next = s.nextRun();
    assert.ok(next && next.getTime() > Date.now(), 'next run is in the future of the real clock');
    assert.equal(next.getUTCHours() === 8 || next.getUTCHours() === 7, true, '09:00 Berlin (08:00 UTC in winter, 07:00 in summer)');
    assert.ok([1, 2, 3, 4, 5].includes(new Date(next.toLocaleString('en-US', { timeZone: 'Europe/Berlin' })).getDay()), 'a weekday');
    await s.stop();
    schedules = schedules.filter((x) => x !== s);
    assert.equal(named(), before - 1);
  });
});

test('the digest config refuses a bad schedule or time zone with a clear message', () => {
  const bad = digestConfigSchema.safeParse({ schedule: '0 9 * *', timezone: 'Mars/Olympus' });
  assert.equal(bad.success, false);
  const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.ok(
    messages.some((m) => /^schedule: a five-field cron expression/.test(m)),
    messages.join('; '),
  );
  assert.ok(
    messages.some((m) => /^timezone: an IANA time zone/.test(m)),
    messages.join('; '),
  );
  const ok = digestConfigSchema.parse(undefined);
  assert.equal(ok.schedule, '0 9 * * 1-5');
  assert.equal(ok.pricesAsOf, '2026-11-01');
});
