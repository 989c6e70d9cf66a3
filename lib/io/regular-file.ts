// Reading files that may be hostile: only regular files (a device, FIFO or socket is refused
// without blocking on it), sizes known before anything is read, and reads of exactly the bytes
// needed.
import { constants, promises as fs } from 'fs';

/** The largest file read whole (Node's Buffer limit is 2^31 − 1 on some platforms; above it errors name no file). */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

/** An open regular file and its size. */
export interface RegularFile {
  handle: fs.FileHandle;
  size: number;
  path: string;
}

/** What a file system entry that is not a regular file is, for error messages. */
export function fileKind(st: import('fs').Stats): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket'
    : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : 'not a regular file';
}

/**
 * Opens `path` for reading. O_NONBLOCK keeps the open of a FIFO from waiting for a writer; the
 * handle's own stat then refuses anything but a regular file (TypeError naming what it is), and a
 * file above {@link MAX_FILE_BYTES} (RangeError) before anything is read.
 */
export async function openRegularFile(path: string): Promise<RegularFile> {
  const nonblock = process.platform === 'win32' ? 0 : constants.O_NONBLOCK;
  const handle = await fs.open(path, constants.O_RDONLY | nonblock);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new TypeError(`${path}: expected a regular file, found ${fileKind(st)}`);
    if (st.size > MAX_FILE_BYTES) throw new RangeError(`${path}: ${st.size} bytes, more than the ${MAX_FILE_BYTES} tinynn reads`);
    return { handle, size: st.size, path };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads `length` bytes at `position`; a RangeError naming the file when it holds fewer (it changed under us). */
export async function readExactly(file: RegularFile, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new RangeError(`${file.path}: the file ended after ${position + done} bytes, ${position + length} expected`);
    done += bytesRead;
  }
  return buf;
}

/** The whole of a regular file (see {@link openRegularFile}). */
export async function readRegularFile(path: string): Promise<Buffer> {
  const file = await openRegularFile(path);
  try {
    return await readExactly(file, 0, file.size);
  } finally {
    await file.handle.close();
  }
}
