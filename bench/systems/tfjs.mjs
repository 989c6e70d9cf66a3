// The TensorFlow.js systems, in this process: the pure-JS 'cpu' backend and the 'wasm' backend
// (its .wasm files load from node_modules; no download), each training a tf.sequential model with
// model.fit on tensors in memory. @tensorflow/tfjs-node is not used (it cannot be installed here).
// Both run on one thread in Node (the wasm backend's threaded build needs a browser), and are two
// orders of magnitude slower than the others, so each timed "epoch" is a fixed sub-epoch of
// `subEpoch` samples, which the report scales to samples/s and 60 000-sample epochs.
import { createRequire } from 'module';
import { HIDDEN, INPUTS, CLASSES, LR, MOMENTUM } from '../model-spec.mjs';

const require = createRequire(import.meta.url);

/** TensorFlow.js with the wasm backend registered, or the reason it cannot be loaded. */
export function loadTfjs() {
  try {
    const tf = require('@tensorflow/tfjs');
    require('@tensorflow/tfjs-backend-wasm');
    tf.enableProdMode();  // no per-op NaN checks and debug bookkeeping: tfjs at its best
    return { tf, reason: '' };
  } catch (err) {
    return { tf: null, reason: `TensorFlow.js is not installed (${err.code ?? err.message}); run npm run bench:setup` };
  }
}

/** Samples [first, first + count) of a tinynn Dataset as normalised float32 and one-hot labels. */
function toTensors(tf, dataset, first, count) {
  const x = new Float32Array(count * INPUTS);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const s = (first + i) % dataset.length;
    for (let j = 0; j < INPUTS; j++) x[i * INPUTS + j] = dataset.images[s * INPUTS + j] * dataset.scale + dataset.shift;
    y[i] = dataset.labels[s];
  }
  return { x: tf.tensor2d(x, [count, INPUTS]), labels: tf.tensor1d(y, 'int32') };
}

/** Row-major [rows, cols] → [cols, rows]: PyTorch's Linear weight [out, in] as a Dense kernel [in, out]. */
function transpose({ shape: [rows, cols], data }) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

export function tfjsSystem(tf, backend, { train, test }, subEpoch) {
  let model = null;
  let batchSize = 0;
  let first = 0;  // where the next sub-epoch starts in the training set
  const use = () => tf.setBackend(backend);
  return {
    name: `tfjs-${backend}`,
    description: `TensorFlow.js ${tf.version.tfjs}, ${backend} backend, model.fit (timed on ${subEpoch}-sample sub-epochs)`,
    subEpoch,
    async prepare(b, weights) {
      await use();
      model = tf.sequential({ layers: [
        tf.layers.dense({ inputShape: [INPUTS], units: HIDDEN, activation: 'relu' }),
        tf.layers.dense({ units: CLASSES }),
      ] });
      model.setWeights([
        tf.tensor2d(transpose(weights['0.weight']), [INPUTS, HIDDEN]), tf.tensor1d(weights['0.bias'].data),
        tf.tensor2d(transpose(weights['2.weight']), [HIDDEN, CLASSES]), tf.tensor1d(weights['2.bias'].data),
      ]);
      // tf.train.momentum: accum = μ·accum + g, w −= lr·accum, i.e. torch.optim.SGD's momentum.
      model.compile({ optimizer: tf.train.momentum(LR, MOMENTUM), loss: tf.losses.softmaxCrossEntropy });
      batchSize = b;
      first = 0;
    },
    async epoch() {
      await use();
      const { x, labels } = toTensors(tf, train, first, subEpoch);
      const y = tf.oneHot(labels, CLASSES);
      first = (first + subEpoch) % train.length;
      const t0 = performance.now();
      await model.fit(x, y, { batchSize, epochs: 1, shuffle: true, verbose: 0 });
      const seconds = (performance.now() - t0) / 1000;
      tf.dispose([x, labels, y]);
      return { seconds, samples: subEpoch };
    },
    async evaluate() {
      await use();
      const { x, labels } = toTensors(tf, test, 0, test.length);
      const correct = tf.tidy(() => model.predict(x).argMax(1).equal(labels).sum().dataSync()[0]);
      tf.dispose([x, labels]);
      return correct / test.length;
    },
    release() {
      model.optimizer.dispose();
      model.dispose();
      model = null;
    },
  };
}

/** The two TensorFlow.js systems. */
export function tfjsSystems(tf, data, subEpoch) {
  return ['cpu', 'wasm'].map((backend) => tfjsSystem(tf, backend, data, subEpoch));
}
