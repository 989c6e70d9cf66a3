// Reader for the IDX format (the one MNIST ships in), raw or gzip-compressed.
//
// Layout: two zero bytes, one element-type byte, one byte with the number of dimensions, then each
// dimension as a big-endian uint32, then the elements in row-major order.
import * as zlib from 'zlib';
import { promisify } from 'util';
import { openRegularFile, readExactly } from '../io/regular-file';

const gunzip = promisify(zlib.gunzip) as (buf: Uint8Array, options: zlib.ZlibOptions) => Promise<Buffer>;

/** An array read from an IDX file: its dimensions and its unsigned-byte elements, row-major. */
export interface IdxArray {
  /** Dimensions as the header gives them, e.g. [60000, 28, 28]. */
  shape: number[];
  /** The elements; `data.length` is the product of `shape`. */
  data: Uint8Array;
}

/** The element-type codes IDX defines; only unsigned byte is read (MNIST uses nothing else). */
const ELEMENT_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x08, 'unsigned byte'],
  [0x09, 'signed byte'],
  [0x0b, 'int16'],
  [0x0c, 'int32'],
  [0x0d, 'float32'],
  [0x0e, 'float64'],
]);
const UNSIGNED_BYTE = 0x08;

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

function corruptGzip(name: string, cause: unknown): Error {
  return new Error(`${name}: corrupt gzip data: ${(cause as Error).message}`, { cause });
}

/** True when `buf` starts with the gzip magic bytes 1f 8b. */
function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** An IDX header: the shape, the header's length and the element count it declares. */
interface IdxHeader {
  shape: number[];
  headerBytes: number;
  count: number;
}

/**
 * Reads the header at the start of `buf` (which may hold only the start of the file).
 *
 * @throws TypeError when the magic or element type is wrong; RangeError when a dimension is 0,
 *   the sizes overflow, or `buf` ends inside the header (`complete`: it is the whole file).
 */
