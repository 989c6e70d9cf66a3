// The loop scripts/leak-check.sh runs under LeakSanitizer: train / save / load / dispose, with GC,
// N times. Every native allocation it makes must be freed by the end (or be reachable from the
// addon's per-process state, which LeakSanitizer does not count as a leak).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { nn, optim, Trainer, datasets, save, load, tensor } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

async function settle() {
  for (let i = 0; i < 4; i++) {
    global.gc();
    await new Promise((r) => setImmediate(r));
  }
}

async function main() {
  const iterations = Number(process.argv[2] ?? 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-leak-'));
  const { train, test } = await datasets.mnist();
  const subset = train.subset(0, 2000);
  const validation = test.subset(0, 500);
  for (let i = 0; i < iterations; i++) {
    const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
    const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }), loss: new nn.CrossEntropyLoss() });
    await trainer.fit(subset, { epochs: 1, batchSize: 64, seed: i, validation });
    const file = path.join(dir, 'model.safetensors');
    await save(model, file);
    const copy = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
    await load(copy, file);
    await new Trainer(copy, { loss: new nn.CrossEntropyLoss() }).evaluate(validation);
    // Eager ops too (autograd graph, gradients).
    const x = tensor(new Float32Array(4 * 784), { shape: [4, 784] });
    const logits = copy.forward(x);
    logits.dispose();
    // An aborted fit and a failed load leave nothing behind either.
    const ac = new AbortController();
    await trainer.fit(subset, { epochs: 5, signal: ac.signal, onBatchEnd: () => ac.abort() }).catch(() => undefined);
    fs.writeFileSync(path.join(dir, 'bad.safetensors'), Buffer.from('garbage'));
    await load(copy, path.join(dir, 'bad.safetensors')).catch(() => undefined);
    // Dispose everything explicitly (half the time) or leave it to the GC.
    if (i % 2 === 0) for (const p of [...model.parameters(), ...copy.parameters()]) p.dispose();
    x.dispose();
    await settle();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  await settle();
  console.log(`leak loop: ${iterations} iterations of train / save / load / evaluate / dispose done`);
}
main().catch((err) => { console.error(err); process.exit(1); });
