// The settings a config reload (src/config/reload.ts) swaps while the bot runs: the config, the catalog
// built from it and the roles. One holder, made by the composition root; the Deps bag reads through it
// on each use, so nothing assigns into the bag after it is built.
import type { Authorizer } from '../auth/authorize.ts';
import type { Catalog } from './catalog.ts';
import type { Config } from './schema.ts';

export interface Settings {
  readonly config: Config;
  readonly catalog: Catalog;
  readonly auth: Authorizer;
}

/** A value that is replaced whole (never edited in place), so a reader sees the old or the new one. */
export class Live<T> {
  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(next: T): void {
    this.value = next;
  }
}
