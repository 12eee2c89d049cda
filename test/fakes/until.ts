// Polls a condition the tests cannot be told about (a store entry, a lease holder, a child's output):
// resolves with the milliseconds it took, or fails naming what it waited for.
export async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
  const start = Date.now();
  while (!(await pred())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}
