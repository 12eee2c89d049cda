// What the registry adapter tells the readiness check about one image reference. The adapter
// (src/adapters/registry.ts) produces these; analysers and the check use case only consume them.

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export type ImageStatus =
  | 'multi-arch-with-arm64' // has linux/arm64 (index, or single manifest built for arm64)
  | 'amd64-only' // no linux/arm64 among its runnable platforms
  | 'not-found' // registry answered 404 for the repository or tag
  | 'unauthorized' // 401/403 after trying the credentials we have
  | 'error'; // anything else: 429 after retries, 5xx, timeout, malformed answer

export interface ImageResult {
  /** The reference as written by the user/Dockerfile. */
  reference: string;
  /** Normalised `registry/repository:tag[@digest]`. */
  normalized: string;
  status: ImageStatus;
  digest?: string;
  platforms: Platform[];
  /** Present for not-found/unauthorized/error: why, in words a user can act on. */
  reason?: string;
}

export function hasArm64(platforms: Platform[]): boolean {
  return platforms.some((p) => p.os === 'linux' && p.architecture === 'arm64');
}

/** Looks up images; implemented by the registry adapter, faked nowhere: tests use a real registry. */
export interface ImageInspector {
  inspect(reference: string): Promise<ImageResult>;
  /** Closest tag of the same repository that publishes linux/arm64, or undefined. */
  nearestArm64Tag?(reference: string): Promise<string | undefined>;
  /** What to use instead of an image without linux/arm64: a newer tag of it, or its known successor. */
  suggestArm64Image?(reference: string): Promise<Arm64Suggestion>;
}

export interface Arm64Suggestion {
  /** `tag-bump`: same repository, verified to publish linux/arm64; `replacement`: the image's known successor. */
  kind: 'tag-bump' | 'replacement' | 'none';
  /** The reference to use instead, in the style it was written (`redis:7`, `ghcr.io/org/app:2`). */
  image?: string;
  /** True when a PR can apply `image` as is; false when nothing was found or a human must pick the tag. */
  prApplicable: boolean;
  /** Why, in words a user can act on (with the source for replacements). */
  reason: string;
  /**
   * Only a newer release line (major version) publishes linux/arm64: moving is a runtime/OS migration,
   * so no PR is offered unless the service opts in (catalog `allowMajorBump`).
   */
  majorUpgrade?: { from: string; to: string; candidates: string[] };
}
