// The GitHub adapter's errors, apart from the adapter so a caller can recognise them without loading
// Octokit (the terminal builds the adapter only when a command needs GitHub).
import { redactSecrets } from '../../redact.ts';

export class GitHubError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    // GitHub error bodies may echo the request, Authorization header included.
    super(redactSecrets(message));
  }
}

export class RepoNotAllowedError extends GitHubError {}
