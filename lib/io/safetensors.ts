// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?},
// then the tensors' raw little-endian bytes, offsets relative to the end of the header.
//
// Decoding checks what the reference implementation checks, so that a file it rejects is
// rejected here too, with a message that says which tensor and which rule.

/** Bytes per element of each dtype the format defines. */
const DTYPE_SIZES: ReadonlyMap<string, number> = new Map([
  ['BOOL', 1], ['U8', 1], ['I8', 1], ['F8_E5M2', 1], ['F8_E4M3', 1],
  ['I16', 2], ['U16', 2], ['F16', 2], ['BF16', 2],
  ['I32', 4], ['U32', 4], ['F32', 4],
  ['I64', 8], ['U64', 8], ['F64', 8],
]);

/** The reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A float32 tensor to encode: its shape and row-major elements. */
export interface Float32Entry {
  shape: readonly number[];
  data: Float32Array;
}

/** A tensor as decoded: dtype name ('F32', 'F64', …), shape, and its raw little-endian bytes. */
export interface DecodedTensor {
  dtype: string;
  shape: number[];
  /** A copy of the tensor's bytes, so it does not pin the file buffer. */
  bytes: Uint8Array;
}

/** A decoded safetensors file. */
export interface DecodedSafetensors {
  /** Tensors by name, in the order of their data in the file. */
  tensors: Map<string, DecodedTensor>;
  /** The free-form string map stored under `__metadata__` ({} when absent). */
  metadata: Record<string, string>;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function isDimension(d: unknown): d is number {
  return typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
}

/**
 * The first key that appears twice in one object of the JSON text `text` (already known to be
 * valid JSON), or null. A scan of strings and brackets, one set of keys per open object.
 */
function duplicateKey(text: string): string | null {
  const stack: (Set<string> | null)[] = []; // a key set per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      expectKey = false;
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return null;
}

/**
 * Encodes float32 tensors as a safetensors file, in the order given.
 *
 * @param tensors - name → { shape, data }; data.length must equal the product of shape.
 * @param metadata - optional string map stored under `__metadata__`.
 * @returns the file's bytes.
 * @throws TypeError for a non-Float32Array, a reserved/empty name, or non-string metadata;
 *   RangeError when a shape is not made of non-negative integers or does not match data.length.
 */
export function encodeSafetensors(tensors: Record<string, Float32Entry>,
                                  metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new TypeError(`safetensors: expected metadata '${key}' to be a string, got ${typeof value}`);
      }
    }
    header[METADATA_KEY] = { ...metadata };
  }
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, { shape, data }] of entries) {
    if (name === '' || name === METADATA_KEY) {
      throw new TypeError(`safetensors: '${name}' cannot be a tensor name`);
    }
    if (!(data instanceof Float32Array)) {
      throw new TypeError(`safetensors: expected tensor '${name}' to hold a Float32Array`);
    }
    if (!Array.isArray(shape) || !shape.every(isDimension)) {
      throw new RangeError(`safetensors: expected tensor '${name}' shape to be non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (elementCount(shape) !== data.length) {
      throw new RangeError(
        `safetensors: tensor '${name}' shape [${shape.join(', ')}] needs ${elementCount(shape)} elements, got ${data.length}`);
    }
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  // Pad the header with spaces to a multiple of 8 bytes so the data that follows is aligned,
  // as the reference writer does.
  let headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  if (padded !== headerBytes.length) {
    const withPadding = new Uint8Array(padded).fill(0x20);
    withPadding.set(headerBytes);
    headerBytes = withPadding;
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const [, { data }] of entries) {
    if (littleEndianHost) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(position + 4 * i, data[i], true);
    }
    position += data.byteLength;
  }
  return out;
}

/**
 * Decodes and validates a safetensors file: header length within the file, header JSON an object,
 * every tensor with a known dtype, non-negative integer shape and [begin, end] offsets whose span
 * is product(shape)·sizeof(dtype), the spans contiguous from 0 and ending exactly at the end of
 * the file, and metadata (if any) a string map.
 *
 * @param buf - the file's bytes.
 * @param name - what to call the source in error messages (usually the file path).
 * @throws RangeError for sizes and offsets that do not fit; TypeError for a header that is not
 *   the expected JSON shape or names an unknown dtype. Messages start with `name`.
 */
export function decodeSafetensors(buf: Uint8Array, name: string): DecodedSafetensors {
  function fail(ErrorType: typeof RangeError | typeof TypeError, message: string): never {
    throw new ErrorType(`${name}: not a valid safetensors file: ${message}`);
  }
  if (!(buf instanceof Uint8Array)) fail(TypeError, `expected the file's bytes as a Uint8Array or Buffer, got ${buf === null ? 'null' : typeof buf}`);
  if (buf.length < 8) fail(RangeError, `expected at least 8 bytes (the header length), found ${buf.length}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(buf.length - 8)) {
    fail(RangeError, `header length ${declared} exceeds the ${buf.length - 8} bytes after the length field`);
  }
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES) fail(RangeError, `header length ${headerLength} exceeds ${MAX_HEADER_BYTES}`);
  if (headerLength < 2 || buf[8] !== 0x7b /* '{' */) {
    fail(TypeError, `expected the header (${headerLength} bytes) to be a JSON object starting with '{'`);
  }

  let header: unknown;
  let headerText = '';
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLength));
    header = JSON.parse(headerText);
  } catch (err) {
    fail(TypeError, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  // JSON.parse keeps the last of two equal keys without a word: the file would mean two things.
  const duplicate = duplicateKey(headerText);
  if (duplicate !== null) fail(TypeError, `header repeats the key ${JSON.stringify(duplicate)}`);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(TypeError, 'expected the header to be a JSON object');
  }

  const dataStart = 8 + headerLength;
  const dataLength = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { tensor: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [tensor, info] of Object.entries(header as Record<string, unknown>)) {
    if (tensor === METADATA_KEY) {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) {
        fail(TypeError, `expected ${METADATA_KEY} to be an object of strings`);
      }
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(TypeError, `expected ${METADATA_KEY}.${key} to be a string, got ${typeof value}`);
        metadata[key] = value as string;
      }
      continue;
    }
    if (typeof info !== 'object' || info === null || Array.isArray(info)) {
      fail(TypeError, `expected tensor '${tensor}' to be an object {dtype, shape, data_offsets}`);
    }
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !DTYPE_SIZES.has(dtype)) {
      fail(TypeError, `tensor '${tensor}' has unknown dtype ${JSON.stringify(dtype)} ` +
        `(expected one of ${[...DTYPE_SIZES.keys()].join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(isDimension)) {
      fail(TypeError, `expected tensor '${tensor}' shape to be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDimension)) {
      fail(TypeError, `expected tensor '${tensor}' data_offsets to be [begin, end] integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) {
      fail(RangeError, `tensor '${tensor}' data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`);
    }
    const count = elementCount(shape as number[]);
    const expected = count * DTYPE_SIZES.get(dtype as string)!;
    if (!Number.isSafeInteger(count) || end - begin !== expected) {
      fail(RangeError, `tensor '${tensor}' (${dtype} [${(shape as number[]).join(', ')}]) needs ${expected} bytes, ` +
        `its data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    spans.push({ tensor, dtype: dtype as string, shape: shape as number[], begin, end });
  }

  // The spans must tile the data region exactly: no gaps, no overlaps, nothing left over.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const span of spans) {
    if (span.begin !== covered) {
      fail(RangeError, span.begin < covered
        ? `tensor '${span.tensor}' data_offsets [${span.begin}, ${span.end}] overlap the previous tensor (which ends at ${covered})`
        : `gap before tensor '${span.tensor}': data_offsets start at ${span.begin}, the previous tensor ends at ${covered}`);
    }
    covered = span.end;
  }
  if (covered !== dataLength) {
    fail(RangeError, `the tensors cover ${covered} data bytes but the file holds ${dataLength} after the header`);
  }

  const tensors = new Map<string, DecodedTensor>();
  for (const { tensor, dtype, shape, begin, end } of spans) {
    // Copying (not Buffer#slice, which is a view) gives each tensor its own aligned ArrayBuffer.
    tensors.set(tensor, { dtype, shape, bytes: new Uint8Array(buf.subarray(dataStart + begin, dataStart + end)) });
  }
  return { tensors, metadata };
}

/**
 * The elements of a decoded F32 tensor as a Float32Array (converting from little-endian on
 * big-endian hosts).
 *
 * @throws TypeError when the tensor's dtype is not F32.
 */
export function float32Data(tensor: DecodedTensor, what: string): Float32Array {
  if (tensor.dtype !== 'F32') throw new TypeError(`${what}: expected dtype F32, found ${tensor.dtype}`);
  const { bytes } = tensor;
  if (littleEndianHost) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}
