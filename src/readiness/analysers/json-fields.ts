// JSON.parse for large lockfiles that builds only the fields an analyser reads. A 5 MB package-lock.json
// parses into tens of MB of objects (integrity hashes, URLs, engines) that are dropped at once; here the
// text is checked as strictly as JSON.parse checks it, but only the members `keep` names are built.
// Anything this reader refuses is handed to JSON.parse, so a malformed file gets its usual message.

/** Texts smaller than this are parsed by JSON.parse: fast, and their objects are small. */
export const PRUNED_JSON_FROM_BYTES = 1024 * 1024;

class Refused extends Error {}

/** Offered each kept object member once it is built; a member it takes (returns true) is not stored in its object. */
export type TakeMember = (path: readonly string[], value: unknown) => boolean;

/**
 * The value of `text` with only the members `keep` accepts (`path` is the keys and indexes from the top,
 * the member's own last); the others are checked and skipped. Containers on the way must be kept too.
 * `take` lets a caller reduce members as they are read (a lockfile's packages), so they are not all held
 * until the end. Only the pruned reader offers members; JSON.parse's value (a small text, or one the
 * reader refused) holds them all, so a caller handles the members it finds in the value as well, a key
 * met again replacing what it had (as JSON.parse does with a repeated key).
 */
export function parseJsonFields(
  text: string,
  keep: (path: readonly string[]) => boolean,
  fromBytes = PRUNED_JSON_FROM_BYTES,
  take?: TakeMember,
): unknown {
  if (text.length < fromBytes) return JSON.parse(text);
  try {
    return new Reader(text, undefined, keep, take).document();
  } catch {
    return JSON.parse(text); // throws the SyntaxError users know (or, were this reader wrong, parses it)
  }
}

/**
 * The same for a text read in chunks (a big file, never held whole): each call of `chunks` yields the text
 * from its start. Only a text the reader refuses is put together, for JSON.parse's message.
 */
