// ESM entry: re-exports the CommonJS build, so ESM and CJS users share one module instance.
import tinynn from '../dist/index.js';

export const {
  nn, optim, Tensor, tensor, zeros, noGrad, isGradEnabled, backends, manualSeed, Generator, Trainer, Dataset,
  DataLoader, readIdx, parseIdx, MNIST_NORMALIZATION, save, load, softmax, crossEntropy, linear, relu, datasets,
} = tinynn;
