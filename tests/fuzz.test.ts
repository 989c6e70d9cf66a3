// Fuzz suite (issue 7): thousands of random and mutated inputs, seeded ($TINYNN_FUZZ_SEED) and
// time-bounded ($TINYNN_FUZZ_SECONDS), over everything that parses input or crosses into native
// code. Each input must end in a clear JS error or a correct result; a crash fails the run (and
// under scripts/sanitize.sh an out-of-bounds access is a crash). The counts are printed at the end.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { spawn } from 'child_process';
import { Dataset, load, nn, optim, parseIdx, readIdx, save, tensor, Trainer, zeros } from '../dist/index.js';
import { decodeSafetensors, encodeSafetensors } from '../dist/io/safetensors.js';
import { native } from '../dist/native.js';
import type { NativeTensor } from '../dist/native-types.js';
import { linearRef } from './helpers/reference';
import { Budget, FUZZ_SECONDS, FUZZ_SEED, mutateBytes, rngFor, Rng, show, Tally } from './fuzz/harness';

const CORPUS = path.join(__dirname, 'fuzz', 'corpus');
const MAIN = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
const tallies: Tally[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-fuzz-'));
// The share of the time bound each target may use; its iteration count is fixed (reproducible),
// the share only stops a target early on a slow machine (the summary says so).
const budget = (share: number): Budget => new Budget(FUZZ_SECONDS * share);
const capped: string[] = [];

function tally(target: string): Tally {
  const t = new Tally(target);
  tallies.push(t);
  return t;
}

function expectClean(t: Tally): void {
  expect(t.bad, `${t.target}: ${t.bad.join('\n')}`).toEqual([]);
  expect(t.tried).toBeGreaterThan(0);
}

function corpus(ext: string): Uint8Array[] {
  return fs.readdirSync(CORPUS).filter((f) => f.endsWith(ext)).sort()
    .map((f) => new Uint8Array(fs.readFileSync(path.join(CORPUS, f))));
}

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  const total = tallies.reduce((a, t) => ({ tried: a.tried + t.tried, ok: a.ok + t.ok, rejected: a.rejected + t.rejected, bad: a.bad + t.bad.length }),
    { tried: 0, ok: 0, rejected: 0, bad: 0 });
  const lines = [`fuzz (seed ${FUZZ_SEED}, bound ${FUZZ_SECONDS}s)`, ...tallies.map((t) => `  ${t.summary()}`),
    `  ${'total'.padEnd(22)} tried ${total.tried}  ok ${total.ok}  rejected with a clear error ${total.rejected}  bad ${total.bad}  crashes 0`];
  if (capped.length) lines.push(`  stopped early by the time bound: ${capped.join(', ')}`);
  console.log(lines.join('\n'));
  if (process.env.TINYNN_FUZZ_REPORT) {
    fs.writeFileSync(process.env.TINYNN_FUZZ_REPORT, JSON.stringify({ seed: FUZZ_SEED, total,
      targets: tallies.map((t) => ({ target: t.target, tried: t.tried, ok: t.ok, rejected: t.rejected, bad: t.bad.length })) }, null, 2));
  }
});

/** Loops `n` times or until the target's share of time runs out. */
async function repeat(target: string, n: number, b: Budget, body: (i: number) => void | Promise<void>): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (b.expired) { capped.push(`${target} after ${i}/${n}`); return; }
    await body(i);
  }
}

// ---------------------------------------------------------------- IDX

/** An independent reading of the IDX rules: the expected shape and data, or null when invalid. */
function idxReference(raw: Uint8Array): { shape: number[]; data: Uint8Array } | null {
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 8 || raw[3] === 0) return null;
  const nd = raw[3];
  if (raw.length < 4 + 4 * nd) return null;
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < nd; d++) {
    const o = 4 + 4 * d;
    const size = ((raw[o] << 24) >>> 0) + (raw[o + 1] << 16) + (raw[o + 2] << 8) + raw[o + 3];
    if (size === 0) return null;
    shape.push(size);
    count *= size;
  }
  if (raw.length - (4 + 4 * nd) !== count) return null;
  return { shape, data: raw.subarray(4 + 4 * nd) };
}

function validIdx(rng: Rng): Uint8Array {
  const dims = Array.from({ length: rng.int(1, 4) }, () => rng.int(1, 5));
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = 8;
  header[3] = dims.length;
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return Uint8Array.from([...header, ...rng.bytes(dims.reduce((a, b) => a * b, 1))]);
}

/** Header-aware edits: ndims, type, a dimension set to an edge value, then maybe a byte mutation. */
function mutateIdx(rng: Rng, seed: Uint8Array): Uint8Array {
  const out = Uint8Array.from(seed);
  const view = new DataView(out.buffer);
  switch (rng.int(0, 4)) {
    case 0: if (out.length > 3) out[3] = rng.pick([0, 1, 2, 3, 4, 5, 255, out[3] + 1, out[3] - 1]); break;
    case 1: if (out.length > 2) out[2] = rng.pick([0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0xff]); break;
    case 2: {
      const nd = Math.min(out[3] ?? 0, Math.floor((out.length - 4) / 4));
      if (nd > 0) {
        view.setUint32(4 + 4 * rng.int(0, nd - 1), rng.pick([0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, rng.int(0, 2 ** 32 - 1)]), false);
      }
      break;
    }
    case 3: if (out.length > 1) out[rng.int(0, 1)] = rng.pick([1, 0x1f, 0xff]); break;
    default: break;
  }
  return rng.bool(0.6) ? mutateBytes(rng, out) : out;
}

