// A minimal PNG encoder for 8-bit grayscale pictures, so that the report can show sample images
// as data URIs with no image library. Format: the PNG specification (W3C, 2nd edition), sections
// 5 (chunks, CRC-32) and 11.2.2 (IHDR); each scanline carries filter type 0 (None).
import { deflateSync } from 'zlib';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

// CRC-32 (the polynomial 0xEDB88320, reflected), as PNG's chunks carry it.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `bytes`, as PNG chunks (and zlib.crc32) compute it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes `pixels` (row-major, one byte per pixel, 0 = black) as a grayscale PNG.
 * @throws RangeError when the size is not positive integers or does not match the pixel count.
 */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodeGrayPng: width and height must be integers >= 1, got ${width} x ${height}`);
  }
  if (pixels.length !== width * height) {
    throw new RangeError(`encodeGrayPng: ${width} x ${height} needs ${width * height} pixels, got ${pixels.length}`);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // colour type: grayscale
  // Bytes 10..12: compression 0 (deflate), filter method 0, no interlace.
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}
