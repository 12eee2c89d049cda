// An append-only JSON-lines file next to the lowdb store, for data written often in small pieces (the
// registry cache, the audit log): a write appends the new lines, so it costs what changed. Lines
// appended in the same tick go out in one write. At open the file is read back; a last line cut short
// by a crash is dropped, and a file that grew well past what it holds is rewritten (temp + rename).
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { StoreError } from './types.ts';

export class Journal<L> {
  private handle?: FileHandle;
  private pending: string[] = [];
  private writing?: Promise<void>;

  private constructor(
    readonly path: string,
    private readonly readOnly: boolean,
  ) {}

  /** Reads every line; `compact` turns them into what is still needed, written back when it is much shorter. */
  static async open<L>(path: string, readOnly: boolean, compact: (lines: L[]) => L[]): Promise<{ journal: Journal<L>; lines: L[] }> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new StoreError(`cannot read store file ${path}: ${(err as Error).message}`);
    }
    const raw = text.split('\n');
    const lines: L[] = [];
    for (let i = 0; i < raw.length; i++) {
      if (!raw[i]) continue;
      try {
        lines.push(JSON.parse(raw[i]) as L);
      } catch (err) {
        // Only the last line can be torn by a crash mid-append; anything else is damage.
        if (i >= raw.length - 2) break;
        throw new StoreError(
          `store file ${path} line ${i + 1} is not valid JSON (${(err as Error).message}); it was left untouched. Restore it from a backup or move it aside.`,
        );
      }
    }
    const journal = new Journal<L>(path, readOnly);
    const kept = compact(lines);
    if (!readOnly && (kept.length < lines.length / 2 || raw.at(-1) !== '')) await journal.rewrite(kept);
    return { journal, lines: kept };
  }

  append(lines: L[]): Promise<void> {
    if (this.readOnly || !lines.length) return Promise.resolve();
    for (const l of lines) this.pending.push(`${JSON.stringify(l)}\n`);
    this.writing ??= Promise.resolve().then(() => this.drain());
    return this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length) {
        const batch = this.pending.join('');
        this.pending = [];
        this.handle ??= await open(this.path, 'a');
        await this.handle.write(batch);
      }
    } catch (err) {
      this.pending = [];
      throw new StoreError(`cannot write store file ${this.path}: ${(err as Error).message}`);
    } finally {
      this.writing = undefined;
    }
  }

  private async rewrite(lines: L[]): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }

  async close(): Promise<void> {
    await this.writing;
    await this.handle?.close();
    this.handle = undefined;
  }
}