function parseIdxHeader(buf: Uint8Array, name: string): IdxHeader {
  if (buf.length < 4) {
    throw new RangeError(`${name}: not an IDX file: expected a 4-byte magic number, found ${buf.length} bytes in all`);
  }
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new TypeError(
      `${name}: not an IDX file: expected the magic number to start with 0x00 0x00, found ${hex(buf[0])} ${hex(buf[1])}`);
  }
  const type = buf[2];
  if (type !== UNSIGNED_BYTE) {
    const known = ELEMENT_TYPE_NAMES.get(type);
    const found = known ? `${hex(type)} (${known}), which is not supported` : `${hex(type)}, which IDX does not define`;
    throw new TypeError(`${name}: expected IDX element type 0x08 (unsigned byte), found ${found}`);
  }
  const ndims = buf[3];
  if (ndims === 0) throw new RangeError(`${name}: expected at least 1 dimension in the IDX header, found 0`);
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes) {
    throw new RangeError(
      `${name}: truncated IDX header: ${ndims} dimensions need ${headerBytes} header bytes, found ${buf.length}`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    if (size === 0) throw new RangeError(`${name}: expected every IDX dimension to be > 0, dimension ${d} is 0`);
    shape.push(size);
    count *= size;
  }
  if (count > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${name}: IDX dimensions [${shape.join(', ')}] hold more elements than can be addressed`);
  }
  return { shape, headerBytes, count };
}

function sizeError(name: string, h: IdxHeader, total: number, atLeast = false): RangeError {
  const dataBytes = total - h.headerBytes;
  const problem = dataBytes < h.count && !atLeast ? 'truncated' : 'longer than its header says';
  return new RangeError(
    `${name}: IDX file ${problem}: dimensions [${h.shape.join(', ')}] need ${h.count} data bytes ` +
    `(${h.headerBytes + h.count} bytes in all), found ${atLeast ? 'more than ' : ''}${dataBytes} (${atLeast ? 'more than ' : ''}${total} in all)`);
}

/**
 * Parses an uncompressed IDX buffer. The returned `data` is a view into `buf`, not a copy.
 *
 * @throws as {@link parseIdxHeader}; RangeError when the buffer holds fewer or more element bytes
 *   than the header promises.
 */
function parseRawIdx(buf: Uint8Array, name: string): IdxArray {
  const h = parseIdxHeader(buf, name);
  if (buf.length - h.headerBytes !== h.count) throw sizeError(name, h, buf.length);
  return { shape: h.shape, data: new Uint8Array(buf.buffer, buf.byteOffset + h.headerBytes, h.count) };
}

// Gzip is decompressed in two bounded steps, so that a small file expanding to gigabytes (a gzip
// bomb) costs no more than what its IDX header declares: the header from the first compressed
// bytes (a prefix decompressed without requiring its end: at most ~1,032× its size), then the
// whole stream with its output capped at the declared size plus one byte, which stops zlib as
// soon as the data runs longer than the header says.
const PROBE_BYTES = 4096;
const PROBE_OPTIONS = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: PROBE_BYTES * 1100 };

function gzipHeader(buf: Uint8Array, name: string): IdxHeader {
  let probe: Uint8Array;
  try {
    probe = zlib.gunzipSync(buf.subarray(0, PROBE_BYTES), PROBE_OPTIONS);
  } catch (err) {
    throw corruptGzip(name, err);
  }
  return parseIdxHeader(probe, name);
}

function isTooLarge(err: unknown): boolean {
  return (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
}

/**
 * Parses IDX bytes held in memory, raw or gzip-compressed (detected by the 1f 8b magic).
 *
 * @param buf - the file's bytes.
 * @param name - what to call the source in error messages (usually the file path).
 * @returns the shape and elements; for a raw buffer `data` is a view into `buf`.
 * @throws TypeError when `buf` is not a Uint8Array; Error when gzip data is corrupt; TypeError/RangeError as for a malformed IDX file
 *   (wrong magic, unsupported element type, zero dimensions, truncated or overlong data).
 */
export function parseIdx(buf: Uint8Array, name: string): IdxArray {
  if (!(buf instanceof Uint8Array)) {
    throw new TypeError(`${name}: expected the IDX bytes as a Uint8Array or Buffer, got ${buf === null ? 'null' : typeof buf}`);
  }
  if (!isGzip(buf)) return parseRawIdx(buf, name);
  const h = gzipHeader(buf, name);
  let raw: Uint8Array;
  try {
    raw = zlib.gunzipSync(buf, { maxOutputLength: h.headerBytes + h.count + 1 });
  } catch (err) {
    if (isTooLarge(err)) throw sizeError(name, h, h.headerBytes + h.count, true);
    throw corruptGzip(name, err);
  }
  return parseRawIdx(raw, name);
}

/**
 * Reads an IDX file, raw or gzip-compressed (detected by content, not by the file name).
 * Reading and decompression run off the JavaScript thread.
 *
 * @param path - the file to read.
 * @returns the shape and elements.
 * @throws TypeError when `path` is not a non-empty string; the file system's error (ENOENT…) when
 *   the file cannot be read; otherwise as
 *   {@link parseIdx}, with messages that name `path`.
 */
export async function readIdx(path: string): Promise<IdxArray> {
  // A number would be taken by fs as a file descriptor and read whatever it is open on.
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`readIdx: expected the path to be a non-empty string, got ${typeof path === 'string' ? "''" : typeof path}`);
  }
  const file = await openRegularFile(path);
  try {
    const start = await readExactly(file, 0, Math.min(file.size, PROBE_BYTES));
    if (!isGzip(start)) {
      // Raw: the header and the file's size decide before the data is read.
      const h = parseIdxHeader(start, path);
      if (file.size !== h.headerBytes + h.count) throw sizeError(path, h, file.size);
      return parseRawIdx(await readExactly(file, 0, file.size), path);
    }
    const buf = await readExactly(file, 0, file.size);
    const h = gzipHeader(buf, path);
    let raw: Uint8Array;
    try {
      raw = await gunzip(buf, { maxOutputLength: h.headerBytes + h.count + 1 });
    } catch (err) {
      if (isTooLarge(err)) throw sizeError(path, h, h.headerBytes + h.count, true);
      throw corruptGzip(path, err);
    }
    return parseRawIdx(raw, path);
  } finally {
    await file.handle.close();
  }
}
