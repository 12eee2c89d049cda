// Runs a CommonJS bundle with a V8 code cache beside it. Compiling the ~2 MB the terminal command loads was
// about half of its start-up; with the cache V8 reads back the bytecode of every function the build's
// training run compiled instead (Node 20 has no compile cache for ES modules, hence CommonJS here).
// A vm script's own import() finds no module loader once its code comes from the cache, so the bundle
// imports the packages left in node_modules through `__archshiftImport`, the entry's import().
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import vm from 'node:vm';

export interface CachedRun {
  exports: unknown;
  /** `used`: V8 took the cache; `rejected`: another Node or V8 flags made it (it compiled from source). */
  cache: 'used' | 'rejected' | 'none';
  /** Writes the bytecode compiled so far (call it late: what ran by then is what the next start skips). */
  save(): void;
}

export function runWithCodeCache(file: string, cacheFile: string, importModule: (id: string) => Promise<unknown>): CachedRun {
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined; // no cache yet: compile from source
  }
  const module = { exports: {} as unknown };
  const require = createRequire(file);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __archshiftImport) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, file, dirname(file), importModule);
  return {
    exports: module.exports,
    cache: !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'used',
    save: () => writeFileSync(cacheFile, script.createCachedData()),
  };
}
