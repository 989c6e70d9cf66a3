// Atomic file replacement: readers of `target` see the old file or the whole new one, never a
// prefix, even when the process dies mid-write or the disk fills up.
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { fileKind } from './regular-file';

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

// What a save replaces, decided before anything is written.
interface Destination {
  /** The file to create or replace: `target`, or the final target of a symlink. */
  path: string;
  /** The file there now (its mode and owner carry over), or null. */
  existing: { mode: number; uid: number; gid: number } | null;
}

/**
 * Where a save of `target` writes. A symlink is written through: its final target is replaced (in
 * the target's own directory), and a dangling one is refused. Only a regular file is replaced: a
 * device, FIFO, socket or directory is refused, and so is a file with other hard links (replacing
 * it would leave them with the old contents) or one without write permission for anyone.
 */
async function destination(target: string): Promise<Destination> {
  let st: import('fs').Stats;
  try {
    st = await fs.lstat(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path: target, existing: null };
    throw err;
  }
  let resolved = target;
  if (st.isSymbolicLink()) {
    try {
      resolved = await fs.realpath(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const link = await fs.readlink(target);
      throw Object.assign(new Error(`${target} is a symbolic link to ${link}, which does not exist: save to the target's path instead`), { code: 'ENOENT' });
    }
    try {
      st = await fs.stat(resolved);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path: resolved, existing: null };
      throw err;
    }
  }
  const shown = resolved === target ? target : `${target} (→ ${resolved})`;
  if (!st.isFile()) throw new TypeError(`${shown}: expected a regular file (or nothing) to replace, found ${fileKind(st)}`);
  if (st.nlink > 1) {
    throw new Error(`${shown} has ${st.nlink} hard links: replacing it would leave the others with the old contents; save elsewhere or remove the other links`);
  }
  if ((st.mode & 0o222) === 0) {
    throw Object.assign(new Error(`${shown} is read-only (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): make it writable first to replace it`), { code: 'EACCES' });
  }
  return { path: resolved, existing: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } };
}

// Temp files of saves to `target` whose writer is gone (killed mid-save): `.NAME.PID.HEX.tmp`
// beside it, with PID no longer running. Removed before the next save to the same path.
async function removeStaleTemps(target: string): Promise<void> {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    await fs.rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}

// A file-system error that names no file (ENOSPC from a write, say) gets the target's name in
// front, keeping its class and code.
function namingFile(err: unknown, file: string): unknown {
  if (!(err instanceof Error) || err.message.includes(file)) return err;
  const named = new (err.constructor as ErrorConstructor)(`${file}: ${err.message}`, { cause: err });
  return Object.assign(named, { code: (err as NodeJS.ErrnoException).code, errno: (err as NodeJS.ErrnoException).errno, syscall: (err as NodeJS.ErrnoException).syscall });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/**
 * Writes `data` to `target` atomically: into a uniquely named temp file in the same directory,
 * fsynced, then renamed over `target`. On any failure the temp file is removed and `target` is
 * left as it was. See {@link destination} for symlinks and what is refused; a replaced file keeps
 * its mode (and, when the process may set it, its owner).
 *
 * @param target - the file to create or replace; its directory must exist.
 * @param data - the complete new contents.
 * @throws TypeError for a target that is not a regular file; the file system's error otherwise
 *   (ENOENT for a missing directory or a dangling symlink, EACCES for a read-only file, ENOSPC…).
 */
export async function writeFileAtomic(target: string, data: Uint8Array): Promise<void> {
  const dest = await destination(target);
  await removeStaleTemps(dest.path);
  const temp = tempPathFor(dest.path);
  // 'wx': fail rather than reuse a file that happens to have the temp name.
  const handle = await fs.open(temp, 'wx', dest.existing ? dest.existing.mode : 0o666);
  try {
    try {
      if (dest.existing) {
        await handle.chmod(dest.existing.mode); // exactly, whatever the umask
        const { uid, gid } = dest.existing;
        if (process.getuid?.() === 0 && (uid !== 0 || gid !== 0)) await handle.chown(uid, gid);
      }
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, dest.path);
  } catch (err) {
    // Keep the original error; a failed clean-up must not mask it.
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw namingFile(err, dest.path);
  }
  await syncDirectory(path.dirname(dest.path));
}
