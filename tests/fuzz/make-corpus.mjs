// Writes the fuzz suite's seed corpus (tests/fuzz/corpus/): small valid files and a few known
// edge cases the mutators start from (a gzip bomb and safetensors name tricks among them; FIFOs and
// sparse files, which git cannot hold, are made by tests/hostile-files.test.ts). Run once:
// node tests/fuzz/make-corpus.mjs
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { fileURLToPath } from 'url';
import { createRequire } from 'module';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { encodeSafetensors } = require('../../dist/io/safetensors.js');
const out = path.join(here, 'corpus');
fs.mkdirSync(out, { recursive: true });

function idx(dims, data) {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = 8;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(data)]);
}
// A safetensors file from a header written by hand (encodeSafetensors would refuse these).
function rawSafetensors(json, dataBytes) {
  const header = Buffer.from(json);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header, Buffer.alloc(dataBytes)]);
}
const counting = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
const files = {
  'images-3x4x4.idx': idx([3, 4, 4], counting(48)),
  'labels-5.idx': idx([5], [0, 1, 2, 9, 7]),
  'vector-1.idx': idx([1], [255]),
  'four-dims.idx': idx([1, 2, 1, 3], counting(6)),
  'images-2x28x28.idx.gz': zlib.gzipSync(idx([2, 28, 28], counting(2 * 784))),
  'labels-5.idx.gz': zlib.gzipSync(idx([5], [3, 1, 4, 1, 5])),
  'linear-3-2.safetensors': encodeSafetensors({
    '0.weight': { shape: [2, 3], data: Float32Array.from([0.1, -0.2, 0.3, -0.4, 0.5, -0.6]) },
    '0.bias': { shape: [2], data: Float32Array.from([0.01, -0.02]) },
  }, { format: 'pt' }),
  'empty.safetensors': encodeSafetensors({}),
  // Name tricks: a tensor named __proto__, and a header that repeats a key.
  'proto-name.safetensors': rawSafetensors('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
  'duplicate-key.safetensors': rawSafetensors('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
  // A gzip bomb: a header declaring [10, 28, 28] (7,840 bytes) followed by 64 MiB of zeros (65 KB compressed).
  'bomb-10x28x28.idx.gz': zlib.gzipSync(Buffer.concat([idx([10, 28, 28], []), Buffer.alloc(64 << 20)]), { level: 9 }),
  'scalar-and-zero-size.safetensors': encodeSafetensors({ s: { shape: [], data: Float32Array.from([1]) }, z: { shape: [0, 3], data: new Float32Array(0) } }),
};
for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(out, name), bytes);
console.log(`wrote ${Object.keys(files).length} files to ${out}`);
