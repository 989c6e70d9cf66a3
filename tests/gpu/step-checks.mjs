// The training-step executors against each other, in one process, through native.Driver (the
// driver fit() runs): the same initial weights, momentum buffers, data and batches are trained on
//   cpu composed          the reference
//   cuda composed         fusion off: every step from primitives
//   cuda fused            fusion on: CudaFusedStep (gather + layer 1, the head kernel, dW + SGD)
//   cuda fused+cluster    fusion on with cudaClusterLayer1 (layer 1 as cluster split-K, 129..1024 rows)
// over the shapes and SGD settings the fused kernels cover (and some they hand back to the
// primitives), and plans CUDA composes but the CPU fuses (other activations, Adam, AdamW, RMSprop:
// cpu fused, cuda composed and cuda with fusion on, which must report 'composed'), then the epoch losses, validation losses, final weights, momentum buffers and step
// counts are compared: each CUDA run with the CPU within TOLERANCE (1e-4, max |a − b| / max |b|
// per tensor), the fused runs with CUDA composed within FUSED_TOLERANCE (1e-5); and each driver
// must report the executor asked for. Needs nothing but the addon. With device 'cpu' (a dry run)
// the "cuda" runs run on the CPU too (its fused executor, cudaClusterLayer1 ignored).
import { firstMismatch, relError, TOLERANCE } from './op-checks.mjs';

export const FUSED_TOLERANCE = 1e-5;

/** The runs of one step check; the first is the reference. */
export const STEP_RUNS = [
  { name: 'cpu composed', cuda: false, fusion: false, cudaClusterLayer1: false },
  { name: 'cuda composed', cuda: true, fusion: false, cudaClusterLayer1: false },
  { name: 'cuda fused', cuda: true, fusion: true, cudaClusterLayer1: false },
  { name: 'cuda fused+cluster', cuda: true, fusion: true, cudaClusterLayer1: true },
];

const sgd = (lr, momentum, dampening, weightDecay, nesterov) => ({ kind: 'sgd', lr, momentum, dampening, weightDecay, nesterov });
export const STEP_SGD = [
  ['plain', sgd(0.05, 0, 0, 0, false)],
  ['momentum 0.9', sgd(0.05, 0.9, 0, 0, false)],
  ['nesterov + weight decay', sgd(0.05, 0.9, 0, 1e-3, true)],
];

// [widths, ReLU between layers, batch sizes]. The MNIST net at every batch size the kernels treat
// differently (direct layer-1 kernels up to 128 rows, cuBLAS or the cluster kernels above, 1024
// the cluster kernels' last) with every SGD setting; then one Linear layer (no hidden layer), four
// layers (middle layers as primitives), widths that are not multiples of 4 (split-K layer 1, no
// cluster kernels), no activation, a head too wide for the head kernel (out 40 > 32), and the
// cluster head's widest (in 128, out 16), each with one SGD setting in turn.
export const STEP_PLANS = [
  [[784, 128, 10], true, [1, 7, 32, 64, 128, 129, 256, 512, 1024]],
  [[784, 10], true, [7, 64, 129, 512]],
  [[784, 64, 32, 10], true, [1, 64, 256, 1024]],
  [[100, 40, 12], true, [7, 128, 300]],
  [[785, 33, 10], true, [1, 33, 129, 300]],
  [[99, 37, 11, 5], true, [5, 130]],
  [[784, 32, 10], false, [64, 512]],
  [[784, 64, 40], true, [64, 512]],
  [[128, 128, 16], true, [64, 256]],
];

const adam = (lr, weightDecay, decoupledWeightDecay, amsgrad) => ({ kind: 'adam', lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay,
  decoupledWeightDecay, amsgrad });
const rmsprop = (lr, momentum, centered) => ({ kind: 'rmsprop', lr, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum, centered });

