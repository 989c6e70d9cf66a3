export { SGD, type SGDOptions } from './sgd';