describe('fuzz: IDX files', () => {
  it('parseIdx on raw buffers: the reference answer or a clear error', async () => {
    const t = tally('idx raw');
    const rng = rngFor('idx raw');
    const seeds = corpus('.idx');
    const b = budget(0.08);
    await repeat(t.target, 10000, b, () => {
      const input = mutateIdx(rng, rng.bool(0.3) && seeds.length ? rng.pick(seeds) : validIdx(rng));
      const expected = idxReference(input);
      t.run(() => parseIdx(input, 'fuzz.idx'), (got) => {
        if (!expected) return 'accepted an invalid file';
        if (JSON.stringify(got.shape) !== JSON.stringify(expected.shape)) return `shape ${got.shape} vs ${expected.shape}`;
        if (!Buffer.from(got.data).equals(Buffer.from(expected.data))) return 'data differs';
        return null;
      }, () => show(input));
      if (expected) expect(t.ok).toBeGreaterThan(0);
    });
    // Not bytes, not a path.
    for (const v of [null, undefined, 'abc', 5, [0, 0, 8, 1], {}, new Float32Array(4)]) {
      t.run(() => parseIdx(v as never, 'x'), () => 'accepted', () => `parseIdx(${show(v)})`);
      await t.runAsync(() => readIdx(v as never), () => 'accepted', () => `readIdx(${show(v)})`);
    }
    expectClean(t);
    expect(t.ok).toBeGreaterThan(50);
  });

  it('parseIdx and readIdx on gzip data: mutated inside and outside the compression', async () => {
    const t = tally('idx gzip');
    const rng = rngFor('idx gzip');
    const seeds = corpus('.idx.gz');
    const b = budget(0.06);
    await repeat(t.target, 3000, b, async (i) => {
      let input: Uint8Array;
      if (rng.bool(0.5)) input = zlib.gzipSync(mutateIdx(rng, validIdx(rng)));
      else input = mutateBytes(rng, rng.bool(0.3) && seeds.length ? rng.pick(seeds) : zlib.gzipSync(validIdx(rng)), 2);
      let expected: ReturnType<typeof idxReference>;
      try { expected = idxReference(zlib.gunzipSync(input)); } catch { expected = null; }
      const check = (got: { shape: number[]; data: Uint8Array }): string | null => {
        if (!expected) return 'accepted an invalid file';
        if (JSON.stringify(got.shape) !== JSON.stringify(expected.shape)) return 'shape differs';
        return Buffer.from(got.data).equals(Buffer.from(expected.data)) ? null : 'data differs';
      };
      if (i % 10 === 0) {
        const file = path.join(tmp, `f${i}.idx.gz`);
        fs.writeFileSync(file, input);
        await t.runAsync(() => readIdx(file), check, () => show(input));
      } else {
        t.run(() => parseIdx(input, 'fuzz.idx.gz'), check, () => show(input));
      }
    });
    expectClean(t);
  });
});

// ---------------------------------------------------------------- safetensors

const ST_SIZES: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8 };

function validSafetensors(rng: Rng): Uint8Array {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (let k = rng.int(0, 3); k > 0; k--) {
    const shape = Array.from({ length: rng.int(0, 3) }, () => rng.int(0, 4));
    const n = shape.reduce((a, b) => a * b, 1);
    tensors[`t${k}.${rng.int(0, 9)}`] = { shape, data: Float32Array.from({ length: n }, () => rng.next() * 2 - 1) };
  }
  return encodeSafetensors(tensors, rng.bool(0.5) ? { format: 'pt' } : undefined);
}

function splitSafetensors(buf: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(Buffer.from(buf.subarray(8, 8 + n)).toString('utf8')), data: buf.subarray(8 + n) };
}

function joinSafetensors(rng: Rng, header: unknown, data: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header) ?? 'null');
  const padded = rng.bool(0.7) ? Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]) : json;
  const out = Buffer.alloc(8 + padded.length + data.length);
  let declared = BigInt(padded.length);
  if (rng.bool(0.1)) declared = rng.pick([0n, 1n, 2n, declared - 1n, declared + 1n, 2n ** 63n, 2n ** 64n - 1n, BigInt(out.length)]);
  out.writeBigUInt64LE(declared < 0n ? 0n : declared, 0);
  padded.copy(out, 8);
  Buffer.from(data).copy(out, 8 + padded.length);
  return new Uint8Array(out);
}