export function parseJsonChunks(chunks: () => Iterable<string>, keep: (path: readonly string[]) => boolean, take?: TakeMember): unknown {
  const it = chunks()[Symbol.iterator]();
  const next = () => {
    const n = it.next();
    return n.done ? undefined : n.value;
  };
  try {
    return new Reader(next() ?? '', next, keep, take).document();
  } catch {
    return JSON.parse([...chunks()].join(''));
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Characters a number or `true`/`false`/`null` may be made of (the token is checked by a pattern once whole). */
const tokenChar = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2e || c === 0x2b || c === 0x2d;

/**
 * Reads from a window `s` of the text: all of it, or the part not consumed yet and the next chunk (`more`,
 * undefined at the end). `i` indexes the window.
 */
class Reader {
  private i = 0;
  private readonly path: string[] = [];
  private ended: boolean;

  constructor(
    private s: string,
    private readonly more: (() => string | undefined) | undefined,
    private readonly keep: (path: readonly string[]) => boolean,
    private readonly take?: TakeMember,
  ) {
    this.ended = more === undefined;
  }

  document(): unknown {
    const v = this.value(true);
    this.space();
    if (!Number.isNaN(this.peek())) throw new Refused();
    return v;
  }

  /** Appends the next chunk and drops the window before `keepFrom`; returns that shift of the indexes, or -1 at the end. */
  private refill(keepFrom: number): number {
    const chunk = this.ended ? undefined : this.more!();
    if (chunk === undefined) {
      this.ended = true;
      return -1;
    }
    this.s = this.s.slice(keepFrom) + chunk;
    this.i -= keepFrom;
    return keepFrom;
  }

  /** The character code at `i`, reading on when the window is used up; NaN at the end of the text. */
  private peek(): number {
    while (this.i >= this.s.length && this.refill(this.i) >= 0);
    return this.s.charCodeAt(this.i);
  }

  private space(): void {
    // A lockfile is a third indentation: skipped in a tight loop over the window, refilled only at its end.
    for (;;) {
      const { s } = this;
      let i = this.i;
      for (let c = s.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = s.charCodeAt(++i));
      this.i = i;
      if (i < s.length || this.refill(i) < 0) return;
    }
  }

  /** Reads one value; builds it only when `build`. */
  private value(build: boolean): unknown {
    this.space();
    const c = this.peek();
    if (c === 0x7b) return this.object(build);
    if (c === 0x5b) return this.array(build);
    if (c === QUOTE) return this.string(build);
    return this.scalar(build);
  }

  private object(build: boolean): Record<string, unknown> | undefined {
    this.i++;
    const out: Record<string, unknown> | undefined = build ? {} : undefined;
    this.space();
    if (this.peek() === 0x7d) {
      this.i++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.peek() !== QUOTE) throw new Refused();
      const key = this.string(build); // the keys of a skipped object are checked, never built
      this.space();
      if (this.peek() !== 0x3a) throw new Refused();
      this.i++;
      if (key === undefined) {
        this.value(false);
      } else {
        this.path.push(key);
        const kept = this.keep(this.path);
        const v = this.value(kept);
        const taken = kept && this.take !== undefined && this.take(this.path, v);
        this.path.pop();
        // An own `__proto__` member, as JSON.parse makes it (an assignment would set the prototype).
        if (taken) {
          // reduced by the caller, not stored
        } else if (kept && key === '__proto__')
          Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
        else if (kept) out![key] = v;
      }
      this.space();
      const next = this.peek();
      this.i++;
      if (next === 0x7d) return out;
      if (next !== 0x2c) throw new Refused();
    }
  }

  private array(build: boolean): unknown[] | undefined {
    this.i++;
    const out: unknown[] | undefined = build ? [] : undefined;
    this.space();
    if (this.peek() === 0x5d) {
      this.i++;
      return out;
    }
    for (let n = 0; ; n++) {
      this.path.push(String(n));
      const kept = build && this.keep(this.path);
      const v = this.value(kept);
      this.path.pop();
      if (kept) out![n] = v;
      this.space();
      const next = this.peek();
      this.i++;
      if (next === 0x5d) return out;
      if (next !== 0x2c) throw new Refused();
    }
  }

  /** A string; one with escapes is decoded (and judged) by JSON.parse. */
  private string(build: boolean): string | undefined {
    let start = ++this.i;
    let from = start;
    let end: number;
    for (;;) {
      end = this.s.indexOf('"', from);
      if (end < 0) {
        // The string goes on past the window: read on, keeping it from its opening quote.
        const read = this.s.length;
        const shift = this.refill(start - 1);
        if (shift < 0) throw new Refused();
        start -= shift;
        from = read - shift;
        continue;
      }
      let slashes = 0;
      for (let k = end - 1; k >= start && this.s.charCodeAt(k) === BACKSLASH; k--) slashes++;
      if (slashes % 2 === 0) break;
      from = end + 1;
    }
    this.i = end + 1;
    const { s } = this;
    for (let k = start; k < end; k++) {
      const c = s.charCodeAt(k);
      if (c === BACKSLASH) {
        const decoded = JSON.parse(s.slice(start - 1, end + 1)) as string; // checks the escapes too
        return build ? decoded : undefined;
      }
      if (c < 0x20) throw new Refused();
    }
    return build ? s.slice(start, end) : undefined;
  }

  private scalar(build: boolean): unknown {
    // The whole token in the window first (it may run past a chunk's end).
    for (;;) {
      let j = this.i;
      while (j < this.s.length && tokenChar(this.s.charCodeAt(j))) j++;
      if (j < this.s.length || this.refill(this.i) < 0) break;
    }
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
    m.lastIndex = this.i;
    const hit = m.exec(this.s);
    if (!hit) throw new Refused();
    this.i = m.lastIndex;
    return build ? JSON.parse(hit[0]) : undefined;
  }
}
