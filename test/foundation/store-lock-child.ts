// One of many processes racing for the same store files (store-lock.test.ts). Reads commands on stdin:
// `open <n> <file>` tries to open that store exclusively and answers `<n> won` or `<n> lost`; the
// winner keeps it open until `close <n>`.
import { createInterface } from 'node:readline';
import { Store, type Store as StoreType } from '../../src/adapters/store.ts';

const held = new Map<string, StoreType>();
for await (const line of createInterface({ input: process.stdin })) {
  const [verb, n, file] = line.split(' ');
  if (verb === 'open') {
    const answer = await Store.open(file).then(
      (s) => {
        held.set(n, s);
        return 'won';
      },
      (err: Error) => (/in use by another archshift/.test(err.message) ? 'lost' : `error ${err.message}`),
    );
    process.stdout.write(`${n} ${answer}\n`);
  } else if (verb === 'close') {
    await held.get(n)?.close();
    held.delete(n);
    process.stdout.write(`${n} closed\n`);
  }
}
