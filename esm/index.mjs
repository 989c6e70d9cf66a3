// ESM entry: re-exports the CommonJS build, so ESM and CJS users share one module instance.
// `import tn from 'tinynn'` gives the whole API; named imports give its parts.
import tinynn from '../dist/index.js';

export default tinynn;
export const {
  nn, optim, Tensor, tensor, zeros, ones, randn, arange, cat, stack, indexSelect, matmul, noGrad, isGradEnabled, tidy,
  backends, manualSeed, Generator, Trainer, EarlyStopping, Dataset, TensorDataset, readCsv, parseCsv, DataLoader, readIdx, parseIdx, MNIST_NORMALIZATION, save, load,
  saveCheckpoint, loadCheckpoint, exportOnnx,
  crossEntropy, linear, softmax, logSoftmax, relu, leakyRelu, sigmoid, tanh, gelu, datasets,
} = tinynn;
