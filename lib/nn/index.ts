export { Module, Parameter, type TensorRecord } from './module';
export { Linear, type LinearOptions } from './linear';
export { ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax } from './activation';
export { Flatten, Identity, Dropout, type DropoutOptions } from './shape-layers';
export { Sequential } from './sequential';
export {
  CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, BCEWithLogitsLoss, BCELoss,
  type Reduction, type ClassLossOptions, type CrossEntropyLossOptions,
} from './loss';
