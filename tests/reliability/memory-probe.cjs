// Run by tests/memory.test.ts as `node --expose-gc memory-probe.cjs`: trains, churns tensors and
// reports RSS and V8's external-memory counter (where the addon reports its native buffers) at
// each stage as one JSON line on stdout. Plain CommonJS so it needs no transpiler.
'use strict';
const path = require('path');
const { nn, optim, Trainer, datasets, tensor, zeros, manualSeed } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
const MB = 1024 * 1024;

// GC, then let N-API finalizers (which run after the collection, on a later tick) free the
// native buffers: rounds until V8's external-memory counter (the addon's native buffers) stops
// falling, at least 4 and at most 50, since on a loaded machine (other test files running beside
// this one) the finalizers of one collection can take several ticks to all run.
async function settle() {
  let before = Infinity;
  for (let i = 0; i < 50; i++) {
    global.gc();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
    const external = process.memoryUsage().external;
    if (i >= 3 && external >= before) return;
    before = external;
  }
}
function sample() {
  const m = process.memoryUsage();
  return { rss: m.rss / MB, external: m.external / MB, heapUsed: m.heapUsed / MB, heapTotal: m.heapTotal / MB };
}

async function main() {
  const epochs = Number(process.argv[2] ?? 30);
  const out = {};
  manualSeed(1);
  const { train } = await datasets.mnist();
  const subset = train.subset(0, 2000);
  const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
  const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }), loss: new nn.CrossEntropyLoss() });

  // Warm-up: the driver's workspaces, the thread pool's stacks and malloc's arenas come into being.
  await trainer.fit(subset, { epochs: 3, batchSize: 64, seed: 1 });
  await trainer.evaluate(subset);
  await settle();
  out.afterWarmup = sample();
  // 30 epochs as 30 separate fit() calls: every call's setup and teardown is exercised too.
  for (let e = 0; e < epochs; e++) await trainer.fit(subset, { epochs: 1, batchSize: 64, seed: e });
  await trainer.evaluate(subset);
  await settle();
  out.afterTraining = sample();

  // 10 000 tensors created and dropped without dispose() (only the GC frees them) and 10 000
  // disposed explicitly, twice each (the second is a no-op), per round: two warm-up rounds (malloc
  // settles into its arenas and free lists), then three measured rounds.
  const churn = async () => {
    for (let i = 0; i < 10000; i++) {
      const t = tensor(new Float32Array(1024), { shape: [32, 32] });
      if (i % 2) t.toArray();
    }
    for (let i = 0; i < 10000; i++) {
      const t = zeros([1024]);
      t.dispose();
      t.dispose();
    }
    await settle();
  };
  await churn();
  await churn();
  out.beforeTensors = sample();
  for (let r = 0; r < 3; r++) await churn();
  out.afterTensors = sample();

  // 200 MB of tensors held, then dropped: the finalizers must give the memory back. 50 MB each,
  // above glibc's largest mmap threshold (32 MB), so a freed buffer goes back to the OS at once
  // and RSS shows it (smaller blocks may stay in malloc's free lists, reused, not returned).
  const big = 50 * MB / 4;
  let held = Array.from({ length: 4 }, () => zeros([big]));
  out.holding200MB = sample();
  held = null;
  await settle();
  out.after200MBCollected = sample();
  held = Array.from({ length: 4 }, () => zeros([big]));
  out.holding200MBAgain = sample();
  for (const t of held) { t.dispose(); t.dispose(); }
  out.after200MBDisposed = sample();
  held = null;
  await settle();
  out.end = sample();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
main().catch((err) => { console.error(err); process.exit(1); });
