// A one-line progress bar on stderr, only when stderr is a terminal and not in CI (piped output and CI
// logs stay clean). Redrawn in place with a carriage return; cleared when done.
/** The stderr progress writer for this process, or undefined when there must be none. */
export function terminalProgress(
  stream: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): ((text: string | undefined) => void) | undefined {
  if (!stream.isTTY || env.CI) return undefined;
  return (text) =>
    void stream.write(text === undefined ? '\r\x1b[K' : `\r${text.slice(0, Math.max(20, (stream.columns ?? 80) - 1))}\x1b[K`);
}

export function progressBar(done: number, total: number, label: string, width = 30): string {
  const filled = total ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`;
}