// Plans the CUDA fused kernels leave to the composed executor and the CPU fuses: [widths,
// activation, batch sizes, optimizer name, optimizer options].
export const COMPOSED_PLANS = [
  [[784, 64, 32, 10], 'gelu', [64, 512], 'Adam', adam(2e-3, 0, false, false)],
  [[784, 48, 10], 'tanh', [64, 300], 'AdamW amsgrad', adam(2e-3, 0.01, true, true)],
  [[784, 32, 10], 'sigmoid', [64], 'RMSprop centered momentum', rmsprop(1e-3, 0.5, true)],
  [[784, 40, 24, 10], 'leakyRelu', [129], 'SGD momentum', sgd(0.05, 0.9, 0, 0, false)],
];

/** Optimizer state tensors per parameter, as OptimizerConfig::state_count() counts them. */
function stateCount(o) {
  if (o.kind === 'sgd') return o.momentum !== 0 ? 1 : 0;
  if (o.kind === 'adam') return o.amsgrad ? 3 : 2;
  return 1 + (o.momentum !== 0 ? 1 : 0) + (o.centered ? 1 : 0);
}

const EPOCHS = 2;
const STEPS_PER_EPOCH = 3;
const SCALE = 1 / (255 * 0.3081);
const SHIFT = -0.1307 / 0.3081;

/** One step problem: initial parameters and momentum buffers, training and validation data. */
function makeProblem(rnd, widths, activation, batchSize, options, seed, progressEvery) {
  const layers = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const [inF, outF] = [widths[i], widths[i + 1]];
    const bound = 1 / Math.sqrt(inF);
    // Momentum buffers start as noise: the first step must overwrite them with the gradient.
    layers.push({ inF, outF, w: rnd.floats(outF * inF, -bound, bound), b: rnd.floats(outF, -bound, bound),
      mw: rnd.floats(outF * inF), mb: rnd.floats(outF), activation: i + 2 < widths.length ? activation : 'none' });
  }
  const classes = widths[widths.length - 1];
  // STEPS_PER_EPOCH batches, the last one partial where the batch allows it (a second workspace).
  const n = batchSize * STEPS_PER_EPOCH - (batchSize >= 3 ? Math.floor(batchSize / 3) : 0);
  const data = (count) => {
    const images = rnd.bytes(count * widths[0]);
    for (let i = 0; i < images.length; i++) if (images[i] < 110) images[i] = 0; // mostly-dark images, as MNIST's
    const labels = Uint8Array.from(rnd.ints(count, classes));
    return { images, labels, count };
  };
  return { widths, layers, options, batchSize, seed, progressEvery, train: data(n), validation: data(97) };
}

/** Trains `problem` on one run's device and options; resolves to what the comparison needs. */
async function train(native, device, run, problem) {
  const { Tensor, Driver } = native;
  const dev = run.cuda ? device : 'cpu';
  const made = [];
  const t = (data, shape, on = dev) => {
    const x = new Tensor(data, shape, on);
    made.push(x);
    return x;
  };
  try {
    // SGD's momentum buffers start as noise (the first step must overwrite them); Adam's and
    // RMSprop's states start at zero, as those optimizers start them.
    const sgdState = problem.options.kind === 'sgd';
    const states = (noise, shape) => Array.from({ length: stateCount(problem.options) },
      () => t(sgdState ? noise : new Float32Array(noise.length), shape));
    const layers = problem.layers.map((l) => ({
      weight: t(l.w, [l.outF, l.inF]), bias: t(l.b, [l.outF]), activation: l.activation, slope: 0.01,
      weightState: states(l.mw, [l.outF, l.inF]), biasState: states(l.mb, [l.outF]),
    }));
    const steps = t(new Int32Array(2 * layers.length), [2 * layers.length], 'cpu');
    const driver = new Driver({ layers, loss: 'crossEntropy', optimizer: problem.options, steps, fusion: run.fusion,
      cudaClusterLayer1: run.cudaClusterLayer1, tf32: false });
    const { train: d, validation: v, widths } = problem;
    const records = await driver.fit({
      images: t(d.images, [d.count, widths[0]]), labels: t(d.labels, [d.count]), epochs: EPOCHS,
      batchSize: problem.batchSize, shuffle: true, seed: problem.seed, dropLast: false, scale: SCALE, shift: SHIFT,
      validation: { images: t(v.images, [v.count, widths[0]]), labels: t(v.labels, [v.count]) },
      progressEvery: problem.progressEvery,
    }, () => {});
    return {
      executor: driver.executor,
      losses: records.map((r) => r.loss),
      valLosses: records.map((r) => r.valLoss),
      params: layers.flatMap((l) => [l.weight.toArray(), l.bias.toArray()]),
      states: layers.flatMap((l) => [...l.weightState, ...l.biasState]).map((s) => s.toArray()),
      steps: Array.from(steps.toArray()),
    };
  } finally {
    made.forEach((x) => x.dispose());
  }
}

