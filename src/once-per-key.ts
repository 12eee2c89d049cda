// A promise-returning function called at most once per key: later calls get the first call's promise
// (settled or not). For work that is the same whoever asks within one run (a check, a guard comparison).
export function oncePerKey<T>(fn: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const calls = new Map<string, Promise<T>>();
  return (key) => {
    let call = calls.get(key);
    if (!call) calls.set(key, (call = fn(key)));
    return call;
  };
}
