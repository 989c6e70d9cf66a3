export { Module, Parameter, type TensorRecord } from './module';
export { Linear, type LinearOptions } from './linear';
export { ReLU } from './relu';
export { Sequential } from './sequential';
export { CrossEntropyLoss } from './loss';
