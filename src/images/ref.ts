// Parses and normalises container image references the way Docker does (distribution's reference
// grammar): `[registry[:port]/]path[:tag][@digest]`. Pure; no I/O.

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's API endpoint: `docker.io` itself only redirects browsers. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

export interface ImageRef {
  /** The input, trimmed. */
  input: string;
  /** Canonical registry name: `docker.io`, `ghcr.io`, `localhost:5000`. */
  registry: string;
  /** The host:port the Registry API is served at (`registry-1.docker.io` for Docker Hub). */
  apiHost: string;
  /** `library/redis`, `bitnami/redis`, `team/app`. */
  repository: string;
  /** The tag; `latest` when neither tag nor digest was written. */
  tag?: string;
  digest?: string;
  /** The name as the user wrote it (registry and path, no tag or digest), for rewriting a tag in place. */
  writtenName: string;
  /** Whether the input named its registry (`docker.io/redis`) or relied on the Docker Hub default (`redis`). */
  registryWritten: boolean;
  /** `registry/repository[:tag][@digest]`. */
  normalized: string;
}

export class ImageRefError extends Error {
  constructor(
    readonly reference: string,
    message: string,
  ) {
    super(`invalid image reference "${reference}": ${message}`);
  }
}

const pathComponent = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const hostPattern = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?$/;
const digestHexLength: Record<string, number> = { sha256: 64, sha512: 128 };

export function parseImageRef(reference: string): ImageRef {
  const input = reference.trim();
  const fail = (message: string): never => {
    throw new ImageRefError(input, message);
  };
  if (input === '') fail('it is empty');
  if (input.includes('$')) fail('it contains an unresolved variable; give the image with the variable expanded');
  if (/\s/.test(input)) fail('it contains whitespace');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const [algorithm, hex, extra] = digest.split(':');
    const expected = digestHexLength[algorithm ?? ''];
    if (extra !== undefined || !hex || expected === undefined) {
      fail(`digest "${digest}" is not of the form sha256:<64 hex digits>`);
    } else if (hex.length !== expected || !/^[a-f0-9]+$/.test(hex)) {
      fail(`digest "${digest}" must be ${algorithm}: followed by ${expected} lowercase hex digits`);
    }
  }

  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!tagPattern.test(tag))
      fail(`tag "${tag}" may only hold letters, digits, "_", "." and "-" (up to 128, not starting with "." or "-")`);
  }

  const writtenName = rest;
  if (writtenName === '') fail('it has no repository name');
  const components = writtenName.split('/');
  let registry = DOCKER_HUB;
  const first = components[0]!;
  const registryWritten = components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (registryWritten) {
    if (!hostPattern.test(first)) fail(`registry host "${first}" is not a valid host[:port]`);
    registry = first.toLowerCase();
    components.shift();
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API_HOST) registry = DOCKER_HUB;
  for (const component of components) {
    if (component === '') fail('it has an empty path component ("//" or a trailing "/")');
    if (component !== component.toLowerCase() && pathComponent.test(component.toLowerCase())) {
      fail(`repository names must be lowercase ("${component}")`);
    }
    if (!pathComponent.test(component)) {
      fail(`"${component}" is not a valid repository path component (lowercase letters, digits and . _ - separators)`);
    }
  }
  if (registry === DOCKER_HUB && components.length === 1) components.unshift('library');
  const repository = components.join('/');
  if (`${registry}/${repository}`.length > 255) fail('the name is longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';

  return {
    input,
    registry,
    apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry,
    repository,
    tag,
    digest,
    writtenName,
    registryWritten,
    normalized: formatImageRef({ registry, repository, tag, digest }),
  };
}

export function formatImageRef(ref: { registry: string; repository: string; tag?: string; digest?: string }): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The short form Docker prints: `redis:7`, `bitnami/redis:7`, `ghcr.io/org/app:1`. */
export function familiarImageRef(ref: { registry: string; repository: string; tag?: string; digest?: string }): string {
  const name = ref.registry === DOCKER_HUB ? ref.repository.replace(/^library\//, '') : `${ref.registry}/${ref.repository}`;
  return `${name}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The reference as written with another tag; the old digest is dropped because it pinned the old tag. */
export function withTag(ref: ImageRef, tag: string): string {
  return `${ref.writtenName}:${tag}`;
}
