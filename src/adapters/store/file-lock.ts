// The lowdb file's single-writer lock, `<file>.lock`. It is created atomically with its content (a
// hard link, which fails when the name exists), so of many processes opening the store at once exactly
// one creates it. A lock whose process is gone is taken over under a
// second exclusive file, `<file>.lock.takeover`: only the process that creates it may remove the stale
// lock, after checking that the lock is still the one it judged stale, and then competes for the lock
// like everyone else. Losers of either race see a live holder.
import { randomUUID } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';

export interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

export type LockResult = { held: true } | { held: false; holder: LockInfo };

/** How long a takeover file may stay before it is judged left by a crash (it lives for microseconds). */
const TAKEOVER_STALE_MS = 10_000;

/**
 * Creates `path` holding `text` only if it does not exist. The content is written to a private file
 * first and hard-linked into place (link() fails on an existing name), so nobody ever reads a lock
 * that exists but is still empty, which would look stale.
 */
async function createExclusive(path: string, text: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}`;
  await writeFile(tmp, text, { flag: 'wx' });
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

async function readLock(path: string): Promise<{ text: string; info?: LockInfo } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    return typeof info?.pid === 'number' ? { text, info } : { text };
  } catch {
    // Written by a process that died between create and write: nobody holds it.
    return { text };
  }
}

/** A holder that is alive (or on another host, whose processes we cannot see). */
function alive(info: LockInfo | undefined): boolean {
  if (!info) return false;
  // An earlier life of this pid (a container restarted as pid 1) is not us now.
  if (info.pid === process.pid) return false;
  if (info.host !== hostname()) return true;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(lockPath: string): Promise<LockResult> {
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies LockInfo);
  // Each round either wins, sees a live holder, or removes one stale lock; a few rounds always settle.
  for (let round = 0; round < 50; round++) {
    if (await createExclusive(lockPath, mine)) return { held: true };
    const seen = await readLock(lockPath);
    if (!seen) continue;
    if (alive(seen.info)) return { held: false, holder: seen.info! };
    await takeOverStale(lockPath, seen.text);
  }
  throw new Error(`could not take ${lockPath}: it keeps changing`);
}

async function takeOverStale(lockPath: string, staleText: string): Promise<void> {
  const takeover = `${lockPath}.takeover`;
  if (!(await createExclusive(takeover, String(Date.now())))) {
    // Someone else is taking over; if its takeover file is old, that process died in the middle.
    const since = Number(await readFile(takeover, 'utf8').catch(() => ''));
    if (Number.isFinite(since) && Date.now() - since > TAKEOVER_STALE_MS) await rm(takeover, { force: true });
    else await new Promise((r) => setTimeout(r, 5));
    return;
  }
  try {
    const now = await readLock(lockPath);
    if (now && now.text === staleText) await rm(lockPath, { force: true });
  } finally {
    await rm(takeover, { force: true });
  }
}

/** Removes the lock when it is ours. */
export async function releaseLock(lockPath: string): Promise<void> {
  const seen = await readLock(lockPath);
  if (seen?.info?.pid === process.pid && seen.info.host === hostname()) await rm(lockPath, { force: true });
}
