// Float64 reference math for the tests: independent of the native code under test.

/** A deterministic float generator for test data (mulberry32), uniform in [lo, hi). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/** y[B, out] = x[B, in]·Wᵀ + b in float64, then ReLU when relu. */
export function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, B: number, inF: number,
  outF: number, relu: boolean): Float64Array {
  const y = new Float64Array(B * outF);
  for (let r = 0; r < B; r++) {
    for (let o = 0; o < outF; o++) {
      let acc = b ? b[o] : 0;
      for (let k = 0; k < inF; k++) acc += x[r * inF + k] * w[o * inF + k];
      y[r * outF + o] = relu ? Math.max(acc, 0) : acc;
    }
  }
  return y;
}

/** Mean softmax cross-entropy and its gradient in float64. */
export function softmaxXentRef(logits: ArrayLike<number>, labels: ArrayLike<number>, B: number, C: number): { loss: number; dlogits: Float64Array } {
  const d = new Float64Array(B * C);
  let loss = 0;
  for (let r = 0; r < B; r++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, logits[r * C + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logits[r * C + c] - mx);
    loss += Math.log(sum) - (logits[r * C + labels[r]] - mx);
    for (let c = 0; c < C; c++) d[r * C + c] = (Math.exp(logits[r * C + c] - mx) / sum - (c === labels[r] ? 1 : 0)) / B;
  }
  return { loss: loss / B, dlogits: d };
}

/** max |a − b| / max(|b|, floor). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return worst;
}

/** max |a − b| / scale. */
export function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
