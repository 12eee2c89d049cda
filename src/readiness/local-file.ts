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
    // One buffer of the size fstat gave (and a byte more, to see a file that grew): a scan reads thousands
    // of files, and a fixed 64 KiB chunk for each would be most of its garbage.
    let buf = Buffer.allocUnsafe(Math.min(info.size, maxBytes) + 1);
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total > maxBytes) throw new LocalFileRefused('too-large', `larger than ${maxBytes} bytes`, total);
        const grown = Buffer.allocUnsafe(Math.min(total * 2, maxBytes + 1));
        buf.copy(grown, 0, 0, total);
        buf = grown;
      }
      const { bytesRead } = await fh.read(buf, total, buf.length - total, null);
      total += bytesRead;
      // A short read of a regular file is its end: no second read (one more thread-pool round trip) to see 0.
      if (bytesRead === 0 || total < buf.length) break;
    }
    if (total > maxBytes) throw new LocalFileRefused('too-large', `larger than ${maxBytes} bytes`, total);
    return buf.subarray(0, total);
  } finally {
    await fh.close();
  }
}