/** Edits of the JSON header (dtype, shape, offsets, names, metadata) and the data length. */
function mutateSafetensors(rng: Rng, seed: Uint8Array): Uint8Array {
  if (rng.bool(0.25)) return mutateBytes(rng, seed);
  const { header, data } = splitSafetensors(seed);
  let body: Uint8Array = data;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const edits = rng.int(1, 3);
  for (let e = 0; e < edits; e++) {
    const name = names.length ? rng.pick(names) : 'x';
    const entry = (header[name] ?? {}) as Record<string, unknown>;
    switch (rng.int(0, 8)) {
      case 0: entry.dtype = rng.pick(['F32', 'F64', 'F16', 'I64', 'U8', 'BOOL', 'f32', 'F33', '', 5, null, ['F32']]); break;
      case 1: entry.shape = rng.pick<unknown>([[], [0], [-1], [1.5], [2 ** 53], [2 ** 31, 2 ** 31, 4], [1e308], ['2'], null, 3, [NaN],
        [rng.int(0, 6), rng.int(0, 6)]]); break;
      case 2: {
        const offs = Array.isArray(entry.data_offsets) ? [...entry.data_offsets as number[]] : [0, 0];
        const k = rng.int(0, 1);
        offs[k] = rng.pick<number>([0, -1, 1, offs[k] + 1, offs[k] - 1, offs[k] + 4, 2 ** 53, 2 ** 53 + 2, 1.5, data.length, data.length + 8]);
        entry.data_offsets = rng.bool(0.1) ? [offs[0]] : offs;
        break;
      }
      case 3: delete entry[rng.pick(['dtype', 'shape', 'data_offsets'])]; break;
      case 4: header[`extra${rng.int(0, 3)}`] = rng.pick<unknown>([{ dtype: 'F32', shape: [0], data_offsets: [0, 0] },
        { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, 'str', 7, null, []]); break;
      case 5: header.__metadata__ = rng.pick<unknown>([{ a: 'b' }, { a: 1 }, [], 'x', null, { format: 'pt' }]); break;
      case 6: body = rng.bool() ? body.subarray(0, rng.int(0, body.length)) : Uint8Array.from([...body, ...rng.bytes(rng.int(1, 9))]); break;
      case 7: if (names.length) { header[`${name}_`] = header[name]; delete header[name]; } break;
      default: entry[rng.pick(['dtype', 'shape', 'data_offsets'])] = rng.jsonWeird(); break;
    }
    if (name in header || names.length === 0) header[name] = entry;
  }
  return rng.bool(0.05)
    ? joinSafetensors(rng, rng.pick<unknown>([[], 'x', 1, null, [header]]), body)
    : joinSafetensors(rng, header, body);
}

/** What a correct decode of `buf` must look like; checks every tensor's bytes against the file. */
function checkDecoded(buf: Uint8Array, got: ReturnType<typeof decodeSafetensors>): string | null {
  const { header, data } = splitSafetensors(buf);
  let covered = 0;
  for (const [name, t] of got.tensors) {
    const h = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] } | undefined;
    if (!h) return `invented tensor ${name}`;
    const n = h.shape.reduce((a, b) => a * b, 1) * (ST_SIZES[h.dtype] ?? NaN);
    const [begin, end] = h.data_offsets;
    if (!(end - begin === n && t.bytes.length === n && end <= data.length)) return `tensor ${name} span`;
    if (!Buffer.from(t.bytes).equals(Buffer.from(data.subarray(begin, end)))) return `tensor ${name} bytes`;
    covered += n;
  }
  if (covered !== data.length) return `covers ${covered} of ${data.length} bytes`;
  return null;
}

function paramsOf(model: nn.Sequential): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, Array.from(v.toArray())]));
}

describe('fuzz: safetensors files', () => {
  it('decodeSafetensors: a consistent decode or a clear error', async () => {
    const t = tally('safetensors decode');
    const rng = rngFor('safetensors decode');
    const seeds = corpus('.safetensors');
    const b = budget(0.1);
    await repeat(t.target, 10000, b, () => {
      const input = mutateSafetensors(rng, rng.bool(0.3) && seeds.length ? rng.pick(seeds) : validSafetensors(rng));
      t.run(() => decodeSafetensors(input, 'fuzz.safetensors'), (got) => checkDecoded(input, got), () => show(input));
    });
    for (const v of [null, undefined, 'abc', 5, [0, 0, 0, 0, 0, 0, 0, 0], {}, new Float32Array(4)]) {
      t.run(() => decodeSafetensors(v as never, 'x'), () => 'accepted', () => `decodeSafetensors(${show(v)})`);
    }
    expectClean(t);
    expect(t.ok).toBeGreaterThan(50);
  });

  it('load(model, file): the file\'s weights, or a clear error and the model untouched', async () => {
    const t = tally('load(model, file)');
    const rng = rngFor('load');
    const b = budget(0.1);
    const model = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 2));
    const good = path.join(tmp, 'good.safetensors');
    await save(model, good);
    const goodBytes = new Uint8Array(fs.readFileSync(good));
    await repeat(t.target, 1000, b, async (i) => {
      const target = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 2));
      const before = paramsOf(target);
      let input = mutateSafetensors(rng, goodBytes);
      if (i % 7 === 0) input = goodBytes; // the valid file keeps loading
      const file = path.join(tmp, `m${i % 16}.safetensors`);
      fs.writeFileSync(file, input);
      const outcome = await t.runAsync(() => load(target, file), () => {
        let decoded;
        try { decoded = decodeSafetensors(input, file); } catch { return 'loaded a file decode rejects'; }
        const after = paramsOf(target);
        for (const [name, values] of Object.entries(after)) {
          const tensor = decoded.tensors.get(name);
          if (!tensor) return `no ${name} in the file`;
          const want = Array.from(new Float32Array(tensor.bytes.buffer, tensor.bytes.byteOffset, tensor.bytes.length / 4));
          if (JSON.stringify(want) !== JSON.stringify(values)) return `${name} differs from the file`;
        }
        return null;
      }, () => show(input));
      if (outcome === 'rejected' && JSON.stringify(paramsOf(target)) !== JSON.stringify(before)) {
        t.result('model changed by a failed load', () => show(input));
      }
      for (const p of target.parameters()) p.dispose();
    });
    // Not a model, not a path.
    for (const [m, p] of [[{}, good], [null, good], [model, 5], [model, ''], [model, tmp], [model, path.join(tmp, 'none')], [model, 'a\0b']] as const) {
      await t.runAsync(() => load(m as never, p as never), () => 'accepted', () => `load(${show(m)}, ${show(p)})`);
    }
    for (const [m, p] of [[{}, path.join(tmp, 's.safetensors')], [null, good], [model, 5], [model, ''], [model, tmp], [model, path.join(tmp, 'no', 'x')]] as const) {
      await t.runAsync(() => save(m as never, p as never), () => 'accepted', () => `save(${show(m)}, ${show(p)})`);
    }
    expectClean(t);
    expect(t.ok).toBeGreaterThan(10);
  });
});

