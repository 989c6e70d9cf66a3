// Every CUDA op of the raw addon against the CPU backend, on fresh random inputs of odd sizes.
// Shared by tests/gpu/check-ops.mjs (plain node, on a GPU machine) and tests/cuda.test.ts (vitest,
// skipped without a GPU). Needs nothing but the addon: no node_modules.
//
// Agreement: max |cuda − cpu| / max |cpu| over a tensor ≤ 1e-4 (fp32 on both sides; the CPU backend
// is the reference). Outputs the op writes in place are filled with NaN first on the device, so a
// kernel that skips an element (or reads C when beta = 0) shows up.

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

function firstMismatch(a, b) {
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
    add(`relu n=${n}`, () => {
      const x = both(rnd.floats(n), [n]);
      poisonPool(n);
      const y = { cpu: track(ops.relu(x.cpu)), cuda: track(ops.relu(x.cuda)) };
      return compare('y', y.cuda.toArray(), y.cpu.toArray(), 0);
    });
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
        r[d] = ops.softmaxCrossEntropy(logits[d], labels[d], true);
        track(r[d].dlogits);
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
    const a = ops.softmaxCrossEntropy(logits, labels, false);
    const b = ops.softmaxCrossEntropy(logits, labels, false);
    return { ok: Object.is(a.loss, b.loss) && a.correct === b.correct, err: 0, detail: `loss ${a.loss} then ${b.loss}` };
  });

  // SGD over several tensors in one call (one launch), three steps: the first initialises the
  // momentum buffers, as in PyTorch.
  const sgdConfigs = [
    { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2, nesterov: false },
    { lr: 0.01, momentum: 0.8, dampening: 0, weightDecay: 5e-4, nesterov: true },
  ];
  for (const options of sgdConfigs) {
    add(`sgdStep ${JSON.stringify(options)} over 20 tensors`, () => {
      const sizes = [];
      for (let i = 0; i < 20; i++) sizes.push(rnd.pick([1, 7, 33, 129, 785, 100_352]));
      const params = sizes.map((n) => both(rnd.floats(n), [n]));
      const bufs = sizes.map((n) => (options.momentum ? both(new Float32Array(n), [n]) : { cpu: null, cuda: null }));
      for (let step = 0; step < 3; step++) {
        const grads = sizes.map((n) => both(rnd.floats(n), [n]));
        for (const d of ['cpu', 'cuda']) {
          ops.sgdStep(params.map((p) => p[d]), grads.map((g) => g[d]), bufs.map((m) => m[d]), options, step === 0);
        }
      }
      const results = params.map((p, i) => compare(`param ${i}`, p.cuda.toArray(), p.cpu.toArray()));
      if (options.momentum) bufs.forEach((m, i) => results.push(compare(`momentum ${i}`, m.cuda.toArray(), m.cpu.toArray())));
      return all(...results);
    });
  }

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

  // The fused tail of a training step (Backend::linear_xent_step; CUDA runs it as one kernel),
  // where the addon exposes it as ops.linearXentStep.
  if (typeof ops.linearXentStep === 'function') {
    const headShapes = [[1, 1, 1], [7, 33, 10], [16, 128, 10], [17, 128, 10], [64, 128, 10], [512, 128, 10],
      [100, 200, 32], [33, 785, 10], [2100, 128, 10]];
    for (const [B, inF, outF] of headShapes) {
      for (const [withBias, relu, wantDh] of [[true, true, true], [false, true, true], [false, false, false], [true, false, true]]) {
        add(`linearXentStep B=${B} in=${inF} out=${outF} hBias=${+withBias} relu=${+relu} dh=${+wantDh}`, () => {
          const h = both(rnd.floats(B * inF), [B, inF]);
          const hBias = withBias ? both(rnd.floats(inF), [inF]) : { cpu: null, cuda: null };
          const w = both(rnd.floats(outF * inF), [outF, inF]);
          const b = both(rnd.floats(outF), [outF]);
          const labels = both(rnd.ints(B, outF), [B]);
          poisonPool(B * inF);
          const r = {};
          for (const d of ['cpu', 'cuda']) {
            r[d] = ops.linearXentStep(h[d], hBias[d], relu, w[d], b[d], labels[d], wantDh);
            for (const k of ['logits', 'dlogits', 'dw', 'db', 'dh', 'dhBias']) if (r[d][k]) track(r[d][k]);
          }
          const loss = Math.abs(r.cuda.loss - r.cpu.loss) / Math.max(Math.abs(r.cpu.loss), 1e-6);
          const parts = [
            compare('h (in place)', h.cuda.toArray(), h.cpu.toArray()),
            { ok: loss <= TOLERANCE, err: loss, detail: `loss ${r.cuda.loss} vs ${r.cpu.loss}` },
            { ok: r.cuda.correct === r.cpu.correct, err: 0, detail: `correct ${r.cuda.correct} vs ${r.cpu.correct}` },
          ];
          for (const k of ['logits', 'dlogits', 'dw', 'db', 'dh', 'dhBias']) {
            if (!r.cpu[k] && !r.cuda[k]) continue;
            if (!r.cpu[k] || !r.cuda[k]) parts.push({ ok: false, err: 0, detail: `${k} missing on one device` });
            else parts.push(compare(k, r.cuda[k].toArray(), r.cpu[k].toArray()));
          }
          return all(...parts);
        });
      }
    }
  }

  // The fused SGD ops: the CPU side is the Backend default (the separate ops in sequence), the
  // CUDA side one kernel each. Parameters and momentum buffers are compared after every step of
  // a short run (the first step initialises the momentum buffers, as in PyTorch).
  const sgdRuns = [
    { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2, nesterov: false },
    { lr: 0.01, momentum: 0.8, dampening: 0, weightDecay: 5e-4, nesterov: true },
  ];
  const momentumPair = (options, n, shape) => (options.momentum ? both(new Float32Array(n), shape) : { cpu: null, cuda: null });

  if (typeof ops.gatherLinear === 'function') {
    // [images N, features F, batch B, out, bias, relu]: the MNIST layer at the driver's batch sizes
    // (and their tails, 60000 % 64 = 32, 60000 % 512 = 96), then odd shapes and both epilogues.
    const shapes = [[3000, 784, 64, 128, false, false], [3000, 784, 512, 128, false, false], [3000, 784, 32, 128, false, false],
      [3000, 784, 96, 128, true, true], [300, 785, 33, 129, true, true], [10, 7, 1, 1, false, false], [50, 33, 7, 200, true, false],
      [2000, 100, 1500, 70, true, true], [200, 2000, 129, 65, false, true], [100, 64, 17, 16, false, false],
      // the cluster kernels' range (129..1024 rows, features and out multiples of 4)
      [3000, 784, 1024, 128, true, true], [3000, 784, 300, 128, true, true], [500, 100, 129, 68, true, false]];
    for (const [n, F, B, outF, withBias, relu] of shapes) {
      add(`gatherLinear N=${n} F=${F} B=${B} out=${outF} bias=${+withBias} relu=${+relu}`, () => {
        const images = both(rnd.bytes(n * F), [n, F]);
        const labels = both(rnd.bytes(n), [n]);
        const w = both(rnd.floats(outF * F, -0.1, 0.1), [outF, F]);
        const b = withBias ? both(rnd.floats(outF), [outF]) : { cpu: null, cuda: null };
        const indices = rnd.ints(B, n);
        poisonPool(B * F);
        const r = {};
        for (const d of ['cpu', 'cuda']) {
          r[d] = ops.gatherLinear(images[d], labels[d], indices, 1 / 255, -0.5, w[d], b[d], relu);
          for (const k of ['x', 'y', 'h']) track(r[d][k]);
        }
        const yAt = firstMismatch(r.cuda.y.toArray(), r.cpu.y.toArray());
        return all(compare('x', r.cuda.x.toArray(), r.cpu.x.toArray(), 1e-6), compare('h', r.cuda.h.toArray(), r.cpu.h.toArray()),
          { ok: yAt < 0, err: 0, detail: yAt < 0 ? 'labels equal' : `label ${yAt} differs` });
      });
    }
    add('gatherLinear is bit-reproducible (B=512, 784 → 128, twice)', () => {
      const images = on('cuda', rnd.bytes(3000 * 784), [3000, 784]);
      const labels = on('cuda', rnd.bytes(3000), [3000]);
      const w = on('cuda', rnd.floats(128 * 784, -0.1, 0.1), [128, 784]);
      const indices = rnd.ints(512, 3000);
      const h = [0, 1].map(() => {
        const r = ops.gatherLinear(images, labels, indices, 1 / 255, -0.5, w, null, false);
        track(r.x); track(r.y);
        return track(r.h).toArray();
      });
      const at = firstMismatch(h[0], h[1]);
      return { ok: at < 0, err: 0, detail: at < 0 ? 'same bits' : `h[${at}]: ${h[0][at]} then ${h[1][at]}` };
    });
  }

  if (typeof ops.linearGradSgd === 'function') {
    // [B (rows), in, out]
    const shapes = [[64, 784, 128], [512, 784, 128], [32, 784, 128], [96, 784, 128], [33, 785, 129], [1, 1, 1],
      [700, 33, 7], [129, 7, 300], [2000, 50, 20], [5000, 16, 16],
      // the cluster kernels' range (129..1024 rows, in and out multiples of 4)
      [1024, 784, 128], [129, 784, 128], [200, 100, 64], [700, 36, 8]];
    shapes.forEach(([B, inF, outF], i) => {
      const options = sgdRuns[i % sgdRuns.length];
      add(`linearGradSgd B=${B} in=${inF} out=${outF} ${JSON.stringify(options)}, 3 steps`, () => {
        const w = both(rnd.floats(outF * inF), [outF, inF]);
        const m = momentumPair(options, outF * inF, [outF, inF]);
        const results = [];
        for (let step = 0; step < 3; step++) {
          const dy = both(rnd.floats(B * outF, -0.1, 0.1), [B, outF]);
          const x = both(rnd.floats(B * inF), [B, inF]);
          poisonPool(outF * inF);
          const dw = {};
          for (const d of ['cpu', 'cuda']) dw[d] = track(ops.linearGradSgd(dy[d], x[d], w[d], m[d], options, step === 0));
          results.push(compare(`dw step ${step}`, dw.cuda.toArray(), dw.cpu.toArray()), compare(`w step ${step}`, w.cuda.toArray(), w.cpu.toArray()));
          if (options.momentum) results.push(compare(`momentum step ${step}`, m.cuda.toArray(), m.cpu.toArray()));
        }
        return all(...results);
      });
    });
    add('linearGradSgd is bit-reproducible (B=512, 784 → 128, twice)', () => {
      const options = sgdRuns[1];
      const w0 = rnd.floats(128 * 784);
      const dy = on('cuda', rnd.floats(512 * 128, -0.1, 0.1), [512, 128]);
      const x = on('cuda', rnd.floats(512 * 784), [512, 784]);
      const w = [0, 1].map(() => {
        const wt = on('cuda', w0, [128, 784]);
        const mt = on('cuda', new Float32Array(128 * 784), [128, 784]);
        track(ops.linearGradSgd(dy, x, wt, mt, options, true));
        track(ops.linearGradSgd(dy, x, wt, mt, options, false));
        return wt.toArray();
      });
      const at = firstMismatch(w[0], w[1]);
      return { ok: at < 0, err: 0, detail: at < 0 ? 'same bits' : `w[${at}]: ${w[0][at]} then ${w[1][at]}` };
    });
  }

  if (typeof ops.linearXentSgdStep === 'function') {
    // [B, in, out]: the row-per-warp kernel (in 128 or 256, out <= 16; one block, several, the
    // largest tiles, and past its block limit), and the tiled kernel for other shapes.
    const shapes = [[8, 128, 10], [9, 128, 10], [64, 128, 10], [32, 128, 10], [512, 128, 10], [96, 128, 10], [2100, 128, 10],
      [8193, 128, 10], [100, 256, 16], [33, 256, 3], [64, 128, 1], [7, 33, 10], [100, 200, 32], [64, 384, 10]];
    const variants = [[true, true, true], [false, true, true], [false, false, false], [true, false, true], [true, true, false]];
    shapes.forEach(([B, inF, outF], i) => {
      const [withBias, relu, wantDh] = variants[i % variants.length];
      const options = sgdRuns[i % sgdRuns.length];
      add(`linearXentSgdStep B=${B} in=${inF} out=${outF} hBias=${+withBias} relu=${+relu} dh=${+wantDh} ` +
        `${JSON.stringify(options)}, 2 steps`, () => {
        const w = both(rnd.floats(outF * inF, -0.5, 0.5), [outF, inF]);
        const b = both(rnd.floats(outF), [outF]);
        const hBias = withBias ? both(rnd.floats(inF), [inF]) : { cpu: null, cuda: null };
        const bufs = [momentumPair(options, outF * inF, [outF, inF]), momentumPair(options, outF, [outF]),
          withBias ? momentumPair(options, inF, [inF]) : { cpu: null, cuda: null }];
        const parts = [];
        for (let step = 0; step < 2; step++) {
          const h = both(rnd.floats(B * inF), [B, inF]);
          const labels = both(rnd.ints(B, outF), [B]);
          poisonPool(B * inF);
          const r = {};
          for (const d of ['cpu', 'cuda']) {
            r[d] = ops.linearXentSgdStep(h[d], hBias[d], relu, w[d], b[d], labels[d], wantDh, bufs.map((m) => m[d]), options, step === 0);
            for (const k of ['logits', 'dlogits', 'dw', 'db', 'dh', 'dhBias']) if (r[d][k]) track(r[d][k]);
          }
          const loss = Math.abs(r.cuda.loss - r.cpu.loss) / Math.max(Math.abs(r.cpu.loss), 1e-6);
          parts.push(compare(`h (in place) step ${step}`, h.cuda.toArray(), h.cpu.toArray()),
            { ok: loss <= TOLERANCE, err: loss, detail: `loss ${r.cuda.loss} vs ${r.cpu.loss}` },
            { ok: r.cuda.correct === r.cpu.correct, err: 0, detail: `correct ${r.cuda.correct} vs ${r.cpu.correct}` });
          for (const k of ['logits', 'dlogits', 'dw', 'db', 'dh', 'dhBias']) {
            if (!r.cpu[k] && !r.cuda[k]) continue;
            if (!r.cpu[k] || !r.cuda[k]) parts.push({ ok: false, err: 0, detail: `${k} missing on one device` });
            else parts.push(compare(`${k} step ${step}`, r.cuda[k].toArray(), r.cpu[k].toArray()));
          }
          parts.push(compare(`w step ${step}`, w.cuda.toArray(), w.cpu.toArray()), compare(`b step ${step}`, b.cuda.toArray(), b.cpu.toArray()));
          if (withBias) parts.push(compare(`hBias step ${step}`, hBias.cuda.toArray(), hBias.cpu.toArray()));
          bufs.forEach((m, j) => { if (m.cpu) parts.push(compare(`momentum ${j} step ${step}`, m.cuda.toArray(), m.cpu.toArray())); });
        }
        return all(...parts);
      });
    });
    add('linearXentSgdStep is bit-reproducible (512 x 128 → 10, twice)', () => {
      const options = sgdRuns[1];
      const h0 = rnd.floats(512 * 128), w0 = rnd.floats(10 * 128, -0.5, 0.5), b0 = rnd.floats(10), hb0 = rnd.floats(128);
      const labels = on('cuda', rnd.ints(512, 10), [512]);
      const runs = [0, 1].map(() => {
        const [h, w, b, hb] = [on('cuda', h0, [512, 128]), on('cuda', w0, [10, 128]), on('cuda', b0, [10]), on('cuda', hb0, [128])];
        const bufs = [on('cuda', new Float32Array(1280), [10, 128]), on('cuda', new Float32Array(10), [10]), on('cuda', new Float32Array(128), [128])];
        const r = ops.linearXentSgdStep(h, hb, true, w, b, labels, true, bufs, options, true);
        for (const k of ['logits', 'dlogits', 'dw', 'db', 'dh', 'dhBias']) track(r[k]);
        return { loss: r.loss, w: w.toArray(), dh: r.dh.toArray(), hb: hb.toArray() };
      });
      const at = firstMismatch(runs[0].w, runs[1].w);
      const same = at < 0 && Object.is(runs[0].loss, runs[1].loss) && firstMismatch(runs[0].dh, runs[1].dh) < 0 &&
        firstMismatch(runs[0].hb, runs[1].hb) < 0;
      return { ok: same, err: 0, detail: same ? `loss ${runs[0].loss} twice, same bits` : `loss ${runs[0].loss} then ${runs[1].loss}; w differs at ${at}` };
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
 * Error paths on the CUDA device: each must throw the right JS error with a clear message, and the
 * device must keep working afterwards.
 */
export function errorChecks(native) {
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
  return [
    ['error: allocating past the device memory is a clear out-of-memory error', () => {
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
      const after = ops.relu(t).toArray();
      t.dispose();
      const alive = after[0] === 1 && after[1] === 0 && after[2] === 3;
      return { ok: r.ok && alive, err: 0, detail: `${r.detail}; device usable afterwards: ${alive}` };
    }],
    ['error: a device that does not exist (cuda:99) is a RangeError', () =>
      expectThrow(() => new Tensor(new Float32Array(1), [1], 'cuda:99'), RangeError, /cuda:99/)],
    ['error: a label out of range is a RangeError', () => {
      const logits = new Tensor(new Float32Array(20), [2, 10], 'cuda');
      const labels = new Tensor(new Int32Array([3, 10]), [2], 'cuda');
      try {
        return expectThrow(() => ops.softmaxCrossEntropy(logits, labels, true), RangeError, /labels\[1\]/);
      } finally {
        logits.dispose();
        labels.dispose();
      }
    }],
    ['error: mixing cpu and cuda tensors in one op is an error', () => {
      const a = new Tensor(new Float32Array(4), [2, 2], 'cuda');
      const b = new Tensor(new Float32Array(4), [2, 2], 'cpu');
      const c = new Tensor(new Float32Array(4), [2, 2], 'cuda');
      try {
        return expectThrow(() => ops.gemm(a, b, c, false, false, 1, 0), Error, /device|cuda|cpu/i);
      } finally {
        a.dispose();
        b.dispose();
        c.dispose();
      }
    }],
  ];
}

/** Runs [name, fn] checks; one failing or throwing check never stops the others. */
export function runChecks(checks, log = () => {}) {
  const results = [];
  for (const [name, fn] of checks) {
    const t0 = performance.now();
    let r;
    try {
      r = fn();
    } catch (e) {
      r = { ok: false, err: null, detail: `threw ${e?.constructor?.name ?? 'error'}: ${e?.message ?? e}` };
    }
    const result = { name, ok: !!r.ok, relErr: r.err ?? null, detail: r.detail ?? '', ms: +(performance.now() - t0).toFixed(2) };
    results.push(result);
    log(result);
  }
  return results;
}
