// Atomic file replacement: readers of `target` see the old file or the whole new one, never a
// prefix, even when the process dies mid-write or the disk fills up.
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

/** A temp name beside `target` (same directory, so rename stays on one file system). */
function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const unique = `${process.pid}.${randomBytes(6).toString('hex')}`;
  return path.join(dir, `.${path.basename(target)}.${unique}.tmp`);
}

/**
 * Flushes the directory entry after a rename so it survives a power cut. Some platforms
 * (Windows) cannot open or fsync a directory; the data is already durable there, so skip.
 */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort only, see above.
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `data` to `target` atomically: into a uniquely named temp file in the same directory,
 * fsynced, then renamed over `target`. On any failure the temp file is removed and `target` is
 * left as it was.
 *
 * @param target - the file to create or replace; its directory must exist.
 * @param data - the complete new contents.
 * @throws the file system's error (ENOENT for a missing directory, EACCES, ENOSPC…).
 */
export async function writeFileAtomic(target: string, data: Uint8Array): Promise<void> {
  const temp = tempPathFor(target);
  // 'wx': fail rather than reuse a file that happens to have the temp name.
  const handle = await fs.open(temp, 'wx');
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (err) {
    // Keep the original error; a failed clean-up must not mask it.
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDirectory(path.dirname(target));
}
