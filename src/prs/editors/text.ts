// Shared by the editors: every edit is a splice into the original text, so bytes outside the change
// (comments, quoting, key order, line endings) stay exactly as they were.

/** What an editor returns: the new text, or why it could not place its change safely. */
export type EditResult = { ok: true; text: string; changed: boolean; notes: string[]; skipped?: string } | { ok: false; reason: string };

export class CannotEditError extends Error {}

/** The file holds nothing this editor changes (e.g. a Service manifest beside the Deployment). */
export class NotHereError extends Error {}

export interface Splice {
  start: number;
  end: number;
  text: string;
}

/** Applies non-overlapping splices to `src`; insertions at the same offset keep their array order. */
export function applySplices(src: string, splices: Splice[]): string {
  const ordered = splices.map((s, i) => ({ s, i })).sort((a, b) => b.s.start - a.s.start || b.i - a.i);
  let out = src;
  for (const { s } of ordered) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return out;
}

/** The file's line ending, so inserted lines match it (CRLF files stay CRLF). */
export function eolOf(src: string): string {
  return /\r\n/.test(src) ? '\r\n' : '\n';
}

/** Offsets of each line start; a line ends at \n, \r\n or a lone \r, as LSP positions count them. */
export function lineStarts(src: string): number[] {
  const starts = [0];
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\r' && src[i + 1] === '\n') continue;
    if (c === '\n' || c === '\r') starts.push(i + 1);
  }
  return starts;
}

export function offsetAt(starts: number[], pos: { line: number; character: number }): number {
  return starts[pos.line] + pos.character;
}

/** Offset of the end of the line containing `offset` (before its line break). */
export function endOfLine(src: string, offset: number): number {
  // An offset on the \n of a CRLF still belongs to that line; its end is before the \r.
  let i = src[offset] === '\n' && src[offset - 1] === '\r' ? offset - 1 : offset;
  while (i < src.length && src[i] !== '\n' && src[i] !== '\r') i++;
  return i;
}

export function startOfLine(src: string, offset: number): number {
  let i = offset;
  while (i > 0 && src[i - 1] !== '\n' && src[i - 1] !== '\r') i--;
  return i;
}

/** 1-based line number of an offset. */
export function lineOf(src: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < src.length; i++) {
    if (src[i] === '\n' || (src[i] === '\r' && src[i + 1] !== '\n')) n++;
  }
  return n;
}

/** Wraps an editor body: CannotEditError becomes `{ ok: false }`, unchanged text is reported as such. */
export function runEdit(src: string, body: (notes: string[]) => string): EditResult {
  const notes: string[] = [];
  try {
    const text = body(notes);
    return { ok: true, text, changed: text !== src, notes };
  } catch (err) {
    if (err instanceof CannotEditError) return { ok: false, reason: err.message };
    if (err instanceof NotHereError) return { ok: true, text: src, changed: false, notes, skipped: err.message };
    throw err;
  }
}