// ---------------------------------------------------------------- tensor constructors

const DEVICES = ['cpu', 'cpu', 'cpu', 'cuda', 'cuda:0', 'cuda:7', 'cuda:-1', 'gpu', '', 'CPU', ' cpu', 'auto', 'cuda:1e3', 'cpu\0'];

function randomShape(rng: Rng, numel?: number): unknown {
  if (numel !== undefined && rng.bool(0.5)) {
    const s = [numel];
    if (rng.bool() && numel % 2 === 0 && numel > 0) return [2, numel / 2];
    return s;
  }
  if (rng.bool(0.15)) return rng.weird();
  return Array.from({ length: rng.int(0, 5) }, () => (rng.bool(0.8) ? rng.int(0, 5)
    : rng.pick<unknown>([-1, 0, 1.5, NaN, Infinity, 2 ** 31, 2 ** 31 + 1, 2 ** 40, 2 ** 53, '3', null, -0])));
}

function randomTyped(rng: Rng, n: number): ArrayBufferView {
  const Ctor = rng.pick<{ new(n: number): ArrayBufferView }>([Float32Array, Float32Array, Uint8Array, Int32Array, Float64Array, Int16Array, Uint8ClampedArray, BigInt64Array]);
  const a = new Ctor(n);
  if (!(a instanceof BigInt64Array)) for (let i = 0; i < n; i++) (a as Float32Array)[i] = rng.int(-3, 300) / rng.pick([1, 2, 7]);
  // Sometimes a view into the middle of a larger buffer (byteOffset ≠ 0).
  if (rng.bool(0.2) && a instanceof Float32Array) return new Float32Array(new Float32Array(n + 3).buffer, 8, n);
  return a;
}

function randomNested(rng: Rng, depth: number): unknown {
  if (depth === 0 || rng.bool(0.2)) return rng.bool(0.9) ? rng.int(-5, 300) / rng.pick([1, 4]) : rng.weird();
  const n = rng.int(0, 3);
  const row = rng.bool(0.8) ? randomNested(rng, depth - 1) : null;
  return Array.from({ length: n }, () => (row !== null && rng.bool(0.8) ? row : randomNested(rng, depth - 1)));
}

const TENSOR_BUDGET = 1 << 20; // elements: a valid random shape never asks for more