/** The largest relative difference of run `a` from run `ref` over everything compared. */
function difference(a, ref) {
  const scalar = (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? Infinity : Math.abs(x - y) / Math.max(Math.abs(y), 1e-6));
  const parts = {
    losses: Math.max(...a.losses.map((x, i) => scalar(x, ref.losses[i])), ...a.valLosses.map((x, i) => scalar(x, ref.valLosses[i]))),
    weights: Math.max(0, ...a.params.map((p, i) => relError(p, ref.params[i]))),
    momentum: Math.max(0, ...a.states.map((s, i) => relError(s, ref.states[i]))),
    steps: a.steps.join() === ref.steps.join() ? 0 : Infinity,
  };
  const worst = Math.max(...Object.values(parts));
  const what = Object.entries(parts).find(([, v]) => v === worst)[0];
  return { worst, what };
}

/**
 * The step checks, as [name, async fn] pairs (runChecks in op-checks.mjs runs them). `native` is
 * the addon; `rnd` a generator from makeRandom; `device` the device under test.
 */
export function stepChecks(native, rnd, device = 'cuda') {
  const checks = [];
  let index = 0;
  for (const [widths, relu, batches] of STEP_PLANS) {
    const settings = widths.join('-') === '784-128-10' ? STEP_SGD : null;
    for (const batchSize of batches) {
      const list = settings ?? [STEP_SGD[index % STEP_SGD.length]];
      for (const [sgdName, options] of list) {
        const k = index++;
        const name = `step: ${widths.join('-')}${relu ? '' : ' (no ReLU)'} B=${batchSize} ${sgdName}`;
        checks.push([name, async () => {
          const problem = makeProblem(rnd, widths, relu ? 'relu' : 'none', batchSize, options, 101 + k, 1 + (k % 2));
          const out = [];
          for (const run of STEP_RUNS) out.push(await train(native, device, run, problem));
          const [ref, composed, ...fused] = out;
          const executors = out.map((o, i) => (o.executor === (STEP_RUNS[i].fusion ? 'fused' : 'composed') ? null : `${STEP_RUNS[i].name} ran ${o.executor}`)).filter(Boolean);
          const vsCpu = out.slice(1).map((o) => difference(o, ref));
          const vsComposed = fused.map((o) => difference(o, composed));
          const err = Math.max(...vsCpu.map((d) => d.worst));
          const fusedErr = Math.max(...vsComposed.map((d) => d.worst));
          const ok = executors.length === 0 && err <= TOLERANCE && fusedErr <= FUSED_TOLERANCE;
          const fmt = (d) => `${d.worst.toExponential(1)}${d.worst > 0 ? ` (${d.what})` : ''}`;
          const detail = `${executors.length ? `executor: ${executors.join(', ')}; ` : ''}` +
            `vs cpu: ${STEP_RUNS.slice(1).map((r, i) => `${r.name} ${fmt(vsCpu[i])}`).join(', ')} (tol ${TOLERANCE}); ` +
            `vs cuda composed: ${STEP_RUNS.slice(2).map((r, i) => `${r.name} ${fmt(vsComposed[i])}`).join(', ')} (tol ${FUSED_TOLERANCE}); ` +
            `losses ${ref.losses.map((l) => l.toFixed(4)).join(' ')}`;
          return { ok, err, detail, extra: { fusedErr, executors: out.map((o) => o.executor) } };
        }]);
      }
    }
  }

  // The plans CUDA composes: the CPU's fused executor is the reference (it equals the CPU's
  // composed one bit for bit, tests/executors.test.ts); CUDA with fusion on must run composed.
  const composedRuns = [
    { name: 'cpu fused', cuda: false, fusion: true, cudaClusterLayer1: false },
    { name: 'cuda composed', cuda: true, fusion: false, cudaClusterLayer1: false },
    { name: 'cuda fusion on', cuda: true, fusion: true, cudaClusterLayer1: false },
  ];
  for (const [widths, activation, batches, optimizerName, options] of COMPOSED_PLANS) {
    for (const batchSize of batches) {
      const k = index++;
      checks.push([`step: ${widths.join('-')} ${activation} B=${batchSize} ${optimizerName}`, async () => {
        const problem = makeProblem(rnd, widths, activation, batchSize, options, 101 + k, 1 + (k % 2));
        const out = [];
        for (const run of composedRuns) out.push(await train(native, device, run, problem));
        const [ref, ...cuda] = out;
        const expected = device === 'cpu' ? ['fused', 'composed', 'fused'] : ['fused', 'composed', 'composed'];
        const executors = out.map((o, i) => (o.executor === expected[i] ? null : `${composedRuns[i].name} ran ${o.executor}`)).filter(Boolean);
        const vsCpu = cuda.map((o) => difference(o, ref));
        const err = Math.max(...vsCpu.map((d) => d.worst));
        const ok = executors.length === 0 && err <= TOLERANCE;
        const detail = `${executors.length ? `executor: ${executors.join(', ')}; ` : ''}vs cpu fused: ` +
          `${composedRuns.slice(1).map((r, i) => `${r.name} ${vsCpu[i].worst.toExponential(1)}${vsCpu[i].worst > 0 ? ` (${vsCpu[i].what})` : ''}`).join(', ')} ` +
          `(tol ${TOLERANCE}); losses ${ref.losses.map((l) => l.toFixed(4)).join(' ')}`;
        return { ok, err, detail, extra: { executors: out.map((o) => o.executor) } };
      }]);
    }
  }

  // Same weights, data and batches, twice on one device: the same bits (fixed-order reductions,
  // no float atomics, in the fused kernels and the graphs that replay them).
  for (const [batchSize, cudaClusterLayer1] of [[64, false], [512, false], [512, true], [1024, true]]) {
    const run = { name: 'cuda fused', cuda: true, fusion: true, cudaClusterLayer1 };
    checks.push([`step: cuda fused${cudaClusterLayer1 ? '+cluster' : ''} is bit-reproducible (784-128-10, B=${batchSize}, momentum, twice)`, async () => {
      const problem = makeProblem(rnd, [784, 128, 10], 'relu', batchSize, STEP_SGD[1][1], 7, 2);
      const a = await train(native, device, run, problem);
      const b = await train(native, device, run, problem);
      const at = a.params.map((p, i) => firstMismatch(p, b.params[i]));
      const same = at.every((j) => j < 0) && a.losses.every((l, i) => Object.is(l, b.losses[i]));
      return { ok: same, err: 0, detail: same ? `losses ${a.losses.join(' ')} twice, weights the same bits`
        : `losses ${a.losses.join(' ')} then ${b.losses.join(' ')}; first differing weight per tensor ${at.join(' ')}` };
    }]);
  }
  return checks;
}
