// Reader for the IDX format (the one MNIST ships in), raw or gzip-compressed.
//
// Layout: two zero bytes, one element-type byte, one byte with the number of dimensions, then each
// dimension as a big-endian uint32, then the elements in row-major order.
import { promises as fs } from 'fs';
import * as zlib from 'zlib';
import { promisify } from 'util';

const gunzip = promisify(zlib.gunzip);

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

/**
 * Parses an uncompressed IDX buffer. The returned `data` is a view into `buf`, not a copy.
 *
 * @param buf - the file's bytes, already decompressed.
 * @param name - what to call the source in error messages (usually the file path).
 * @throws TypeError when the magic or element type is wrong; RangeError when a dimension is 0,
 *   the sizes overflow, or the buffer holds fewer or more element bytes than the header promises.
 */
function parseRawIdx(buf: Uint8Array, name: string): IdxArray {
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
  const dataBytes = buf.length - headerBytes;
  if (dataBytes !== count) {
    const problem = dataBytes < count ? 'truncated' : 'longer than its header says';
    throw new RangeError(
      `${name}: IDX file ${problem}: dimensions [${shape.join(', ')}] need ${count} data bytes ` +
      `(${headerBytes + count} bytes in all), found ${dataBytes} (${buf.length} in all)`);
  }
  return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, count) };
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
  let raw: Uint8Array;
  try {
    raw = zlib.gunzipSync(buf);
  } catch (err) {
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
  const buf = await fs.readFile(path);
  if (!isGzip(buf)) return parseRawIdx(buf, path);
  let raw: Uint8Array;
  try {
    raw = await gunzip(buf);
  } catch (err) {
    throw corruptGzip(path, err);
  }
  return parseRawIdx(raw, path);
}
