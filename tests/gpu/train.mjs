// Trains the 784-128-10 MLP on MNIST on the GPU through the public API (dist/), then times epochs
// of each execution configuration, all in this one process:
//   default            fused executor (fusion 'auto')
//   fusion none        the composed executor, one primitive at a time
//   cudaClusterLayer1  fused, layer 1 as cluster split-K kernels at batches 129..1024 (sm_90+)
//   tf32               fused, cuBLAS GEMMs on TF32 tensor cores
//   adam               Adam (lr 1e-3) instead of SGD: the composed executor on CUDA (its fused
//                      kernels are SGD's), the fused one on the CPU
// at batch 64 and 512 (median of the last 3 of 5 epochs; the first two capture the CUDA graphs).
//   node tests/gpu/train.mjs [--out results.json]
// Needs dist/ (compiled TypeScript), the addon and MNIST (.gz or raw IDX) in $TINYNN_MNIST_DIR;
// no node_modules. $TINYNN_DIST points at another dist/ (a dry run against a private build).
// TINYNN_TRAIN_DEVICE=cpu runs the same script on the CPU (a dry run where there is no GPU; one
// timed epoch per configuration). Exit code: 0 passed, 1 a check failed, 2 CUDA unavailable.
import * as fs from 'fs';
import * as path from 'path';
import { outFile, repoRoot, require } from './load-addon.mjs';

const out = outFile();
const device = process.env.TINYNN_TRAIN_DEVICE === 'cpu' ? 'cpu' : 'cuda';
// The execution configurations timed, as Trainer options, and the executor each must report.
const CONFIGS = [
  { name: 'default', options: {}, executor: 'fused' },
  { name: 'fusion none', options: { fusion: 'none' }, executor: 'composed' },
  { name: 'cudaClusterLayer1', options: { cudaClusterLayer1: true }, executor: 'fused' },
  { name: 'tf32', options: { tf32: true }, executor: 'fused' },
  { name: 'adam', options: {}, adam: true, executor: device === 'cpu' ? 'fused' : 'composed' },
];
const report = { device, configs: CONFIGS, backends: null, checks: [], accuracyRun: null, depths: [], timings: [], passed: 0, failed: 0 };
const save = () => out && fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');

const tinynn = require(path.resolve(repoRoot, process.env.TINYNN_DIST || 'dist', 'index.js'));
const { nn, optim, Trainer, DataLoader, datasets, backends, manualSeed } = tinynn;

report.backends = backends();
console.log('backends():', JSON.stringify(report.backends));
if (device === 'cuda' && !report.backends.cuda) {
  report.unavailable = report.backends.reason;
  console.log(`CUDA unavailable: ${report.backends.reason}`);
  save();
  process.exit(2);
}

function check(name, ok, detail) {
  report.checks.push({ name, ok: !!ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
}

// One failing step is recorded and never stops the next.
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(name, false, `threw ${e?.constructor?.name ?? 'error'}: ${e?.message ?? e}`);
  }
}

function mlp(seed) {
  manualSeed(seed);
  return new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10)).to(device);
}

function trainer(model, options = {}, adam = false) {
  const optimizer = adam ? new optim.Adam(model.parameters(), { lr: 1e-3 }) : new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  return new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss(), ...options });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let mnist = null;
await step('load MNIST', async () => {
  const t0 = performance.now();
  mnist = await datasets.mnist({ dir: process.env.TINYNN_MNIST_DIR });
  const loaded = `${mnist.train.length} train + ${mnist.test.length} test images in ${((performance.now() - t0) / 1000).toFixed(2)} s`;
  check('MNIST loaded', mnist.train.length === 60000 && mnist.test.length === 10000, loaded);
});

