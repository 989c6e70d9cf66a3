// Reading a safetensors file from disk: what its first bytes and its size can decide is checked
// before the rest is read, so a huge or endless file is refused at once.
import { openRegularFile, readExactly } from './regular-file';

// The header JSON is pre-read only up to this size (larger ones are refused by the decoder).
const MAX_PREREAD_HEADER = 16 << 20;

/** The end of the data the header describes (the largest data_offsets end), or null if it cannot tell. */
function dataEnd(headerJson: Buffer): number | null {
  let header: unknown;
  try {
    header = JSON.parse(headerJson.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null) return null;
  let end = 0;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const offsets = (info as { data_offsets?: unknown } | null)?.data_offsets;
    if (!Array.isArray(offsets) || typeof offsets[1] !== 'number') return null;
    end = Math.max(end, offsets[1]);
  }
  return end;
}

/**
 * The bytes of the safetensors file at `path`: a regular file (TypeError otherwise), at most
 * 2^31 − 1 bytes, whose header length and tensor extents agree with its size (RangeError naming
 * the file otherwise), all decided before the data is read.
 */
export async function readSafetensorsFile(path: string): Promise<Buffer> {
  const file = await openRegularFile(path);
  const invalid = (message: string) => new RangeError(`${path}: not a valid safetensors file: ${message}`);
  try {
    if (file.size >= 8) {
      const declared = (await readExactly(file, 0, 8)).readBigUInt64LE(0);
      if (declared > BigInt(file.size - 8)) throw invalid(`header length ${declared} exceeds the ${file.size - 8} bytes after the length field`);
      const headerLength = Number(declared);
      if (headerLength <= MAX_PREREAD_HEADER) {
        const end = dataEnd(await readExactly(file, 8, headerLength));
        if (end !== null && 8 + headerLength + end !== file.size) {
          throw invalid(`its tensors end at byte ${8 + headerLength + end} of the file, which has ${file.size}`);
        }
      }
    }
    return await readExactly(file, 0, file.size);
  } finally {
    await file.handle.close();
  }
}
