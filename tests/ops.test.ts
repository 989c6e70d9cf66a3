// The fused CPU kernels against float64 JavaScript references.
import { describe, expect, it } from 'vitest';
import { tensor } from '../dist/index.js';
import { native } from '../dist/native.js';
import { linearRef, maxAbsErr, maxRelErr, randomArray, softmaxXentRef } from './helpers/reference';

const cpu = (data: Float32Array | Int32Array | Uint8Array, shape: number[]) => new native.Tensor(data, shape, 'cpu');

describe('linear (GEMM + bias + ReLU epilogue)', () => {
  for (const [B, inF, outF] of [[1, 7, 3], [33, 129, 10], [64, 784, 128], [7, 785, 33]]) {
    for (const relu of [false, true]) {
      it(`[${B},${inF}]·[${outF},${inF}]ᵀ relu=${relu}`, () => {
        const x = randomArray(B * inF, 1), w = randomArray(outF * inF, 2), b = randomArray(outF, 3);
        const y = native.ops.linear(cpu(x, [B, inF]), cpu(w, [outF, inF]), cpu(b, [outF]), relu).toArray();
        const ref = linearRef(x, w, b, B, inF, outF, relu);
        // Error bound scaled by the sum of |products| of a row (fp32 accumulation over inF terms).
        expect(maxAbsErr(y, ref) / Math.sqrt(inF)).toBeLessThan(1e-5);
        if (relu) expect(Array.from(y).every((v) => v >= 0)).toBe(true);
      });
    }
  }
});

describe('reluBackward and biasGrad', () => {
  it('passes the gradient where the output is positive', () => {
    const y = randomArray(257, 4), dy = randomArray(257, 5);
    const dx = native.ops.reluBackward(cpu(dy, [257]), cpu(y, [257])).toArray();
    y.forEach((v, i) => expect(dx[i]).toBe(v > 0 ? dy[i] : 0));
  });
  it('sums columns, and accumulates', () => {
    const [R, C] = [65, 129];
    const dy = randomArray(R * C, 6);
    const db = cpu(new Float32Array(C).fill(2), [C]);
    native.ops.biasGrad(cpu(dy, [R, C]), db, true);
    const ref = new Float64Array(C).fill(2);
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) ref[c] += dy[r * C + c];
    expect(maxAbsErr(db.toArray(), ref)).toBeLessThan(1e-5);
    native.ops.biasGrad(cpu(dy, [R, C]), db, false);
    expect(maxAbsErr(db.toArray(), ref.map((v) => v - 2))).toBeLessThan(1e-5);
  });
});

describe('softmax cross-entropy', () => {
  const check = (logits: Float32Array, labels: Int32Array, B: number, C: number) => {
    const raw = native.ops.softmaxCrossEntropy(cpu(logits, [B, C]), cpu(labels, [B]), true);
    expect(raw.loss.shape).toEqual([]);
    expect(raw.correct).toBeNull();
    const out = { loss: raw.loss.toArray()[0], dlogits: raw.dlogits };
    const ref = softmaxXentRef(logits, labels, B, C);
    expect(Math.abs(out.loss - ref.loss) / Math.max(1, Math.abs(ref.loss))).toBeLessThan(1e-6);
    expect(maxAbsErr(out.dlogits!.toArray(), ref.dlogits)).toBeLessThan(1e-7);
    return out;
  };
  it('matches float64 on random logits', () => {
    const [B, C] = [37, 10];
    const labels = Int32Array.from({ length: B }, (_, i) => (i * 7) % C);
    check(randomArray(B * C, 7, -5, 5), labels, B, C);
  });
  it('stays finite and exact for logits of ±1e4', () => {
    const [B, C] = [4, 10];
    const logits = new Float32Array(B * C);
    for (let i = 0; i < B * C; i++) logits[i] = (i % 3 === 0 ? 1e4 : -1e4) * (i % 2 ? 1 : -1);
    const labels = Int32Array.from([0, 3, 5, 9]);
    const out = check(logits, labels, B, C);
    expect(Number.isFinite(out.loss)).toBe(true);
  });
  it('gives log(C) for equal logits, and dlogits = (1/C − onehot)/B', () => {
    const [B, C] = [3, 10];
    const out = check(new Float32Array(B * C).fill(42), Int32Array.from([1, 2, 3]), B, C);
    expect(out.loss).toBeCloseTo(Math.log(10), 6);
    expect(out.dlogits!.toArray()[0]).toBeCloseTo(0.1 / 3, 7);
  });
  it('counts correct predictions on the device when asked', () => {
    const logits = Float32Array.from([0, 5, 1, 9, 0, 0]);
    const out = native.ops.softmaxCrossEntropy(cpu(logits, [2, 3]), cpu(Int32Array.from([1, 2]), [2]), false, true);
    expect(out.correct!.dtype).toBe('int32');
    expect(out.correct!.shape).toEqual([]);
    expect(out.correct!.toArray()[0]).toBe(1);
    expect(out.dlogits).toBeNull();
  });
});

describe('softmax, argmax, gatherBatch', () => {
  it('softmax rows sum to one and match float64', () => {
    const x = randomArray(5 * 11, 8, -20, 20);
    const p = native.ops.softmax(cpu(x, [5, 11])).toArray();
    for (let r = 0; r < 5; r++) {
      const row = Array.from(x.subarray(r * 11, r * 11 + 11));
      const mx = Math.max(...row);
      const e = row.map((v) => Math.exp(v - mx));
      const s = e.reduce((a, b) => a + b);
      expect(maxRelErr(p.subarray(r * 11, r * 11 + 11), e.map((v) => v / s), 1e-12)).toBeLessThan(1e-5);
    }
  });
  it('argmax takes the first maximum', () => {
    const t = tensor([[1, 3, 3], [-1, -2, -0.5]]);
    expect(Array.from(t.argmax().toArray())).toEqual([1, 2]);
  });
  it('gathers rows by index as u8·scale + shift', () => {
    const images = Uint8Array.from({ length: 4 * 3 }, (_, i) => i * 20);
    const labels = Uint8Array.from([3, 1, 4, 1]);
    const { x, y } = native.ops.gatherBatch(cpu(images, [4, 3]), cpu(labels, [4]), Int32Array.from([2, 0]), 0.5, -1);
    expect(Array.from(x.toArray())).toEqual([59, 69, 79, -1, 9, 19]);
    expect(Array.from(y.toArray())).toEqual([4, 3]);
  });
});
