// tinynn: train and run small neural networks from Node.js on a native C++/CUDA core.
import { mnist } from './data/mnist';

export * as nn from './nn/index';
export * as optim from './optim/index';
export { Tensor, tensor, zeros, noGrad, isGradEnabled, type DType, type TensorOptions, type NestedArray } from './tensor';
export { backends, type BackendInfo, type Device, type DeviceSpec } from './device';
export { manualSeed, Generator } from './random';
export { Trainer, type TrainerOptions, type FitOptions, type History, type EpochRecord, type BatchProgress, type Evaluation } from './trainer';
export { Dataset, type DatasetOptions, type Normalization } from './data/dataset';
export { DataLoader, type DataLoaderOptions, type Batch } from './data/dataloader';
export { readIdx, parseIdx, type IdxArray } from './data/idx';
export { MNIST_NORMALIZATION, type MnistOptions, type Mnist } from './data/mnist';
export { save, load } from './io/save-load';
export { softmax, crossEntropy, linear, relu } from './functional';

/** Built-in datasets. */
export const datasets = { mnist };
