// Request validation for the GitHub double, derived from GitHub's own OpenAPI description
// (@octokit/openapi, api.github.com): the operation is found by method and path template, its path and
// query parameters and JSON body are checked with Ajv against the published schemas, and what GitHub
// refuses comes back as GitHub's 422 `Validation Failed` (400 for a body that is not JSON). Faithful:
// every constraint the description states (required fields, enums, types, maxItems such as the Checks
// API's 50 annotations per request, maxLength). Not covered: rules GitHub states only in prose; the
// double adds those it relies on next to its routes.
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Record<string, unknown>;
  $ref?: string;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
}

interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { parameters?: Record<string, Parameter> };
}

export interface Refusal {
  status: 400 | 422;
  body: { message: string; errors: string[]; documentation_url: string; status: string };
}

const SPEC_ID = 'https://api.github.com/openapi.json';
let loaded: { spec: Spec; ajv: Ajv; templates: Array<{ template: string; pattern: RegExp }> } | undefined;
const compiled = new Map<string, ValidateFunction>();

/** Loads the description (about 2 s on a busy machine); the double calls it before it listens, so no request waits for it. */
export function loadGitHubDescription(): void {
  load();
}

function load() {
  if (loaded) return loaded;
  const spec = createRequire(import.meta.url)('@octokit/openapi/generated/api.github.com.json') as Spec;
  // OpenAPI 3.0 keywords Ajv does not know (example, x-github, ...) are annotations, not rules.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  // GitHub's own format for `owner/name`.
  ajv.addFormat('repo.nwo', /^[\w.-]+\/[\w.-]+$/);
  ajv.addSchema(spec as object, SPEC_ID);
  const templates = Object.keys(spec.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  loaded = { spec, ajv, templates };
  return loaded;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function validator(key: string, ref: string): ValidateFunction {
  let v = compiled.get(key);
  if (!v) {
    v = load().ajv.compile({ $ref: `${SPEC_ID}#/${ref}` });
    compiled.set(key, v);
  }
  return v;
}

function refusal(errors: string[]): Refusal {
  return {
    status: 422,
    body: { message: 'Validation Failed', errors, documentation_url: 'https://docs.github.com/rest', status: '422' },
  };
}

/**
 * Checks one request against the description; undefined when GitHub would accept it (or when the path
 * is not in the description: the double's router answers 404 then).
 */
export function validateGitHubRequest(method: string, path: string, query: URLSearchParams, rawBody: string): Refusal | undefined {
  const { spec, templates } = load();
  const lower = method.toLowerCase();
  const match = templates.find((t) => t.pattern.test(path) && spec.paths[t.template]?.[lower]);
  if (!match) return undefined;
  const op = spec.paths[match.template]![lower]!;
  const errors: string[] = [];
  const values = new Map<string, string>();
  const names = [...match.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const parts = path.split('/');
  match.template.split('/').forEach((seg, i) => {
    const name = /^\{([^}]+)\}$/.exec(seg)?.[1];
    if (name) values.set(name, decodeURIComponent(parts[i]!));
  });
  for (const raw of op.parameters ?? []) {
    const p = raw.$ref ? spec.components.parameters![raw.$ref.split('/').pop()!]! : raw;
    if (p.in === 'header' || !p.schema) continue;
    const value = p.in === 'path' ? values.get(p.name) : (query.get(p.name) ?? undefined);
    if (value === undefined) {
      if (p.required && !names.includes(p.name)) errors.push(`"${p.name}" wasn't supplied.`);
      continue;
    }
    const type = p.schema.type;
    const typed = type === 'integer' || type === 'number' ? Number(value) : type === 'boolean' ? value === 'true' : value;
    if ((type === 'integer' && !Number.isInteger(typed)) || (type === 'boolean' && value !== 'true' && value !== 'false')) {
      errors.push(`${p.name} "${value}" is not of type ${String(type)}`);
      continue;
    }
    const v = load().ajv.compile(p.schema);
    if (!v(typed)) errors.push(...(v.errors ?? []).map((e) => `${p.name} ${e.message ?? 'is invalid'}`));
  }
  const content = op.requestBody?.content?.['application/json'];
  if (content?.schema) {
    if (!rawBody.trim()) {
      if (op.requestBody?.required) errors.push('A request body is required.');
    } else {
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        return {
          status: 400,
          body: { message: 'Problems parsing JSON', errors: [], documentation_url: 'https://docs.github.com/rest', status: '400' },
        };
      }
      const v = validator(
        `${lower} ${match.template}`,
        pointer('paths', match.template, lower, 'requestBody', 'content', 'application/json', 'schema'),
      );
      if (!v(body)) errors.push(...(v.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}`));
    }
  }
  return errors.length ? refusal(errors) : undefined;
}
