// A worker_thread (tests/concurrency.test.ts) that loads tinynn (and so its own instance of the
// addon), trains the shared small run and posts back its weights, or starts a long fit and waits
// to be terminated in the middle of it.
'use strict';
const path = require('path');
const { parentPort, workerData } = require('worker_threads');
const { native, makeRun, weightsOf } = require(path.join(__dirname, 'train-common.cjs'));

async function main() {
  const { seed, epochs, mode } = workerData;
  const { model, trainer, data } = makeRun(seed);
  if (mode === 'terminate-mid-fit') {
    let started = false;
    await trainer.fit(data, { epochs: 100000, batchSize: 8, seed,
      onBatchEnd: () => { if (!started) { started = true; parentPort.postMessage({ started: true }); } } });
    return;
  }
  await trainer.fit(data, { epochs, batchSize: 16, seed });
  // A tensor made here comes from this env's constructor (per-env instance data) and works here.
  const t = new native.Tensor(new Float32Array([1, 2]), [2], 'cpu');
  parentPort.postMessage({ weights: weightsOf(model), ownTensor: t instanceof native.Tensor && t.toArray()[1] === 2 });
}
main().catch((err) => parentPort.postMessage({ error: String((err && err.stack) || err) }));
