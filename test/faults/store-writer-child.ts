// Writes to a store in a tight loop for the kill -9 test: each write replaces a large section whose
// every element carries the generation number, and the generation is printed once the write is done.
import { Store } from '../../src/adapters/store.ts';

const store = await Store.open(process.env.STORE_FILE!);
const section = store.section<{ generation: number; rows: Array<{ generation: number; pad: string }> }>('load', () => ({
  generation: 0,
  rows: [],
}));
const pad = 'x'.repeat(200);
for (;;) {
  const next = section.get().generation + 1;
  await section.update((d) => {
    d.generation = next;
    d.rows = Array.from({ length: 5000 }, () => ({ generation: next, pad }));
  });
  process.stdout.write(`${next}\n`);
}