describe('fuzz: tensor constructors', () => {
  it('tensor(data, options): a tensor holding exactly the data, or a clear error', async () => {
    const t = tally('tensor()');
    const rng = rngFor('tensor');
    const b = budget(0.06);
    await repeat(t.target, 8000, b, () => {
      const data = rng.bool(0.4) ? randomTyped(rng, rng.int(0, 12)) : randomNested(rng, rng.int(0, 3));
      const opts: Record<string, unknown> = {};
      if (rng.bool(0.5)) opts.shape = randomShape(rng, ArrayBuffer.isView(data) ? (data as Float32Array).length : undefined);
      if (rng.bool(0.5)) opts.dtype = rng.pick<unknown>(['float32', 'int32', 'uint8', 'float64', 'int8', '', null, 3]);
      if (rng.bool(0.3)) opts.device = rng.pick(DEVICES);
      if (rng.bool(0.2)) opts.requiresGrad = rng.weird();
      const options = rng.bool(0.05) ? rng.weird() : opts;
      t.run(() => tensor(data as never, options as never), (x) => {
        const values = x.toArray();
        const n = x.shape.reduce((a, c) => a * c, 1);
        x.dispose();
        if (values.length !== n) return `toArray has ${values.length} elements, shape ${x.shape}`;
        if (ArrayBuffer.isView(data) && !(opts.dtype && opts.dtype !== x.dtype)) {
          const src = Array.from(data as Float32Array);
          if (JSON.stringify(src) !== JSON.stringify(Array.from(values))) return 'values differ from the typed array';
        }
        return null;
      }, () => `tensor(${show(data)}, ${show(options)})`);
    });
    expectClean(t);
  });

  it('native.Tensor, empty and zeros: random shapes, dtypes, lengths, devices', async () => {
    const t = tally('native.Tensor');
    const rng = rngFor('native tensor');
    const b = budget(0.06);
    await repeat(t.target, 8000, b, () => {
      const kind = rng.int(0, 2);
      const device = rng.pick(DEVICES);
      if (kind === 0) {
        const data = rng.bool(0.9) ? randomTyped(rng, rng.int(0, 12)) : rng.weird();
        const shape = randomShape(rng, ArrayBuffer.isView(data) ? (data as Float32Array).length : undefined);
        const args = [data, shape, device].slice(0, rng.bool(0.95) ? 3 : rng.int(0, 2));
        t.run(() => new (native.Tensor as unknown as new (...a: unknown[]) => NativeTensor)(...args), (x) => {
          const got = x.toArray();
          x.dispose();
          const src = data as Float32Array;
          return JSON.stringify(Array.from(got)) === JSON.stringify(Array.from(src)) ? null : 'contents differ';
        }, () => `new Tensor(${args.map(show).join(', ')})`);
      } else {
        const shape = randomShape(rng);
        const dtype = rng.pick<unknown>(['float32', 'uint8', 'int32', 'float64', '', null, 1]);
        // A shape the binding accepts but that is over this test's budget (an 8 GB zeros() is legal,
        // just slow) becomes one beyond the 2^34-element cap, which must be refused before allocating.
        const valid = Array.isArray(shape) && shape.length >= 1 && shape.length <= 4
          && shape.every((d) => Number.isInteger(d) && (d as number) >= 1 && (d as number) <= 2 ** 31);
        const big = valid && (shape as number[]).reduce((a, c) => a * c, 1) > TENSOR_BUDGET;
        const s = big ? rng.pick([[2 ** 31, 2 ** 31], [2 ** 31, 2 ** 31, 2 ** 31, 2 ** 31], [2 ** 24, 2 ** 24]]) : shape;
        const make = kind === 1 ? native.Tensor.empty : native.Tensor.zeros;
        t.run(() => make(s as never, dtype as never, device), (x) => {
          const got = x.toArray();
          const n = x.shape.reduce((a, c) => a * c, 1);
          x.dispose();
          if (got.length !== n) return 'length';
          if (kind === 2 && got.some((v) => v !== 0)) return 'zeros not zero';
          return null;
        }, () => `${kind === 1 ? 'empty' : 'zeros'}(${show(s)}, ${show(dtype)}, ${show(device)})`);
      }
    });
    // Disposed tensors: every method throws a clear error, dispose twice is harmless.
    for (let i = 0; i < 50; i++) {
      const x = new native.Tensor(new Float32Array(4), [2, 2], 'cpu');
      x.dispose();
      x.dispose();
      t.run(() => x.toArray(), () => 'read a disposed tensor', () => 'disposed.toArray()');
      t.run(() => x.to('cpu'), () => 'copied a disposed tensor', () => 'disposed.to()');
      t.run(() => x.copyFrom(new native.Tensor(new Float32Array(4), [2, 2], 'cpu')), () => 'wrote a disposed tensor', () => 'disposed.copyFrom()');
      t.run(() => new native.Tensor(new Float32Array(4), [2, 2], 'cpu').copyFrom(x), () => 'read a disposed tensor', () => 'copyFrom(disposed)');
      expect(x.disposed).toBe(true);
    }
    expectClean(t);
  });
});

// ---------------------------------------------------------------- native ops

type Arg = unknown;
const OP_ARITY: Record<string, number> = {
  gemm: 7, linear: 4, linearBackward: 7, reluBackward: 2, biasGrad: 3, softmaxCrossEntropy: 3,
  softmax: 1, logSoftmax: 1, argmax: 1, unary: 4, binary: 4, reduce: 4, mse: 3, gatherRows: 2,
  optimizerStep: 6, gatherBatch: 5, permutation: 3,
};
const OP_SHAPES = [[2, 3], [3, 2], [2, 2], [3], [2], [1, 1], [4, 3], [3, 4], [1], [4], [2, 3, 1], [10], [2, 10], [3, 10]];

function randomTensor(rng: Rng): NativeTensor {
  const shape = rng.pick(OP_SHAPES);
  const n = shape.reduce((a, b) => a * b, 1);
  const dtype = rng.pick(['float32', 'float32', 'float32', 'int32', 'uint8'] as const);
  const data = dtype === 'float32' ? Float32Array.from({ length: n }, () => (rng.bool(0.02) ? rng.pick([NaN, Infinity]) : rng.next() * 2 - 1))
    : dtype === 'int32' ? Int32Array.from({ length: n }, () => rng.int(-1, 11)) : Uint8Array.from({ length: n }, () => rng.int(0, 11));
  return new native.Tensor(data, shape, 'cpu');
}

