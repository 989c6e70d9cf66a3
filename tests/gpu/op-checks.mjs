// Every CUDA primitive of the raw addon against the CPU backend, on fresh random inputs of odd
// sizes, and the error paths. Shared by tests/gpu/check-ops.mjs (plain node, on a GPU machine) and
// tests/cuda.test.ts (vitest, skipped without a GPU). Needs nothing but the addon: no node_modules.
// The training-step executors (composed and fused, through native.Driver) are checked in
// tests/gpu/step-checks.mjs.
//
// Agreement: max |cuda − cpu| / max |cpu| over a tensor ≤ 1e-4 (fp32 on both sides; the CPU backend
// is the reference); selections (relu, max/min, comparisons, gathers) exactly. Outputs the op
// writes are poisoned with NaN first on the device, so a kernel that skips an element (or reads C
// when beta = 0) shows up.

export const TOLERANCE = 1e-4;
export const SIZES = [1, 7, 33, 129, 785];

/** A seeded uniform generator (mulberry32); a fresh seed per run gives fresh inputs. */
export function makeRandom(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    /** Restarts the sequence from `seed2` (check-ops.mjs: each check's inputs from its name). */
    reseed(seed2) {
      s = seed2 >>> 0;
    },
    floats(n, lo = -1, hi = 1) {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * next();
      return a;
    },
    ints(n, hi) {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(next() * hi);
      return a;
    },
    bytes(n) {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(next() * 256);
      return a;
    },
    pick(list) {
      return list[Math.floor(next() * list.length)];
    },
  };
}

/** max |a − b| / max |b| (b the reference); 0 when both are all zero. NaN anywhere → Infinity. */
export function relError(a, b) {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
    if (Number.isNaN(x)) continue;
    diff = Math.max(diff, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(y));
  }
  if (diff === 0) return 0;
  return scale === 0 ? Infinity : diff / scale;
}

/**
 * Outputs that may hold NaN or infinities (special inputs): those positions must match exactly
 * (NaN for NaN, the same infinity), the finite rest within `tol` of max |finite b|.
 */
export function compareSpecial(a, b, tol = TOLERANCE) {
  if (a.length !== b.length) return { ok: false, err: Infinity, detail: `lengths ${a.length} vs ${b.length}` };
  const fa = [], fb = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (Number.isFinite(y) && Number.isFinite(x)) {
      fa.push(x);
      fb.push(y);
    } else if (!(Number.isNaN(x) && Number.isNaN(y)) && x !== y) {
      return { ok: false, err: Infinity, detail: `element ${i}: ${x} vs ${y} (cpu)` };
    }
  }
  const err = relError(fa, fb);
  return { ok: err <= tol, err, detail: `NaN/inf positions equal; finite rel err ${err.toExponential(2)} (tol ${tol})` };
}

