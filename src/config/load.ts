// Reads and validates the config file. A bad file stops the bot with a message naming the key, the
// value found and what was expected; secrets never come from this file, only from the environment.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { UserError } from '../errors.ts';

export class ConfigError extends UserError {}

export const DEFAULT_CONFIG_FILE = 'archshift.yml';

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function describe(issue: z.core.$ZodIssue, raw: unknown): string {
  const key = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${key === '(top level)' ? '' : `${key}: `}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  const value = valueAt(raw, issue.path);
  const shown = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 80);
  const expected = /expected /i.test(issue.message) ? issue.message.replace(/^.*?expected /i, '') : issue.message;
  return `${key}: got ${shown}, expected ${expected}`;
}

/** Validates an already-parsed object (used by tests and by `loadConfig`). */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.slice(0, 10).map((i) => `  - ${describe(i, raw ?? {})}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}\nSee archshift.example.yml for every key.`);
  }
  return result.data;
}

/** The file `loadConfig(file)` reads: the named one, else $ARCHSHIFT_CONFIG, else ./archshift.yml. */
export function configPath(file?: string): string {
  return file ?? process.env.ARCHSHIFT_CONFIG ?? DEFAULT_CONFIG_FILE;
}

/**
 * Loads the config file. A missing default file means "all defaults" (so `archshift check ./dir`
 * works anywhere); a missing file that was named explicitly is an error.
 */
export async function loadConfig(file?: string): Promise<Config> {
  const path = configPath(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !file && !process.env.ARCHSHIFT_CONFIG) return parseConfig({}, 'default config');
    throw new ConfigError(`cannot read config file ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new ConfigError(`config file ${path} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`config file ${path} must be a YAML mapping of sections (slack, github, catalog, ...)`);
  }
  return parseConfig(raw, `config file ${path}`);
}
