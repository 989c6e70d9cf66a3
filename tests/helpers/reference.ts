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

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * erfc(x) for x >= 3 by its continued fraction
 * erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated bottom-up
 * (120 levels: converged to double precision for x >= 3).
 */
function erfcLarge(x: number): number {
  let f = x;
  for (let k = 120; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / SQRT_PI / f;
}

/**
 * erf(x) in double precision: for |x| < 3 the series erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))
 * (all terms positive: no cancellation); beyond, 1 − erfc(|x|) from the continued fraction.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  let r: number;
  if (ax < 3) {
    const x2 = ax * ax;
    let term = ax, sum = ax;
    for (let n = 1; n < 500; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    r = (2 / SQRT_PI) * Math.exp(-x2) * sum;
  } else {
    r = 1 - erfcLarge(ax);
  }
  return x < 0 ? -r : r;
}

/** erfc(x) without cancellation for large positive x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 3) return erfcLarge(x);
  if (x <= -3) return 2 - erfcLarge(-x);
  return 1 - erf(x);
}

/** The standard normal CDF Φ and density φ. */
export const Phi = (x: number) => 0.5 * erfc(-x / Math.SQRT2);
export const phi = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

/** Central differences of f at x, in float64. */
export function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-6): Float64Array {
  const at = Float64Array.from(x);
  return Float64Array.from(at, (v, i) => {
    at[i] = v + h;
    const up = f(at);
    at[i] = v - h;
    const down = f(at);
    at[i] = v;
    return (up - down) / (2 * h);
  });
}

/** max |a − b| / max(|b|_∞, floor): the error relative to the reference's scale. */
export function scaledErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  if (a.length !== b.length) throw new RangeError(`scaledErr: ${a.length} values against ${b.length}`);
  let worst = 0, scale = floor;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}