function randomArg(rng: Rng, pool: NativeTensor[], disposed: NativeTensor): Arg {
  const r = rng.next();
  if (r < 0.55) return rng.pick(pool);
  if (r < 0.62) return disposed;
  if (r < 0.7) return rng.bool();
  if (r < 0.76) return rng.pick([0, 1, 0.5, 2, 3, 10, 100]);
  if (r < 0.8) return Int32Array.from({ length: rng.int(0, 5) }, () => rng.int(-2, 5));
  if (r < 0.84) return Array.from({ length: rng.int(0, 4) }, () => (rng.bool(0.8) ? rng.pick(pool) : rng.weird()));
  if (r < 0.86) return { kind: rng.pick(['sgd', 'adam', 3]), lr: rng.pick([0.1, -1, NaN]), momentum: rng.pick([0, 0.9, 2]), dampening: 0, weightDecay: rng.pick([0, -1]), nesterov: rng.weird() };
  if (r < 0.88) return { kind: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false };
  if (r < 0.9) return rng.pick(['add', 'mul', 'relu', 'gelu', 'sum', 'max', 'clamp', 'geluGrad', 'nope', '']);
  return rng.weird();
}

function finite(x: NativeTensor): boolean {
  return x.dtype !== 'float32' || Array.from(x.toArray()).every(Number.isFinite);
}

/** The reference answer for ops whose result is easy to compute independently; null to skip. */
function referenceCheck(op: string, args: Arg[], result: unknown): string | null {
  const T = (v: Arg) => v as NativeTensor;
  const close = (got: ArrayLike<number>, want: ArrayLike<number>) => got.length === want.length
    && Array.from(want).every((w, i) => Math.abs(got[i] - w) <= 1e-4 * Math.max(1, Math.abs(w)));
  if (op === 'unary' && args[1] === 'relu' && finite(T(args[0]))) {
    return close((result as NativeTensor).toArray(), Array.from(T(args[0]).toArray()).map((v) => Math.max(v, 0))) ? null : 'relu';
  }
  if (op === 'linear' && finite(T(args[0])) && finite(T(args[1])) && (args[2] === null || finite(T(args[2])))) {
    const [x, w, bias] = [T(args[0]), T(args[1]), args[2] as NativeTensor | null];
    const want = linearRef(x.toArray(), w.toArray(), bias ? bias.toArray() : null, x.shape[0], x.shape[1], w.shape[0], args[3] as boolean);
    const got = result as NativeTensor;
    return JSON.stringify(got.shape) === JSON.stringify([x.shape[0], w.shape[0]]) && close(got.toArray(), want) ? null : 'linear';
  }
  if (op === 'argmax' && finite(T(args[0]))) {
    const x = T(args[0]);
    const [rows, cols] = x.shape;
    const v = x.toArray();
    const want = Array.from({ length: rows }, (_, r) => {
      let best = 0;
      for (let c = 1; c < cols; c++) if (v[r * cols + c] > v[r * cols + best]) best = c;
      return best;
    });
    return JSON.stringify(Array.from((result as NativeTensor).toArray())) === JSON.stringify(want) ? null : 'argmax';
  }
  if (op === 'permutation') {
    const p = Array.from(result as Int32Array).sort((a, b) => a - b);
    return p.every((v, i) => v === i) && p.length === args[0] ? null : 'not a permutation';
  }
  return null;
}

/** Reads every tensor a result holds (the sanitizers see any out-of-bounds write this way). */
function touch(result: unknown): void {
  if (result && typeof result === 'object') {
    if ('toArray' in result && typeof (result as NativeTensor).toArray === 'function') { (result as NativeTensor).toArray(); return; }
    for (const v of Object.values(result)) if (v && typeof v === 'object' && 'toArray' in v) (v as NativeTensor).toArray();
  }
}

describe('fuzz: native ops', () => {
  it('native.ops.* with random and mismatched arguments', async () => {
    const t = tally('native.ops');
    const rng = rngFor('ops');
    const b = budget(0.12);
    // Every op the addon exports, including ones added after this suite was written (arity 4 then).
    const names = Object.keys(native.ops);
    for (const name of names) OP_ARITY[name] ??= 4;
    let pool = Array.from({ length: 24 }, () => randomTensor(rng));
    const disposed = randomTensor(rng);
    disposed.dispose();
    await repeat(t.target, 15000, b, (i) => {
      if (i % 200 === 199) { for (const p of pool) p.dispose(); pool = Array.from({ length: 24 }, () => randomTensor(rng)); }
      const op = rng.pick(names);
      const n = rng.bool(0.9) ? OP_ARITY[op] : rng.int(0, OP_ARITY[op] + 1);
      let args: Arg[] = Array.from({ length: n }, () => randomArg(rng, pool, disposed));
      if (op === 'permutation') args = [rng.pick<unknown>([0, 1, 5, 100, -1, 1.5, NaN, 2 ** 31, '3']), rng.pick<unknown>([0, 1, 2 ** 53, 2 ** 53 + 2, -1]), rng.pick<unknown>([0, 3, -1, 2 ** 31])];
      // Copies of the inputs' readable state, since in-place ops change them.
      const before = args.map((a) => (a && typeof a === 'object' && 'toArray' in a && !(a as NativeTensor).disposed ? (a as NativeTensor) : a));
      t.run(() => (native.ops as unknown as Record<string, (...a: Arg[]) => unknown>)[op](...args), (result) => {
        touch(result);
        return referenceCheck(op, before, result);
      }, () => `${op}(${args.map(show).join(', ')})`);
    });
    for (const p of pool) p.dispose();
    expectClean(t);
    expect(t.ok).toBeGreaterThan(20);
  });
});

// ---------------------------------------------------------------- fit / evaluate / Driver options

