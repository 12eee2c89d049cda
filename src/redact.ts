// Credentials never reach a person or a log through an error text: one pattern list, used by every
// error class that can carry an outside system's words, by the Slack exit and by the logger.
/**
 * Credentials that may be echoed back inside an error text (a GitHub or registry error body quoting
 * the request's Authorization header, a URL with a token): Slack and GitHub tokens by their prefixes,
 * JWTs, AWS access key ids, and whatever follows an auth scheme (`Bearer`, `token`, `Basic`) or an
 * `Authorization:` / `password=` label.
 */
const SECRET_PATTERNS: RegExp[] = [
  /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})\b/g,
  /\bx(?:ox[abpors]|app)-[A-Za-z0-9-]{8,}/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g,
  /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+(?=@)/gi,
  /(\b(?:authorization|proxy-authorization)["']?\s*[:=]\s*["']?)(?:(?:bearer|token|basic)\s+)?[^\s"',;}]+/gi,
  /(\b(?:bearer|token|basic)\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  /(\b(?:password|passwd|secret|access_token|refresh_token|client_secret)["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi,
];

/** The text with every credential-looking piece replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const re of SECRET_PATTERNS) out = out.replace(re, (_m, label?: string) => `${typeof label === 'string' ? label : ''}[redacted]`);
  return out;
}
