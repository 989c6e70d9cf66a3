// tinynn: train and run small neural networks from Node.js on a native C++/CUDA core.
import { mnist } from './data/mnist';

export * as nn from './nn/index';
export * as optim from './optim/index';
export { Tensor, tensor, zeros, ones, randn, arange, noGrad, isGradEnabled, tidy, type DType, type TensorOptions, type NestedArray, type FactoryOptions } from './tensor';
export { cat, stack, indexSelect } from './ops/join';
export { matmul } from './ops/linalg';
export type { Operand } from './ops/elementwise';
export { backends, type BackendInfo, type Device, type DeviceSpec } from './device';
export { manualSeed, Generator } from './random';
export { EarlyStopping, type EarlyStoppingOptions } from './early-stopping';
export { Trainer, type TrainerOptions, type FitOptions, type History, type EpochRecord, type BatchProgress, type Evaluation } from './trainer';
export { Dataset, type DatasetOptions, type Normalization } from './data/dataset';
export { DataLoader, type DataLoaderOptions, type Batch } from './data/dataloader';
export { TensorDataset, type TensorDatasetOptions } from './data/tensor-dataset';
export { readCsv, parseCsv, type CsvOptions } from './data/csv';
export { readIdx, parseIdx, type IdxArray } from './data/idx';
export { MNIST_NORMALIZATION, type MnistOptions, type Mnist } from './data/mnist';
export { save, load, type LoadOptions } from './io/save-load';
export { saveCheckpoint, loadCheckpoint, type CheckpointParts } from './io/checkpoint';
export { exportOnnx, type OnnxExportOptions } from './onnx/export';
export { crossEntropy, linear } from './functional';
export { softmax, logSoftmax, relu, leakyRelu, sigmoid, tanh, gelu } from './ops/activations';

/** Built-in datasets. */
export const datasets = { mnist };