function tinyDataset(rng: Rng, n: number, features: number): Dataset {
  return new Dataset({ images: rng.bytes(n * features), labels: Uint8Array.from({ length: n }, () => rng.int(0, 9)), features });
}

describe('fuzz: fit, evaluate and Driver options', () => {
  it('Trainer.fit / evaluate with random options: a history or a clear error, never a hang', async () => {
    const t = tally('fit/evaluate options');
    const rng = rngFor('fit');
    const b = budget(0.14);
    const ds = tinyDataset(rng, 16, 4);
    const wide = tinyDataset(rng, 8, 5);
    await repeat(t.target, 500, b, async () => {
      const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 10));
      const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }), loss: new nn.CrossEntropyLoss() });
      const aborted = new AbortController();
      aborted.abort();
      const later = new AbortController();
      const opts: Record<string, unknown> = {};
      const set = (key: string, values: unknown[]) => { if (rng.bool(0.5)) opts[key] = rng.pick(values); };
      set('epochs', [1, 2, 0, -1, 1.5, NaN, '1', null, 1e7, Infinity]);
      set('batchSize', [1, 3, 16, 17, 0, -1, 2.5, NaN, '4', 2 ** 31, 2 ** 20 + 1]);
      set('shuffle', [true, false, 'yes', 1]);
      set('seed', [0, 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -1, NaN, 1.5, '3']);
      set('dropLast', [true, false, 0, 'no']);
      set('validation', [ds, wide, {}, null, 5]);
      set('signal', [aborted.signal, later.signal, {}, 'x']);
      set('onBatchEnd', [() => undefined, () => { throw new Error('callback failed'); }, 5, () => later.abort()]);
      set('onEpochEnd', [() => undefined, () => { throw new TypeError('epoch callback failed'); }, 'x']);
      const data = rng.pick<unknown>([ds, ds, ds, wide, {}, null]);
      const options = rng.bool(0.05) ? rng.weird() : opts;
      if (rng.bool(0.25)) {
        const eo = rng.bool(0.8) ? { batchSize: rng.pick<unknown>([1, 5, 1000, 0, -2, 1.5, NaN, '2', 2 ** 31]) } : rng.weird();
        await t.runAsync(() => trainer.evaluate(data as never, eo as never), (r) => (
          Number.isFinite(r.loss) && r.accuracy >= 0 && r.accuracy <= 1 ? null : `evaluation ${show(r)}`),
        () => `evaluate(${show(data)}, ${show(eo)})`);
      } else {
        await t.runAsync(() => trainer.fit(data as never, options as never), (h) => {
          const asked = (options as { epochs?: unknown } | null)?.epochs;
          const epochs = asked === undefined ? 1 : asked;
          if (h.epochs.length !== epochs) return `${h.epochs.length} epochs recorded, ${epochs} asked`;
          return h.epochs.every((e) => Number.isFinite(e.loss)) ? null : 'non-finite loss';
        }, () => `fit(${show(data)}, ${show(options)})`);
      }
      for (const p of model.parameters()) p.dispose();
    });
    expectClean(t);
    expect(t.ok).toBeGreaterThan(10);
  });

  it('native.Driver: random constructor and fit options', async () => {
    const t = tally('native.Driver');
    const rng = rngFor('driver');
    const b = budget(0.05);
    const good = () => ({
      layers: [{ weight: new native.Tensor(new Float32Array(12), [3, 4], 'cpu'), bias: new native.Tensor(new Float32Array(3), [3], 'cpu'),
        activation: 'relu', slope: 0.01, weightState: [] as unknown[], biasState: [] as unknown[] },
      { weight: new native.Tensor(new Float32Array(30), [10, 3], 'cpu'), bias: new native.Tensor(new Float32Array(10), [10], 'cpu'),
        activation: 'none', slope: 0.01, weightState: [] as unknown[], biasState: [] as unknown[] }],
      loss: 'crossEntropy',
      optimizer: { kind: 'sgd', lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
      steps: new native.Tensor(new Int32Array(4), [4], 'cpu'),
      fusion: true, cudaClusterLayer1: false, tf32: false,
    });
    const images = new native.Tensor(rng.bytes(16 * 4), [16, 4], 'cpu');
    const labels = new native.Tensor(Uint8Array.from({ length: 16 }, () => rng.int(0, 9)), [16], 'cpu');
    await repeat(t.target, 1000, b, async () => {
      const o = good() as Record<string, unknown>;
      const layers = o.layers as Record<string, unknown>[];
      const sgd = o.optimizer as Record<string, unknown>;
      for (let e = rng.int(0, 2); e > 0; e--) {
        switch (rng.int(0, 5)) {
          case 0: o[rng.pick(['layers', 'loss', 'optimizer', 'steps', 'fusion', 'tf32', 'cudaClusterLayer1'])] = rng.weird(); break;
          case 1: rng.pick(layers)[rng.pick(['weight', 'bias', 'activation', 'slope'])] = rng.bool() ? randomTensor(rng) : rng.weird(); break;
          case 2: rng.pick(layers)[rng.pick(['weightState', 'biasState'])] = rng.bool() ? [randomTensor(rng)] : rng.weird(); break;
          case 3: sgd[rng.pick(['kind', 'lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'])] = rng.weird(); break;
          case 4: layers.reverse(); break;
          default: { const w = layers[0].weight as NativeTensor | undefined; if (typeof w?.dispose === 'function') w.dispose(); break; }
        }
      }
      let driver: InstanceType<typeof native.Driver> | undefined;
      const made = t.run(() => { driver = new native.Driver(o as never); return driver; }, () => null, () => `new Driver(${show(o)})`);
      if (made !== 'ok' || !driver) return;
      const fo: Record<string, unknown> = { images, labels, epochs: 1, batchSize: 4, shuffle: true, seed: 1, dropLast: false, scale: 1 / 255, shift: 0, validation: null, progressEvery: 1 };
      if (rng.bool(0.8)) fo[rng.pick(Object.keys(fo))] = rng.bool(0.5) ? rng.weird() : rng.pick<unknown>([randomTensor(rng), { images, labels: images }, { images }]);
      const d = driver;
      const cb = rng.pick<unknown>([() => undefined, () => { throw new Error('progress failed'); }, 3]);
      await t.runAsync(() => (rng.bool(0.8) ? d.fit(fo as never, cb as never) : d.evaluate(images, labels, rng.pick<unknown>([4, 0, NaN, 2 ** 21]) as number, 1 / 255, 0)),
        () => null, () => `driver.fit(${show(fo)})`);
    });
    expectClean(t);
  });
});