if (mnist) {
  const { train, test } = mnist;
  let trained = null;

  // 5 epochs at batch 64 with the test set as validation: >= 97 % test accuracy.
  await step('train 5 epochs', async () => {
    const model = mlp(1);
    const t0 = performance.now();
    const history = await trainer(model).fit(train, { epochs: 5, batchSize: 64, seed: 7, validation: test });
    const wall = (performance.now() - t0) / 1000;
    const last = history.epochs[history.epochs.length - 1];
    report.accuracyRun = { epochs: history.epochs, executor: history.executor, wallSeconds: +wall.toFixed(3) };
    check('the default trainer runs the fused executor', history.executor === 'fused', `history.executor '${history.executor}'`);
    for (const e of history.epochs) {
      console.log(`  epoch ${e.epoch}: loss ${e.loss.toFixed(4)} acc ${(100 * e.accuracy).toFixed(2)} % ` +
        `val ${(100 * e.valAccuracy).toFixed(2)} % (${(1000 * e.seconds).toFixed(1)} ms)`);
    }
    check('test accuracy >= 97 %', last.valAccuracy >= 0.97, `${(100 * last.valAccuracy).toFixed(2)} % after 5 epochs at batch 64`);
    check('loss falls every epoch', history.epochs.every((e, i) => i === 0 || e.loss < history.epochs[i - 1].loss),
      history.epochs.map((e) => e.loss.toFixed(4)).join(' > '));
    trained = model;
  });

  // The trained weights move to the CPU intact: the CPU evaluates them to the same accuracy.
  await step('device move', async () => {
    if (!trained || device === 'cpu') return;
    const onDevice = await trainer(trained).evaluate(test);
    trained.to('cpu');
    const onCpu = await trainer(trained).evaluate(test);
    check('weights move to the cpu intact', Math.abs(onDevice.accuracy - onCpu.accuracy) <= 1e-3 &&
      Math.abs(onDevice.loss - onCpu.loss) <= 1e-4 * Math.max(1, onCpu.loss),
      `${device} ${(100 * onDevice.accuracy).toFixed(2)} % loss ${onDevice.loss.toFixed(5)}, ` +
      `cpu ${(100 * onCpu.accuracy).toFixed(2)} % loss ${onCpu.loss.toFixed(5)}`);
  });

  // The driver takes other routes for other depths (one Linear: no hidden layer; three and four:
  // middle layers as primitives between the fused stages): with either executor, its losses follow
  // the eager path's (one primitive per op from JS).
  await step('depths', async () => {
    const archs = [[[784, 10]], [[784, 48], [48, 24], [24, 10]], [[784, 40], [40, 30], [30, 20], [20, 10]]];
    const options = { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3, nesterov: false };
    const steps = 6;
    for (const dims of archs) {
      const make = () => {
        manualSeed(42);
        const mods = [];
        dims.forEach(([i, o], k) => { mods.push(new nn.Linear(i, o)); if (k + 1 < dims.length) mods.push(new nn.ReLU()); });
        return new nn.Sequential(...mods).to(device);
      };
      const eagerModel = make();
      const opt = new optim.SGD(eagerModel.parameters(), options);
      const lossFn = new nn.CrossEntropyLoss();
      const eager = [];
      for (const { x, y } of new DataLoader(train.subset(0, 64 * steps), { batchSize: 64 })) {
        const loss = lossFn.forward(eagerModel.forward(x.to(device)), y.to(device));
        opt.zeroGrad();
        loss.backward();
        opt.step();
        eager.push(loss.item());
      }
      for (const [fusion, want] of [['auto', 'fused'], ['none', 'composed']]) {
        const model = make();
        const t = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), options), loss: new nn.CrossEntropyLoss(), fusion });
        const losses = [];
        const executors = new Set();
        for (let k = 0; k < steps; k++) {
          const history = await t.fit(train.subset(64 * k, 64 * k + 64), { epochs: 1, batchSize: 64, shuffle: false });
          losses.push(history.epochs[0].loss);
          executors.add(history.executor);
        }
        const err = Math.max(...eager.map((e, i) => Math.abs(e - losses[i]) / Math.abs(e)));
        const ran = [...executors].join('/');
        report.depths.push({ widths: [dims[0][0], ...dims.map((d) => d[1])], fusion, executor: ran, eager, driver: losses, maxRelDiff: err });
        check(`driver (fusion '${fusion}') = eager, ${dims.length} Linear layers`, err <= 1e-4 && ran === want,
          `${steps} steps on the ${ran} executor, max rel loss difference ${err.toExponential(2)}`);
      }
    }
  });

  // Same seeds, same data, same GPU: bit-identical losses (fixed-order reductions, no float atomics).
  await step('reproducible', async () => {
    const run = async () => (await trainer(mlp(3)).fit(train, { epochs: 1, batchSize: 64, seed: 11 })).epochs[0];
    const a = await run();
    const b = await run();
    const same = a.loss === b.loss && a.accuracy === b.accuracy;
    check('bit-reproducible training', same, same ? `two 1-epoch runs: loss ${a.loss.toFixed(6)} both, exactly`
      : `loss ${a.loss} vs ${b.loss}, accuracy ${a.accuracy} vs ${b.accuracy}`);
  });

  // Epoch times of every configuration, in this process: 5 epochs per batch size and
  // configuration; the first two capture the CUDA graphs (the first has the momentum-initialising
  // step on its own, so its chunks differ from later epochs'), the median of the last three is
  // the number. The same seeds for all: the configurations train the same net on the same batches.
  const targets = { 64: 0.015, 512: 0.003 };
  for (const batchSize of [64, 512]) {
    for (const config of CONFIGS) {
      await step(`time batch ${batchSize}, ${config.name}`, async () => {
        const epochs = device === 'cpu' ? 1 : 5;
        const history = await trainer(mlp(5), config.options, config.adam).fit(train, { epochs, batchSize, seed: 13 });
        const seconds = history.epochs.map((e) => e.seconds);
        const steady = device === 'cpu' ? seconds : seconds.slice(2);
        const last = history.epochs[history.epochs.length - 1];
        const timing = { config: config.name, options: config.options, executor: history.executor, batchSize,
          epochSeconds: seconds, medianSeconds: median(steady), ms: +(1000 * median(steady)).toFixed(3),
          stepsPerEpoch: Math.ceil(train.length / batchSize),
          target: device === 'cuda' && config.name === 'default' ? targets[batchSize] : null,
          finalLoss: last.loss, finalAccuracy: last.accuracy };
        timing.microsecondsPerStep = +(1e6 * timing.medianSeconds / timing.stepsPerEpoch).toFixed(2);
        report.timings.push(timing);
        check(`batch ${batchSize}, ${config.name}: runs the ${config.executor} executor`, history.executor === config.executor,
          `history.executor '${history.executor}'`);
        // Every configuration's kernels must still train: a wrong kernel shows as chance accuracy or NaN.
        if (device === 'cuda') {
          check(`batch ${batchSize}, ${config.name}: trains`, last.accuracy >= 0.95,
            `training accuracy ${(100 * last.accuracy).toFixed(2)} % after ${epochs} epochs (>= 95 %), loss ${last.loss.toFixed(5)}`);
        }
        const base = report.timings.find((t) => t.batchSize === batchSize && t.config === 'default');
        if (base && base !== timing && !config.adam) timing.finalLossVsDefault = Math.abs(last.loss - base.finalLoss) / Math.abs(base.finalLoss);
        console.log(`  batch ${batchSize}, ${config.name} (${history.executor}): epochs ${seconds.map((s) => (1000 * s).toFixed(2)).join(', ')} ms; ` +
          `median ${timing.ms.toFixed(2)} ms (${timing.microsecondsPerStep} us/step)` +
          (timing.finalLossVsDefault !== undefined ? `; final loss ${timing.finalLossVsDefault.toExponential(1)} from default's` : ''));
      });
    }
  }
}

report.passed = report.checks.filter((c) => c.ok).length;
report.failed = report.checks.length - report.passed;
console.log(`train checks: ${report.passed} passed, ${report.failed} failed`);
save();
process.exit(report.failed ? 1 : 0);
