// safetensors codec, atomic writes and save/load. References: the file PyTorch's safetensors wrote
// (tests/fixtures/parity/init.safetensors), the Python safetensors reader when the venv is there,
// headers built by hand for the corrupted cases, and a plain-object model for save/load.
import { describe, it, expect, beforeAll, afterAll, afterEach, vi } from 'vitest';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync, spawn } from 'child_process';
import { encodeSafetensors, decodeSafetensors, float32Data } from '../dist/io/safetensors';
import { writeFileAtomic } from '../dist/io/atomic-write';
import { save, load } from '../dist/io/save-load';

const ROOT = path.join(__dirname, '..');
const INIT_FILE = path.join(ROOT, 'tests', 'fixtures', 'parity', 'init.safetensors');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-st-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

/** A safetensors file from a header object and a data section, built without the codec. */
function handMade(header: unknown, data: Uint8Array = new Uint8Array(), headerText?: string): Uint8Array {
  const json = Buffer.from(headerText ?? JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('encodeSafetensors / decodeSafetensors', () => {
  it('round-trips names, order, shapes, values and metadata', () => {
    const tensors = {
      '0.weight': { shape: [3, 5], data: random(15, 1) },
      '0.bias': { shape: [3], data: random(3, 2) },
      scalar: { shape: [], data: Float32Array.of(Math.PI) },
      empty: { shape: [0, 4], data: new Float32Array() },
    };
    const bytes = encodeSafetensors(tensors, { format: 'pt', note: 'x' });
    const decoded = decodeSafetensors(bytes, 'mem');
    expect([...decoded.tensors.keys()].sort()).toEqual(Object.keys(tensors).sort());
    expect(decoded.metadata).toEqual({ format: 'pt', note: 'x' });
    for (const [name, { shape, data }] of Object.entries(tensors)) {
      const tensor = decoded.tensors.get(name)!;
      expect(tensor.dtype).toBe('F32');
      expect(tensor.shape).toEqual(shape);
      expect(Array.from(float32Data(tensor, name))).toEqual(Array.from(data));
    }
  });

  it('writes the layout the format defines: u64 LE header length, header padded to 8, LE floats', () => {
    const bytes = Buffer.from(encodeSafetensors({ a: { shape: [2], data: Float32Array.of(1.5, -2) } }));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString());
    expect(header).toEqual({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(bytes.readFloatLE(8 + headerLength)).toBe(1.5);
    expect(bytes.readFloatLE(12 + headerLength)).toBe(-2);
    expect(bytes.length).toBe(16 + headerLength);
  });

  it('refuses to encode a shape that does not match the data, or a reserved name', () => {
    expect(() => encodeSafetensors({ a: { shape: [2, 2], data: new Float32Array(3) } }))
      .toThrow(/shape \[2, 2\] needs 4 elements, got 3/);
    expect(() => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(TypeError);
    expect(() => encodeSafetensors({ a: { shape: [1], data: new Float64Array(1) as unknown as Float32Array } }))
      .toThrow(/Float32Array/);
  });

  it('decodes the file PyTorch wrote to the nn.Sequential state_dict names and shapes', () => {
    const { tensors } = decodeSafetensors(fs.readFileSync(INIT_FILE), INIT_FILE);
    const shapes = Object.fromEntries([...tensors].map(([name, t]) => [name, [t.dtype, t.shape]]));
    expect(shapes).toEqual({
      '0.weight': ['F32', [128, 784]], '0.bias': ['F32', [128]],
      '2.weight': ['F32', [10, 128]], '2.bias': ['F32', [10]],
    });
    // PyTorch's default Linear init draws from U(-1/sqrt(in), 1/sqrt(in)).
    for (const [name, fanIn] of [['0.weight', 784], ['0.bias', 784], ['2.weight', 128], ['2.bias', 128]] as const) {
      const data = float32Data(tensors.get(name)!, name);
      const bound = 1 / Math.sqrt(fanIn);
      const largest = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(largest).toBeLessThanOrEqual(bound);
      // With over a thousand draws the largest lies close to the bound.
      if (data.length > 1000) expect(largest).toBeGreaterThan(0.99 * bound);
    }
  });

  it.skipIf(!fs.existsSync(PYTHON))('writes files the Python safetensors reader loads with the same values', () => {
    const data = random(12, 7);
    const file = path.join(dir, 'for-python.safetensors');
    fs.writeFileSync(file, encodeSafetensors({ w: { shape: [3, 4], data }, b: { shape: [2], data: Float32Array.of(1, 2) } }));
    const script = 'import sys, json; from safetensors.numpy import load_file; t = load_file(sys.argv[1]); ' +
      'print(json.dumps({k: [list(v.shape), str(v.dtype), [float(x) for x in v.ravel()]] for k, v in t.items()}))';
    const result = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const loaded = JSON.parse(result.stdout);
    expect(loaded.w[0]).toEqual([3, 4]);
    expect(loaded.w[1]).toBe('float32');
    expect(loaded.w[2]).toEqual(Array.from(data));
    expect(loaded.b[2]).toEqual([1, 2]);
  });
});

describe('decodeSafetensors on corrupted files', () => {
  const valid = () => Buffer.from(encodeSafetensors({ a: { shape: [2, 2], data: random(4, 3) }, b: { shape: [3], data: random(3, 4) } }));

  function decodeError(bytes: Uint8Array): Error {
    try {
      decodeSafetensors(bytes, 'model.safetensors');
    } catch (err) {
      expect((err as Error).message).toMatch(/^model\.safetensors: not a valid safetensors file: /);
      return err as Error;
    }
    throw new Error('expected decodeSafetensors to throw');
  }

  it('rejects a file shorter than the length field', () => {
    expect(decodeError(new Uint8Array(5)).message).toMatch(/expected at least 8 bytes \(the header length\), found 5/);
  });

  it('rejects a truncated file', () => {
    const bytes = valid();
    const err = decodeError(bytes.subarray(0, bytes.length - 1));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toMatch(/lie outside the 27 data bytes/);
  });

  it('rejects a file cut inside the header', () => {
    expect(decodeError(valid().subarray(0, 20)).message).toMatch(/header length \d+ exceeds the 12 bytes after the length field/);
  });

  it('rejects a header length beyond the file, including absurd ones', () => {
    const bytes = valid();
    bytes.writeBigUInt64LE(2n ** 63n, 0);
    expect(decodeError(bytes)).toBeInstanceOf(RangeError);
    expect(decodeError(bytes).message).toMatch(/header length 9223372036854775808 exceeds/);
  });

  it('rejects a header that is not JSON', () => {
    const err = decodeError(handMade(null, new Uint8Array(), '{"a": {"dtype": "F32",'));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(/header is not valid UTF-8 JSON/);
    expect(decodeError(handMade(null, new Uint8Array(), 'not json')).message).toMatch(/JSON object starting with '\{'/);
  });

  it('rejects a header whose bytes are not UTF-8', () => {
    const bytes = handMade(null, new Uint8Array(), '{"a":1}');
    bytes[13] = 0xff;
    expect(decodeError(bytes).message).toMatch(/not valid UTF-8 JSON/);
  });

  it('rejects a header that is a JSON array or has entries of the wrong shape', () => {
    expect(decodeError(handMade(null, new Uint8Array(), '{}[]')).message).toMatch(/not valid UTF-8 JSON/);
    expect(decodeError(handMade({ a: 3 })).message).toMatch(/expected tensor 'a' to be an object/);
    expect(decodeError(handMade({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } })).message)
      .toMatch(/shape to be an array of non-negative integers, got \[-1\]/);
    expect(decodeError(handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4))).message)
      .toMatch(/data_offsets to be \[begin, end\] integers, got \[0\]/);
    expect(decodeError(handMade({ __metadata__: { n: 1 } })).message).toMatch(/__metadata__\.n to be a string, got number/);
  });

  it('rejects an unknown dtype, naming it and the known ones', () => {
    const err = decodeError(handMade({ a: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(/tensor 'a' has unknown dtype "F33" \(expected one of .*F32.*\)/);
  });

  it('rejects a dtype whose size does not match the span', () => {
    const err = decodeError(handMade({ a: { dtype: 'F64', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)));
    expect(err.message).toMatch(/tensor 'a' \(F64 \[2\]\) needs 16 bytes, its data_offsets \[0, 8\] span 8/);
  });

  it('rejects offsets out of range, overlapping, with gaps, or leaving bytes over', () => {
    const f32 = (begin: number, end: number, n: number) => ({ dtype: 'F32', shape: [n], data_offsets: [begin, end] });
    expect(decodeError(handMade({ a: f32(0, 8, 2) }, new Uint8Array(4))).message).toMatch(/\[0, 8\] lie outside the 4 data bytes/);
    expect(decodeError(handMade({ a: f32(4, 0, 1) }, new Uint8Array(4))).message).toMatch(/lie outside/);
    expect(decodeError(handMade({ a: f32(0, 8, 2), b: f32(4, 12, 2) }, new Uint8Array(12))).message)
      .toMatch(/tensor 'b' data_offsets \[4, 12\] overlap the previous tensor \(which ends at 8\)/);
    expect(decodeError(handMade({ a: f32(0, 4, 1), b: f32(8, 12, 1) }, new Uint8Array(12))).message)
      .toMatch(/gap before tensor 'b'/);
    expect(decodeError(handMade({ a: f32(0, 4, 1) }, new Uint8Array(8))).message)
      .toMatch(/the tensors cover 4 data bytes but the file holds 8/);
  });

  it('float32Data refuses other dtypes', () => {
    const { tensors } = decodeSafetensors(handMade({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'x');
    expect(() => float32Data(tensors.get('a')!, "tensor 'a'")).toThrow(/tensor 'a': expected dtype F32, found F64/);
  });
});

describe('writeFileAtomic', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const leftovers = (d: string) => fs.readdirSync(d).filter((f) => f.endsWith('.tmp'));

  it('creates and replaces a file, leaving no temp file', async () => {
    const d = fs.mkdtempSync(path.join(dir, 'atomic-'));
    const target = path.join(d, 'out.bin');
    await writeFileAtomic(target, Uint8Array.of(1, 2, 3));
    await writeFileAtomic(target, Uint8Array.of(4, 5));
    expect(Array.from(fs.readFileSync(target))).toEqual([4, 5]);
    expect(leftovers(d)).toEqual([]);
  });

  it('leaves the old file and no temp file when the final rename fails', async () => {
    const d = fs.mkdtempSync(path.join(dir, 'atomic-'));
    const target = path.join(d, 'out.bin');
    fs.writeFileSync(target, 'old');
    vi.spyOn(fs.promises, 'rename').mockRejectedValueOnce(Object.assign(new Error('EIO: simulated'), { code: 'EIO' }));
    await expect(writeFileAtomic(target, Uint8Array.of(9, 9, 9, 9))).rejects.toThrow(/simulated/);
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    expect(leftovers(d)).toEqual([]);
  });

  it('rejects a missing directory without creating anything', async () => {
    const target = path.join(dir, 'no-such-dir', 'out.bin');
    await expect(writeFileAtomic(target, Uint8Array.of(1))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(fs.existsSync(target)).toBe(false);
  });

  it('never shows a partial file under the final name when the writer is killed mid-write', async () => {
    const d = fs.mkdtempSync(path.join(dir, 'atomic-'));
    const target = path.join(d, 'big.bin');
    fs.writeFileSync(target, 'old');
    const size = 256 * 1024 * 1024;
    const modulePath = path.join(ROOT, 'dist', 'io', 'atomic-write.js');
    const child = spawn(process.execPath, ['-e',
      `require(${JSON.stringify(modulePath)}).writeFileAtomic(${JSON.stringify(target)}, new Uint8Array(${size}).fill(7))`]);
    // Kill as soon as the temp file appears (or when the child ends on its own).
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let killed = false;
    while (child.exitCode === null && !killed) {
      if (leftovers(d).length > 0) {
        child.kill('SIGKILL');
        killed = true;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await exited;
    const contents = fs.readFileSync(target);
    // Either the old file or the complete new one; never a prefix.
    if (contents.length !== 3) {
      expect(contents.length).toBe(size);
    } else {
      expect(contents.toString()).toBe('old');
    }
  }, 20_000);
});

describe('save / load', () => {
  interface FakeTensor { shape: number[]; dtype: string; data: Float32Array; toArray(): Float32Array }

  /** A model with the state_dict of nn.Sequential(Linear(in, hidden), ReLU(), Linear(hidden, out)). */
  function fakeModel(inputs: number, hidden: number, outputs: number, seed: number) {
    const tensor = (shape: number[], s: number): FakeTensor => {
      const data = random(shape.reduce((a, b) => a * b, 1), s);
      return { shape, dtype: 'float32', data, toArray: () => data.slice() };
    };
    const state: Record<string, FakeTensor> = {
      '0.weight': tensor([hidden, inputs], seed), '0.bias': tensor([hidden], seed + 1),
      '2.weight': tensor([outputs, hidden], seed + 2), '2.bias': tensor([outputs], seed + 3),
    };
    const loadStateDict = vi.fn((incoming: Record<string, { shape: number[]; data: Float32Array }>) => {
      for (const [name, { data }] of Object.entries(incoming)) state[name].data.set(data);
    });
    return { state, stateDict: () => state, loadStateDict };
  }

  it('round-trips every parameter exactly', async () => {
    const file = path.join(dir, 'roundtrip.safetensors');
    const source = fakeModel(6, 4, 3, 10);
    const target = fakeModel(6, 4, 3, 20);
    await save(source, file);
    await load(target, file);
    for (const name of Object.keys(source.state)) {
      expect(Array.from(target.state[name].data)).toEqual(Array.from(source.state[name].data));
    }
    expect(decodeSafetensors(fs.readFileSync(file), file).metadata).toEqual({ format: 'pt' });
  });

  it('loads the PyTorch-written init weights into a 784-128-10 model', async () => {
    const model = fakeModel(784, 128, 10, 1);
    await load(model, INIT_FILE);
    expect(model.loadStateDict).toHaveBeenCalledOnce();
    const { tensors } = decodeSafetensors(fs.readFileSync(INIT_FILE), INIT_FILE);
    expect(Array.from(model.state['2.bias'].data)).toEqual(Array.from(float32Data(tensors.get('2.bias')!, '2.bias')));
  });

  it('refuses a file with a missing tensor, naming the file and tensor, changing nothing', async () => {
    const file = path.join(dir, 'missing.safetensors');
    const { state } = fakeModel(6, 4, 3, 1);
    fs.writeFileSync(file, encodeSafetensors({ '0.weight': state['0.weight'], '0.bias': state['0.bias'], '2.weight': state['2.weight'] }));
    const model = fakeModel(6, 4, 3, 2);
    await expect(load(model, file)).rejects.toThrow(`${file} does not fit the model: missing tensor '2.bias' (shape [3])`);
    expect(model.loadStateDict).not.toHaveBeenCalled();
  });

  it('refuses shape mismatches and unexpected tensors, listing each', async () => {
    const file = path.join(dir, 'mismatch.safetensors');
    await save(fakeModel(6, 4, 3, 1), file);
    const model = fakeModel(6, 4, 2, 2);
    const err = await load(model, file).catch((e: unknown) => e as Error);
    expect(err.message).toContain(`tensor '2.weight': shape [2,4] expected, [3,4] found`);
    expect(err.message).toContain(`tensor '2.bias': shape [2] expected, [3] found`);
    expect(model.loadStateDict).not.toHaveBeenCalled();

    const extra = path.join(dir, 'extra.safetensors');
    const { state } = fakeModel(6, 4, 3, 1);
    fs.writeFileSync(extra, encodeSafetensors({ ...state, '4.weight': { shape: [1], data: new Float32Array(1) } }));
    await expect(load(fakeModel(6, 4, 3, 3), extra)).rejects.toThrow(/unexpected tensor '4\.weight'/);
  });

  it('refuses tensors of another dtype', async () => {
    const file = path.join(dir, 'f64.safetensors');
    fs.writeFileSync(file, handMade({ '0.weight': { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)));
    const model = { stateDict: () => ({ '0.weight': { shape: [1], dtype: 'float32', toArray: () => new Float32Array(1) } }), loadStateDict: vi.fn() };
    await expect(load(model, file)).rejects.toThrow(/tensor '0\.weight' has dtype F64, expected F32/);
    expect(model.loadStateDict).not.toHaveBeenCalled();
  });

  it('refuses corrupted files with the decoder error, changing nothing', async () => {
    const file = path.join(dir, 'corrupt.safetensors');
    await save(fakeModel(6, 4, 3, 1), file);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    const model = fakeModel(6, 4, 3, 2);
    await expect(load(model, file)).rejects.toThrow(`${file}: not a valid safetensors file`);
    expect(model.loadStateDict).not.toHaveBeenCalled();
  });

  it('names the file when the model itself refuses the state', async () => {
    const file = path.join(dir, 'refused.safetensors');
    await save(fakeModel(6, 4, 3, 1), file);
    const model = fakeModel(6, 4, 3, 2);
    model.loadStateDict.mockImplementationOnce(() => { throw new RangeError('model is training'); });
    const err = await load(model, file).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe(`${file}: model is training`);
  });

  it('passes on the file system error for a missing file', async () => {
    await expect(load(fakeModel(1, 1, 1, 1), path.join(dir, 'absent.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to save non-float32 parameters', async () => {
    const model = { stateDict: () => ({ w: { shape: [1], dtype: 'int32', toArray: () => Int32Array.of(1) } }) };
    await expect(save(model, path.join(dir, 'int.safetensors'))).rejects.toThrow(/expected parameter 'w' to be float32, got int32/);
  });
});