// ---------------------------------------------------------------- CLI

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; signal: string | null; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stderr, ms: performance.now() - started }); });
  });
}

describe('fuzz: CLI options', () => {
  it('random flags: exit 0, 1 or 2 with a message, never a signal', async () => {
    const t = tally('CLI runs');
    const rng = rngFor('cli');
    const b = budget(0.2);
    // A data directory of corrupt MNIST files: the CLI must report them, not crash.
    const badData = path.join(tmp, 'bad-mnist');
    fs.mkdirSync(badData);
    for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      fs.writeFileSync(path.join(badData, name), mutateIdx(rng, validIdx(rng)));
    }
    const notModel = path.join(tmp, 'not-a-model.safetensors');
    fs.writeFileSync(notModel, mutateSafetensors(rng, validSafetensors(rng)));
    const FLAGS: Record<string, () => string[]> = {
      '--epochs': () => [rng.pick(['1', '0', '-1', '1.5', 'x', '1e400', ''])],
      '--batch-size': () => [rng.pick(['64', '0', '3.5', '1e9', 'NaN'])],
      '--lr': () => [rng.pick(['0.1', '0', '-1', 'inf', '.5e1'])],
      '--momentum': () => [rng.pick(['0', '0.9', '1', '2'])],
      '--weight-decay': () => [rng.pick(['0', '-0.1', '1e-4'])],
      '--device': () => [rng.pick(['cpu', 'cuda', 'cuda:9', 'gpu', 'auto'])],
      '--seed': () => [rng.pick(['1', '-1', '4294967296', '1.5'])],
      '--limit': () => [rng.pick(['200', '0', '-5', 'all'])],
      '--data': () => [rng.pick([badData, path.join(tmp, 'missing'), tmp, ''])],
      '--save': () => [rng.pick([path.join(tmp, 'out.safetensors'), path.join(tmp, 'no', 'dir', 'x.safetensors'), tmp])],
      '--model': () => [rng.pick([notModel, path.join(tmp, 'missing.safetensors'), tmp])],
      '--bogus': () => [],
    };
    const runs = 40;
    const pending: Promise<void>[] = [];
    for (let i = 0; i < runs && !b.expired; i++) {
      const args = [rng.pick(['train', 'train', 'eval', 'eval', 'bogus', '--help', '-h', '', 'train --help'])].filter(Boolean).flatMap((s) => s.split(' '));
      const flags = Object.keys(FLAGS);
      for (let k = rng.int(0, 4); k > 0; k--) {
        const f = rng.pick(flags);
        const v = FLAGS[f]();
        args.push(...(rng.bool(0.8) ? [f, ...v] : [`${f}=${v[0] ?? ''}`]));
      }
      if (rng.bool(0.1)) args.push('positional');
      // A run that would really train stays tiny: 1 epoch on 200 samples (or corrupt data).
      if (args[0] === 'train' && !args.includes('--help')) {
        for (const [f, v] of [['--epochs', '1'], ['--limit', '200'], ['--device', 'cpu']]) if (!args.some((a) => a.startsWith(f))) args.push(f, v);
      }
      pending.push(runCli(args, { TINYNN_MNIST_DIR: rng.bool(0.3) ? badData : (process.env.TINYNN_MNIST_DIR ?? '') }).then((r) => {
        const problem = r.signal ? `killed by ${r.signal}` : ![0, 1, 2].includes(r.code ?? -1) ? `exit code ${r.code}`
          : r.code !== 0 && r.stderr.trim() === '' ? 'failed without a message'
          : /at .*\.js:\d+|Segmentation|Aborted|core dumped|AddressSanitizer|runtime error:/.test(r.stderr) && r.code !== 0 ? `raw trace: ${r.stderr.slice(0, 300)}` : null;
        if (r.code === 0 || problem) t.result(problem, () => `tinynn ${args.join(' ')}`);
        else t.thrown(new Error(r.stderr), () => `tinynn ${args.join(' ')}`);
      }));
      // Two at a time (this machine has two cores).
      if (pending.length >= 2) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    expectClean(t);
  });
});