/** The numpy broadcast of two shapes (null when they do not broadcast). */
export function broadcastShape(a, b) {
  const rank = Math.max(a.length, b.length);
  const out = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1, y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/**
 * One torch.optim.SGD update in float64, in place: p, m (momentum buffer) Float64Arrays, g the
 * gradient, step the parameter's 1-based count (step 1 sets the buffer to the gradient).
 */
export function sgdReference(p, g, m, o, step) {
  for (let i = 0; i < p.length; i++) {
    let d = g[i] + o.weightDecay * p[i];
    if (o.momentum !== 0) {
      m[i] = step === 1 ? d : o.momentum * m[i] + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * m[i] : m[i];
    }
    p[i] -= o.lr * d;
  }
}

export function firstMismatch(a, b) {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/**
 * The checks, as [name, fn] pairs. Each fn returns { ok, err?, detail? } and may throw (a thrown
 * error is a failed check). `native` is the addon; `rnd` a generator from makeRandom; `device` the
 * device under test ('cuda', or 'cpu' to dry-run the checks themselves where there is no GPU).
 */
export function opChecks(native, rnd, device = 'cuda') {
  const { Tensor, ops } = native;
  const live = [];
  const track = (t) => (live.push(t), t);
  // A 0-d result tensor (a loss, a count) as a number; the tensor is freed with the others.
  const scalarOf = (t) => (t === null ? null : track(t).toArray()[0]);
  // Tensors are keyed 'cpu' (the reference) and 'cuda' (the device under test).
  const on = (dev, data, shape) => track(new Tensor(data, shape, dev === 'cuda' ? device : dev));
  const both = (data, shape) => ({ cpu: on('cpu', data, shape), cuda: on('cuda', data, shape) });
  const nan = (n) => new Float32Array(n).fill(NaN);
  const disposeAll = () => { while (live.length) live.pop().dispose(); };
  // Fills freed device memory with NaN so that a fresh output buffer (often the same memory)
  // starts poisoned too.
  const poisonPool = (n) => on('cuda', nan(n), [n]).dispose();
  const compare = (label, a, b, tol = TOLERANCE) => {
    const err = relError(a, b);
    return { ok: err <= tol, err, detail: `${label}: rel err ${err.toExponential(2)} (tol ${tol})` };
  };
  const all = (...results) => {
    const bad = results.find((r) => !r.ok);
    const err = Math.max(...results.map((r) => r.err ?? 0));
    return { ok: !bad, err, detail: (bad ?? results[0]).detail };
  };
  // Both results have the same shape (and `want`, when given).
  const sameShape = (r, want = null) => {
    const s = { cpu: r.cpu.shape.join(','), cuda: r.cuda.shape.join(',') };
    const ok = s.cpu === s.cuda && (want === null || s.cpu === want.join(','));
    return { ok, err: 0, detail: `shape [${s.cuda}] vs [${s.cpu}]${want ? ` (want [${want}])` : ''}` };
  };
  const checks = [];
  const add = (name, fn) => checks.push([name, () => { try { return fn(); } finally { disposeAll(); } }]);

  // GEMM: all four transpose combinations over odd sizes, beta 0 over a NaN-poisoned C, and an
  // accumulation (alpha ≠ 1, beta ≠ 0).
  const triples = [[1, 1, 1], [1, 7, 33], [7, 33, 129], [33, 129, 785], [129, 785, 1], [785, 1, 7],
    [785, 129, 33], [64, 128, 784], [64, 10, 128], [512, 784, 128]];
  for (let i = 0; i < 4; i++) triples.push([rnd.pick(SIZES), rnd.pick(SIZES), rnd.pick(SIZES)]);
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
    for (const [M, N, K] of triples) {
      for (const [alpha, beta] of [[1, 0], [0.5, -1.5]]) {
        add(`gemm ta=${+ta} tb=${+tb} M=${M} N=${N} K=${K} alpha=${alpha} beta=${beta}`, () => {
          const a = both(rnd.floats(M * K), ta ? [K, M] : [M, K]);
          const b = both(rnd.floats(K * N), tb ? [N, K] : [K, N]);
          const c0 = rnd.floats(M * N);
          const c = { cpu: on('cpu', c0, [M, N]), cuda: on('cuda', beta === 0 ? nan(M * N) : c0, [M, N]) };
          for (const d of ['cpu', 'cuda']) ops.gemm(a[d], b[d], c[d], ta, tb, alpha, beta);
          return compare('C', c.cuda.toArray(), c.cpu.toArray());
        });
      }
    }
  }

  // linear (GEMM + bias + ReLU epilogue) and its backward.
  const linearShapes = [[1, 1, 1], [7, 33, 129], [33, 785, 7], [129, 7, 33], [64, 784, 128], [64, 128, 10], [512, 784, 128]];
  for (const [B, inF, outF] of linearShapes) {
    for (const [withBias, relu] of [[true, true], [true, false], [false, true]]) {
      add(`linear B=${B} in=${inF} out=${outF} bias=${+withBias} relu=${+relu}`, () => {
        const x = both(rnd.floats(B * inF), [B, inF]);
        const w = both(rnd.floats(outF * inF), [outF, inF]);
        const b = withBias ? both(rnd.floats(outF), [outF]) : { cpu: null, cuda: null };
        poisonPool(B * outF);
        const y = {};
        for (const d of ['cpu', 'cuda']) y[d] = track(ops.linear(x[d], w[d], b[d], relu));
        return compare('y', y.cuda.toArray(), y.cpu.toArray());
      });
    }
    for (const accumulate of [false, true]) {
      add(`linearBackward B=${B} in=${inF} out=${outF} accumulate=${+accumulate}`, () => {
        const x = both(rnd.floats(B * inF), [B, inF]);
        const w = both(rnd.floats(outF * inF), [outF, inF]);
        const dy = both(rnd.floats(B * outF), [B, outF]);
        const dw0 = rnd.floats(outF * inF), db0 = rnd.floats(outF);
        const dw = { cpu: on('cpu', dw0, [outF, inF]), cuda: on('cuda', accumulate ? dw0 : nan(outF * inF), [outF, inF]) };
        const db = { cpu: on('cpu', db0, [outF]), cuda: on('cuda', accumulate ? db0 : nan(outF), [outF]) };
        poisonPool(B * inF);
        const dx = {};
        for (const d of ['cpu', 'cuda']) dx[d] = track(ops.linearBackward(x[d], w[d], dy[d], dw[d], db[d], accumulate, true));
        return all(compare('dW', dw.cuda.toArray(), dw.cpu.toArray()), compare('db', db.cuda.toArray(), db.cpu.toArray()),
          compare('dx', dx.cuda.toArray(), dx.cpu.toArray()));
      });
    }
  }

  for (const n of [1, 7, 33, 129, 785, 100_003]) {
    add(`reluBackward n=${n}`, () => {
      const dy = both(rnd.floats(n), [n]);
      const y = both(rnd.floats(n), [n]);
      poisonPool(n);
      const dx = { cpu: track(ops.reluBackward(dy.cpu, y.cpu)), cuda: track(ops.reluBackward(dy.cuda, y.cuda)) };
      return compare('dx', dx.cuda.toArray(), dx.cpu.toArray(), 0);
    });
    add(`addInPlace n=${n}`, () => {
      const y = both(rnd.floats(n), [n]);
      const x = both(rnd.floats(n), [n]);
      ops.addInPlace(y.cpu, x.cpu);
      ops.addInPlace(y.cuda, x.cuda);
      return compare('y', y.cuda.toArray(), y.cpu.toArray(), 0);
    });
  }

  for (const rows of [1, 7, 33, 129, 785, 4097]) {
    for (const cols of [1, 10, 33, 129, 785]) {
      for (const accumulate of [false, true]) {
        add(`biasGrad rows=${rows} cols=${cols} accumulate=${+accumulate}`, () => {
          const dy = both(rnd.floats(rows * cols), [rows, cols]);
          const db0 = rnd.floats(cols);
          const db = { cpu: on('cpu', db0, [cols]), cuda: on('cuda', accumulate ? db0 : nan(cols), [cols]) };
          for (const d of ['cpu', 'cuda']) ops.biasGrad(dy[d], db[d], accumulate);
          return compare('db', db.cuda.toArray(), db.cpu.toArray());
        });
      }
    }
  }

  // Softmax cross-entropy, softmax and argmax, on random logits and on the hard cases: huge logits
  // (±1e4, where an unshifted exp overflows) and rows of equal logits (ties).
  const logitCases = [];
  for (const rows of [1, 7, 33, 129, 785, 8193]) for (const cols of [1, 7, 10, 33, 129]) logitCases.push([rows, cols, 'random']);
  logitCases.push([64, 10, 'huge'], [33, 7, 'equal'], [129, 10, 'ties']);
  const makeLogits = (rows, cols, kind) => {
    if (kind === 'huge') return rnd.floats(rows * cols, -1e4, 1e4);
    if (kind === 'equal') return new Float32Array(rows * cols).fill(3.25);
    if (kind === 'ties') {
      const x = rnd.floats(rows * cols, -1, 1);
      for (let r = 0; r < rows; r++) { x[r * cols + 3] = 2; x[r * cols + 7] = 2; }
      return x;
    }
    return rnd.floats(rows * cols, -8, 8);
  };
  for (const [rows, cols, kind] of logitCases) {
    const shape = `rows=${rows} cols=${cols}${kind === 'random' ? '' : ` (${kind} logits)`}`;
    add(`softmaxCrossEntropy ${shape}`, () => {
      const logits = both(makeLogits(rows, cols, kind), [rows, cols]);
      const labels = both(rnd.ints(rows, cols), [rows]);
      poisonPool(rows * cols);
      const r = {};
      for (const d of ['cpu', 'cuda']) {
        const out = ops.softmaxCrossEntropy(logits[d], labels[d], true, true);
        track(out.dlogits);
        r[d] = { loss: scalarOf(out.loss), correct: scalarOf(out.correct), dlogits: out.dlogits };
      }
      const loss = Math.abs(r.cuda.loss - r.cpu.loss) / Math.max(Math.abs(r.cpu.loss), 1e-6);
      const lossCheck = { ok: loss <= TOLERANCE, err: loss, detail: `loss ${r.cuda.loss} vs ${r.cpu.loss}` };
      const hits = { ok: r.cuda.correct === r.cpu.correct, err: 0, detail: `correct ${r.cuda.correct} vs ${r.cpu.correct}` };
      return all(lossCheck, hits, compare('dlogits', r.cuda.dlogits.toArray(), r.cpu.dlogits.toArray()));
    });
    add(`softmax ${shape}`, () => {
      const x = both(makeLogits(rows, cols, kind), [rows, cols]);
      poisonPool(rows * cols);
      const p = { cpu: track(ops.softmax(x.cpu)), cuda: track(ops.softmax(x.cuda)) };
      return compare('probs', p.cuda.toArray(), p.cpu.toArray());
    });
    add(`argmax ${shape}`, () => {
      const x = both(makeLogits(rows, cols, kind), [rows, cols]);
      const i = { cpu: track(ops.argmax(x.cpu)).toArray(), cuda: track(ops.argmax(x.cuda)).toArray() };
      const at = firstMismatch(i.cuda, i.cpu);
      return { ok: at < 0, err: 0, detail: at < 0 ? 'indices equal' : `row ${at}: ${i.cuda[at]} vs ${i.cpu[at]}` };
    });
  }

  // The loss is reduced across blocks in a fixed order: the same input gives the same bits.
  add('softmaxCrossEntropy is bit-reproducible (8193 x 10, twice)', () => {
    const logits = on('cuda', rnd.floats(8193 * 10, -8, 8), [8193, 10]);
    const labels = on('cuda', rnd.ints(8193, 10), [8193]);
    const run = () => {
      const out = ops.softmaxCrossEntropy(logits, labels, false, true);
      return { loss: scalarOf(out.loss), correct: scalarOf(out.correct) };
    };
    const a = run(), b = run();
    return { ok: Object.is(a.loss, b.loss) && a.correct === b.correct, err: 0, detail: `loss ${a.loss} then ${b.loss}` };
  });

  for (const [n, features, B] of [[1, 1, 1], [100, 7, 33], [1000, 785, 129], [60000, 784, 64], [60000, 784, 512]]) {
    add(`gatherBatch N=${n} F=${features} B=${B}`, () => {
      const images = both(rnd.bytes(n * features), [n, features]);
      const labels = both(rnd.bytes(n), [n]);
      const indices = rnd.ints(B, n);
      poisonPool(B * features);
      const r = {};
      for (const d of ['cpu', 'cuda']) {
        r[d] = ops.gatherBatch(images[d], labels[d], indices, 1 / 255, -0.5);
        track(r[d].x);
        track(r[d].y);
      }
      const yAt = firstMismatch(r.cuda.y.toArray(), r.cpu.y.toArray());
      return all(compare('x', r.cuda.x.toArray(), r.cpu.x.toArray(), 1e-6),
        { ok: yAt < 0, err: 0, detail: yAt < 0 ? 'labels equal' : `label ${yAt} differs` });
    });
  }

  // ---- The element-wise, reduction, softmax-family, loss, gather and optimizer primitives ----

  // unary: every op over sizes from one element to a grid-stride loop's worth, on inputs in each
  // op's domain; then the special values (±0, tiny, huge, ±infinity, NaN), where both backends
  // must agree on which outputs are NaN or infinite.
  const unaryCases = [
    ['neg', 0, 0, -4, 4], ['exp', 0, 0, -8, 8], ['log', 0, 0, 1e-3, 10], ['sqrt', 0, 0, 0, 10], ['abs', 0, 0, -4, 4],
    ['relu', 0, 0, -4, 4], ['leakyRelu', 0.01, 0, -4, 4], ['leakyRelu', 0.2, 0, -4, 4], ['sigmoid', 0, 0, -12, 12],
    ['tanh', 0, 0, -6, 6], ['gelu', 0, 0, -6, 6], ['pow', 2, 0, -3, 3], ['pow', 3, 0, -2, 2], ['pow', 0.5, 0, 0, 4],
    ['pow', -1.5, 0, 0.1, 4], ['clamp', -0.5, 0.3, -2, 2], ['affine', 1.5, -0.25, -4, 4], ['affine', 1, 0.5, -4, 4],
  ];
  const specials = new Float32Array([0, -0, 1e-30, -1e-30, 1e30, -1e30, Infinity, -Infinity, NaN, 1, -1, 0.5]);
  for (const [op, a, b, lo, hi] of unaryCases) {
    const label = `unary ${op}${op === 'pow' || op === 'leakyRelu' ? `(${a})` : op === 'clamp' || op === 'affine' ? `(${a}, ${b})` : ''}`;
    for (const n of [1, 7, 129, 4097, 100_003]) {
      add(`${label} n=${n}`, () => {
        const x = both(rnd.floats(n, lo, hi), [n]);
        poisonPool(n);
        const y = { cpu: track(ops.unary(x.cpu, op, a, b)), cuda: track(ops.unary(x.cuda, op, a, b)) };
        return all(sameShape(y), compare('y', y.cuda.toArray(), y.cpu.toArray()));
      });
    }
    add(`${label} special values (±0, ±1e-30, ±1e30, ±inf, NaN)`, () => {
      const x = both(specials, [specials.length]);
      const y = { cpu: track(ops.unary(x.cpu, op, a, b)).toArray(), cuda: track(ops.unary(x.cuda, op, a, b)).toArray() };
      return compareSpecial(y.cuda, y.cpu);
    });
  }

  // binary: every op over flat, broadcast (either operand, rows, columns, outer products, 3-D and
  // 4-D, the most a tensor has) and large shapes, on inputs in each op's domain; comparisons and selections exactly.
  const binaryShapes = [
    [[33], [33]], [[1], [1]], [[1_000_003], [1_000_003]], [[129, 785], [785]], [[785], [129, 785]], [[64, 1], [1, 10]],
    [[1, 33], [7, 1]], [[1], [129, 33]], [[129, 33], [1]], [[5, 7, 9], [7, 1]], [[2, 3, 4, 5], [3, 1, 5]],
    [[4, 1, 6, 1], [1, 5, 1, 7]], [[1, 3, 1, 5], [2, 1, 4, 1]], [[1024, 1000], [1000]], [[1000, 1], [1000, 1000]],
  ];
  const smallInts = (n) => { const v = rnd.floats(n, 0, 4); for (let i = 0; i < n; i++) v[i] = Math.floor(v[i]) - 1.5 + (v[i] > 2 ? 0.5 : 0); return v; };
  const withZeros = (n, lo, hi) => { const v = rnd.floats(n, lo, hi); for (let i = 0; i < n; i += 3) v[i] = 0; return v; };
  const binaryOps = {
    add: [(n) => rnd.floats(n, -2, 2), (n) => rnd.floats(n, -2, 2)],
    sub: [(n) => rnd.floats(n, -2, 2), (n) => rnd.floats(n, -2, 2)],
    mul: [(n) => rnd.floats(n, -2, 2), (n) => rnd.floats(n, -2, 2)],
    div: [(n) => rnd.floats(n, -2, 2), (n) => { const v = rnd.floats(n, 0.25, 2); for (let i = 0; i < n; i += 2) v[i] = -v[i]; return v; }],
    pow: [(n) => rnd.floats(n, 0.1, 3), (n) => rnd.floats(n, -2, 2)],
    maximum: [smallInts, (n) => rnd.floats(n, -2, 2)],
    minimum: [smallInts, (n) => rnd.floats(n, -2, 2)],
    eq: [smallInts, smallInts],
    gt: [smallInts, smallInts],
    lt: [smallInts, smallInts],
    reluGrad: [(n) => rnd.floats(n, -1, 1), (n) => withZeros(n, 0, 2)],
    leakyReluGrad: [(n) => rnd.floats(n, -1, 1), (n) => withZeros(n, -2, 2)],
    sigmoidGrad: [(n) => rnd.floats(n, -1, 1), (n) => rnd.floats(n, 0, 1)],
    tanhGrad: [(n) => rnd.floats(n, -1, 1), (n) => rnd.floats(n, -1, 1)],
    geluGrad: [(n) => rnd.floats(n, -1, 1), (n) => rnd.floats(n, -5, 5)],
  };
  const exactBinary = new Set(['maximum', 'minimum', 'eq', 'gt', 'lt', 'reluGrad']);
  const numel = (shape) => shape.reduce((p, d) => p * d, 1);
  for (const [op, [genA, genB]] of Object.entries(binaryOps)) {
    const param = op === 'leakyReluGrad' ? 0.1 : 0;
    for (const [sa, sb] of binaryShapes) {
      add(`binary ${op} [${sa}] [${sb}]`, () => {
        const a = both(genA(numel(sa)), sa);
        const b = both(genB(numel(sb)), sb);
        const out = broadcastShape(sa, sb);
        poisonPool(numel(out));
        const y = { cpu: track(ops.binary(a.cpu, b.cpu, op, param)), cuda: track(ops.binary(a.cuda, b.cuda, op, param)) };
        const shapeOk = sameShape(y, out);
        return all(shapeOk, compare('out', y.cuda.toArray(), y.cpu.toArray(), exactBinary.has(op) ? 0 : TOLERANCE));
      });
    }
  }

  // reduce: sum, mean, max, min along each dim (and a negative one) of 2-D and 3-D tensors, and
  // over every element (dim null), with and without keepdim. The shapes reach each CUDA kernel:
  // rows (one warp each), long rows (a block each), columns (inner > 1), and grids past 65535.
  // CUDA sums in a fixed order that may differ from the CPU's, hence the tolerance.
  const reduceShapes = [[1, 1], [7, 33], [129, 785], [4097, 10], [10, 4097], [3, 100_003], [600_000, 2],
    [5, 33, 17], [2, 300, 3], [33, 1, 129], [3, 4097, 5], [70_000, 3, 2]];
  for (const shape of reduceShapes) {
    const dims = [...shape.map((_, d) => d), -1, null];
    for (const op of ['sum', 'mean', 'max', 'min']) {
      dims.forEach((dim, k) => {
        const keepdim = k % 2 === 1;
        add(`reduce ${op} [${shape}] dim=${dim} keepdim=${+keepdim}`, () => {
          const x = both(op === 'sum' || op === 'mean' ? rnd.floats(numel(shape), 0.5, 1.5) : rnd.floats(numel(shape)), shape);
          const want = dim === null ? (keepdim ? shape.map(() => 1) : [])
            : shape.map((s, d) => (d === (dim + shape.length) % shape.length ? (keepdim ? 1 : null) : s)).filter((s) => s !== null);
          poisonPool(numel(want));
          const y = { cpu: track(ops.reduce(x.cpu, op, dim, keepdim)), cuda: track(ops.reduce(x.cuda, op, dim, keepdim)) };
          return all(sameShape(y, want), compare('out', y.cuda.toArray(), y.cpu.toArray(), op === 'max' || op === 'min' ? 0 : TOLERANCE));
        });
      });
    }
  }
  // NaN propagates through every reduction (max and min as torch.amax / torch.amin), on both.
  for (const op of ['sum', 'mean', 'max', 'min']) {
    for (const [shape, dim] of [[[7, 33], 1], [[7, 33], 0], [[5000, 3], 0], [[3, 5000], 1]]) {
      add(`reduce ${op} [${shape}] dim=${dim} with NaNs`, () => {
        const data = rnd.floats(numel(shape), 0.5, 1.5);
        data[0] = NaN;
        data[data.length - 1] = NaN;
        data[Math.floor(data.length / 2)] = NaN;
        const x = both(data, shape);
        const y = { cpu: track(ops.reduce(x.cpu, op, dim, false)).toArray(), cuda: track(ops.reduce(x.cuda, op, dim, false)).toArray() };
        return compareSpecial(y.cuda, y.cpu, op === 'max' || op === 'min' ? 0 : TOLERANCE);
      });
    }
  }

  // logSoftmax on the logit cases of softmax above (random, huge, equal, ties).
  for (const [rows, cols, kind] of logitCases) {
    add(`logSoftmax rows=${rows} cols=${cols}${kind === 'random' ? '' : ` (${kind} logits)`}`, () => {
      const x = both(makeLogits(rows, cols, kind), [rows, cols]);
      poisonPool(rows * cols);
      const p = { cpu: track(ops.logSoftmax(x.cpu)), cuda: track(ops.logSoftmax(x.cuda)) };
      return compare('log-probs', p.cuda.toArray(), p.cpu.toArray());
    });
  }

  // mse: the loss (one reduction) and its gradient, from one element to a million.
  for (const shape of [[1], [7, 33], [129, 10], [64, 784], [100_003], [1024, 1000]]) {
    for (const wantGrad of [true, false]) {
      add(`mse [${shape}] wantGrad=${+wantGrad}`, () => {
        const n = numel(shape);
        const pred = both(rnd.floats(n, -3, 3), shape);
        const target = both(rnd.floats(n, -3, 3), shape);
        poisonPool(n);
        const r = {};
        for (const d of ['cpu', 'cuda']) {
          const out = ops.mse(d === 'cpu' ? pred.cpu : pred.cuda, d === 'cpu' ? target.cpu : target.cuda, wantGrad);
          if (out.dpred) track(out.dpred);
          r[d] = { loss: scalarOf(out.loss), dpred: out.dpred };
        }
        const loss = Math.abs(r.cuda.loss - r.cpu.loss) / Math.max(Math.abs(r.cpu.loss), 1e-6);
        const parts = [{ ok: loss <= TOLERANCE, err: loss, detail: `loss ${r.cuda.loss} vs ${r.cpu.loss}` }];
        if (wantGrad) parts.push(compare('dpred', r.cuda.dpred.toArray(), r.cpu.dpred.toArray()));
        else parts.push({ ok: r.cuda.dpred === null && r.cpu.dpred === null, err: 0, detail: 'no dpred when not wanted' });
        return all(...parts);
      });
    }
  }

  // gatherRows: rows picked by index (repeats, the first and the last row), exactly.
  for (const [n, cols, B] of [[1, 1, 1], [100, 7, 33], [1000, 785, 129], [60000, 10, 512], [5000, 784, 1024], [3, 4097, 9]]) {
    add(`gatherRows N=${n} C=${cols} B=${B}`, () => {
      const src = both(rnd.floats(n * cols), [n, cols]);
      const indices = rnd.ints(B, n);
      indices[0] = n - 1;
      if (B > 1) indices[B - 1] = 0;
      poisonPool(B * cols);
      const r = { cpu: track(ops.gatherRows(src.cpu, indices)), cuda: track(ops.gatherRows(src.cuda, indices)) };
      return all(sameShape(r, [B, cols]), compare('rows', r.cuda.toArray(), r.cpu.toArray(), 0));
    });
  }

  // oneHot: equal to the CPU's for valid labels; on the GPU a label out of range gives a NaN row
  // (the CPU refuses it with a RangeError instead of reading labels back from a GPU).
  for (const [rows, classes] of [[1, 1], [33, 10], [512, 1000]]) {
    add(`oneHot B=${rows} C=${classes}`, () => {
      const labels = both(rnd.ints(rows, classes), [rows]);
      poisonPool(rows * classes);
      const r = { cpu: track(ops.oneHot(labels.cpu, classes)), cuda: track(ops.oneHot(labels.cuda, classes)) };
      return all(sameShape(r, [rows, classes]), compare('one-hot', r.cuda.toArray(), r.cpu.toArray(), 0));
    });
  }
  add('oneHot: an out-of-range label on the GPU gives a NaN row', () => {
    if (device !== 'cuda') return { ok: true, err: 0, detail: 'skipped: the CPU refuses the label instead (the dry run)' };
    const labels = on('cuda', Int32Array.from([1, 5, -1]), [3]);
    const got = track(ops.oneHot(labels, 5)).toArray();
    const ok = got[1] === 1 && got.slice(5, 15).every((v) => Number.isNaN(v)) && got[0] === 0;
    return { ok, err: 0, detail: `rows ${Array.from(got).join(' ')}` };
  });

  // bernoulliMask: dropout's counter-based mask, the same keys giving the same mask bit for bit.
  for (const [shape, keep] of [[[1], 0.5], [[64, 256], 0.8], [[129, 785], 0.3], [[3, 5, 7], 1], [[1000], 0]]) {
    add(`bernoulliMask [${shape}] keep=${keep}`, () => {
      const key0 = rnd.ints(1, 2 ** 31)[0], key1 = rnd.ints(1, 2 ** 31)[0];
      const scale = keep > 0 ? 1 / keep : 0;
      const r = { cpu: track(ops.bernoulliMask(shape, 'cpu', keep, scale, key0, key1)), cuda: track(ops.bernoulliMask(shape, device, keep, scale, key0, key1)) };
      return all(sameShape(r, shape), compare('mask', r.cuda.toArray(), r.cpu.toArray(), 0));
    });
  }

  // optimizerStep: SGD over 20 tensors (two CUDA launches of up to 16) for three steps, each
  // parameter counting in its own slot of the steps tensor. Slots start at 0, or at 5 for every
  // third parameter (those take the momentum rule from their first call here); at 0 the first
  // call sets the momentum buffer to the gradient, whatever it held (noise here). In the second
  // step every fourth parameter has no gradient and is left out, so the third step's call holds
  // parameters at three different counts. Params, momentum buffers and counts must agree, and the
  // CPU must agree with a float64 reference of torch.optim.SGD's rule.
  const sgdConfigs = [
    { kind: 'sgd', lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
    { kind: 'sgd', lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
    { kind: 'sgd', lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2, nesterov: false },
    { kind: 'sgd', lr: 0.01, momentum: 0.8, dampening: 0, weightDecay: 5e-4, nesterov: true },
  ];
  for (const options of sgdConfigs) {
    const { kind, ...shown } = options;
    add(`optimizerStep ${kind} ${JSON.stringify(shown)} over 20 tensors, 3 steps`, () => {
      const sizes = [];
      for (let i = 0; i < 20; i++) sizes.push(rnd.pick([1, 7, 33, 129, 785, 100_352]));
      const p0 = sizes.map((n) => rnd.floats(n));
      const m0 = sizes.map((n) => rnd.floats(n));
      const params = p0.map((p, i) => both(p, [sizes[i]]));
      const bufs = m0.map((m, i) => (options.momentum ? both(m, [sizes[i]]) : null));
      const counts = sizes.map((_, i) => (i % 3 === 2 ? 5 : 0));
      const steps = { cpu: track(new Tensor(Int32Array.from(counts), [20], 'cpu')), cuda: track(new Tensor(Int32Array.from(counts), [20], 'cpu')) };
      const ref = { p: p0.map((p) => Float64Array.from(p)), m: m0.map((m) => Float64Array.from(m)) };
      for (let step = 0; step < 3; step++) {
        const idx = sizes.map((_, i) => i).filter((i) => step !== 1 || i % 4 !== 3);
        const g0 = idx.map((i) => rnd.floats(sizes[i]));
        const grads = g0.map((g, k) => both(g, [sizes[idx[k]]]));
        for (const d of ['cpu', 'cuda']) {
          ops.optimizerStep(idx.map((i) => params[i][d]), grads.map((g) => g[d]), idx.map((i) => (bufs[i] ? [bufs[i][d]] : [])),
            options, steps[d], idx);
        }
        idx.forEach((i, k) => sgdReference(ref.p[i], g0[k], ref.m[i], options, ++counts[i]));
      }
      const results = params.map((p, i) => compare(`param ${i}`, p.cuda.toArray(), p.cpu.toArray()));
      if (options.momentum) bufs.forEach((m, i) => results.push(compare(`momentum ${i}`, m.cuda.toArray(), m.cpu.toArray())));
      params.forEach((p, i) => results.push(compare(`cpu param ${i} vs float64 reference`, p.cpu.toArray(), ref.p[i])));
      if (options.momentum) bufs.forEach((m, i) => results.push(compare(`cpu momentum ${i} vs float64 reference`, m.cpu.toArray(), ref.m[i])));
      const got = { cpu: Array.from(steps.cpu.toArray()).join(), cuda: Array.from(steps.cuda.toArray()).join() };
      const countsOk = got.cpu === counts.join() && got.cuda === counts.join();
      results.push({ ok: countsOk, err: 0, detail: `step counts cpu [${got.cpu}] cuda [${got.cuda}] (want [${counts}])` });
      return all(...results);
    });
  }

  // optimizerStep with Adam / AdamW and RMSprop: CUDA against the CPU backend (the CPU against
  // PyTorch: tests/optimizers.test.ts) over 20 tensors (two launches) for three steps.
  const adaptiveConfigs = [
    [{ kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupledWeightDecay: false, amsgrad: false }, 2],
    [{ kind: 'adam', lr: 0.02, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, decoupledWeightDecay: false, amsgrad: true }, 3],
    [{ kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupledWeightDecay: true, amsgrad: false }, 2],
    [{ kind: 'rmsprop', lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false }, 1],
    [{ kind: 'rmsprop', lr: 0.01, alpha: 0.9, eps: 1e-6, weightDecay: 0.05, momentum: 0.8, centered: true }, 3],
  ];
  for (const [options, stateCount] of adaptiveConfigs) {
    const { kind, ...shown } = options;
    add(`optimizerStep ${kind} ${JSON.stringify(shown)} over 20 tensors, 3 steps`, () => {
      const sizes = [];
      for (let i = 0; i < 20; i++) sizes.push(rnd.pick([1, 7, 33, 129, 785, 100_352]));
      const params = sizes.map((n) => both(rnd.floats(n), [n]));
      const states = sizes.map((n) => Array.from({ length: stateCount }, () => both(new Float32Array(n), [n])));
      const steps = { cpu: track(new Tensor(new Int32Array(20), [20], 'cpu')), cuda: track(new Tensor(new Int32Array(20), [20], 'cpu')) };
      const idx = sizes.map((_, i) => i);
      for (let step = 0; step < 3; step++) {
        const grads = sizes.map((n) => both(rnd.floats(n), [n]));
        for (const d of ['cpu', 'cuda']) {
          ops.optimizerStep(params.map((p) => p[d]), grads.map((g) => g[d]), states.map((st) => st.map((t) => t[d])), options, steps[d], idx);
        }
      }
      const results = params.map((p, i) => compare(`param ${i}`, p.cuda.toArray(), p.cpu.toArray()));
      states.forEach((st, i) => st.forEach((t, k) => results.push(compare(`param ${i} state ${k}`, t.cuda.toArray(), t.cpu.toArray()))));
      return all(...results);
    });
  }

  // Moves between devices and in-place copies.
  add('Tensor moves: cpu → cuda → cpu, zeros, copyFrom', () => {
    const data = rnd.floats(785 * 33);
    const g = track(on('cpu', data, [785, 33]).to(device));
    const back = track(g.to('cpu')).toArray();
    const z = track(Tensor.zeros([129, 7], 'float32', device)).toArray();
    const dst = track(Tensor.empty([785, 33], 'float32', device));
    dst.copyFrom(g);
    const copied = dst.toArray();
    const ok = firstMismatch(back, data) < 0 && z.every((v) => v === 0) && firstMismatch(copied, data) < 0;
    return { ok, err: 0, detail: ok ? 'round trip exact' : 'contents differ after a move' };
  });

  return checks;
}

/**
 * Error paths on the device under test: each must throw the right JS error with a clear message,
 * and the device must keep working afterwards. `device` 'cpu' (a dry run) leaves out the checks
 * that only mean something on CUDA (device memory exhaustion, a device index that does not exist).
 */
export function errorChecks(native, device = 'cuda') {
  const { Tensor, ops } = native;
  const expectThrow = (fn, cls, pattern) => {
    try {
      const t = fn();
      t?.dispose?.();
    } catch (e) {
      const ok = e instanceof cls && pattern.test(e.message);
      return { ok, err: 0, detail: `${e.constructor.name}: ${e.message}${e.code ? ` (code ${e.code})` : ''}` };
    }
    return { ok: false, err: 0, detail: 'no error was thrown' };
  };
  // fn(make) with make(data, shape) building tensors on the device; all disposed afterwards.
  const withTensors = (fn) => {
    const made = [];
    const make = (data, shape) => {
      const t = new Tensor(data, shape, device);
      made.push(t);
      return t;
    };
    try {
      return fn(make);
    } finally {
      made.forEach((t) => t.dispose());
    }
  };
  const checks = [];
  if (device === 'cuda') {
    checks.push(['error: allocating past the device memory is a clear out-of-memory error', () => {
      // One tensor holds at most 2^34 elements (64 GiB of float32), so a few of them outgrow any
      // GPU of today (an H200 has 141 GB).
      const held = [];
      let r = { ok: false, err: 0, detail: 'eight 64 GiB tensors fit: no out-of-memory error to see' };
      try {
        for (let i = 0; i < 8; i++) {
          let got = null;
          r = expectThrow(() => (got = Tensor.empty([131072, 131072], 'float32', 'cuda'), null), Error, /out of memory/i);
          if (!got) break;
          held.push(got);
        }
      } finally {
        held.forEach((t) => t.dispose());
      }
      if (r.ok) r.ok = /ERR_TINYNN_OUT_OF_MEMORY/.test(r.detail);
      const t = new Tensor(new Float32Array([1, -2, 3]), [3], 'cuda');
      const after = ops.unary(t, 'relu', 0, 0).toArray();
      t.dispose();
      const alive = after[0] === 1 && after[1] === 0 && after[2] === 3;
      return { ok: r.ok && alive, err: 0, detail: `${r.detail}; device usable afterwards: ${alive}` };
    }]);
    checks.push(['error: a device that does not exist (cuda:99) is a RangeError', () =>
      expectThrow(() => new Tensor(new Float32Array(1), [1], 'cuda:99'), RangeError, /cuda:99/)]);
  }
  checks.push(
    ['error: a label out of range is a RangeError', () => withTensors((make) => expectThrow(
      () => ops.softmaxCrossEntropy(make(new Float32Array(20), [2, 10]), make(new Int32Array([3, 10]), [2]), true),
      RangeError, /labels\[1\]/))],
    ['error: mixing cpu and cuda tensors in one op is an error', () => {
      if (device !== 'cuda') return { ok: true, err: 0, detail: 'skipped: the dry run has one device' };
      return withTensors((make) => {
        const b = new Tensor(new Float32Array(4), [2, 2], 'cpu');
        try {
          return expectThrow(() => ops.gemm(make(new Float32Array(4), [2, 2]), b, make(new Float32Array(4), [2, 2]), false, false, 1, 0),
            Error, /device|cuda|cpu/i);
        } finally {
          b.dispose();
        }
      });
    }],
    ['error: binary operands that do not broadcast are a RangeError', () => withTensors((make) => expectThrow(
      () => ops.binary(make(new Float32Array(6), [2, 3]), make(new Float32Array(4), [4]), 'add', 0), RangeError, /broadcast|shape/i))],
    ['error: an unknown unary op is a RangeError naming the known ones', () => withTensors((make) => expectThrow(
      () => ops.unary(make(new Float32Array(3), [3]), 'cube', 0, 0), RangeError, /'neg'.*'cube'/))],
    ['error: a reduce dim out of range is a RangeError', () => withTensors((make) => expectThrow(
      () => ops.reduce(make(new Float32Array(6), [2, 3]), 'sum', 2, false), RangeError, /dim/))],
    ['error: a gatherRows index out of range is a RangeError', () => withTensors((make) => expectThrow(
      () => ops.gatherRows(make(new Float32Array(6), [3, 2]), new Int32Array([0, 3])), RangeError, /indices\[1\]/))],
    ['error: optimizerStep without the momentum buffers momentum needs is a RangeError', () => withTensors((make) => {
      const steps = new Tensor(new Int32Array(1), [1], 'cpu');
      try {
        return expectThrow(() => ops.optimizerStep([make(new Float32Array(3), [3])], [make(new Float32Array(3), [3])], [[]],
          { kind: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false }, steps, [0]), RangeError, /state/);
      } finally {
        steps.dispose();
      }
    })],
  );
  return checks;
}

/**
 * Runs [name, fn] checks in order (fn may be async); one failing or throwing check never stops the
 * others. Each result: { name, group ('op' | 'step' | 'error', from the name's prefix), ok, relErr,
 * detail, ms, and what else the check returned under `extra` }.
 */
export async function runChecks(checks, log = () => {}) {
  const results = [];
  for (const [name, fn] of checks) {
    const t0 = performance.now();
    let r;
    try {
      r = await fn();
    } catch (e) {
      r = { ok: false, err: null, detail: `threw ${e?.constructor?.name ?? 'error'}: ${e?.message ?? e}` };
    }
    const group = name.startsWith('error:') ? 'error' : name.startsWith('step:') ? 'step' : 'op';
    const result = { name, group, ok: !!r.ok, relErr: r.err ?? null, detail: r.detail ?? '', ms: +(performance.now() - t0).toFixed(2) };
    if (r.extra) result.extra = r.extra;
    results.push(result);
    log(result);
  }
  return results;
}
