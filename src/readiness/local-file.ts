// Reading a file of a local checkout without trusting it: only a regular file is read (a FIFO named
// `pipeline.yml` would block a plain read forever, a device would never end), and never more than a
// bound, even if it grows while being read.
import { constants, open } from 'node:fs/promises';

export class LocalFileRefused extends Error {
  constructor(
    readonly reason: 'not-regular' | 'too-large',
    message: string,
    readonly size?: number,
  ) {
    super(message);
  }
}

/**
 * The file's bytes; throws LocalFileRefused for a non-regular or too large file, and fs errors as they are.
 * `admit` is told the size before anything is read (a caller bounding the bytes it holds waits there).
 */
export async function readRegularFile(path: string, maxBytes: number, admit?: (size: number) => Promise<void>): Promise<Buffer> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before fstat could refuse it.
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw new LocalFileRefused('not-regular', 'not a regular file (a FIFO, socket or device); not read');
    if (info.size > maxBytes) throw new LocalFileRefused('too-large', `larger than ${maxBytes} bytes`, info.size);
    await admit?.(info.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - total));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw new LocalFileRefused('too-large', `larger than ${maxBytes} bytes`, total);
    }
    return Buffer.concat(chunks, total);
  } finally {
    await fh.close();
  }
}
