// The shape of the native addon's exports (cpp/binding/). Internal: the public API wraps these.

/** Element types a tensor can hold. */
export type DTypeName = 'float32' | 'uint8' | 'int32';
/** The typed arrays that carry tensor data across the boundary. */
export type TypedArray = Float32Array | Uint8Array | Int32Array;

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DTypeName;
  /** 'cpu' or 'cuda:N'. */
  readonly device: string;
  /** Whether a running fit() holds it. */
  readonly busy: boolean;
  readonly disposed: boolean;
  /** A host copy of the contents (waits for pending device work). */
  toArray(): TypedArray;
  /** Frees the native buffer now; later use throws a TypeError. Idempotent. */
  dispose(): void;
  /** A copy on `device`. */
  to(device: string): NativeTensor;
  /** Overwrites this tensor's contents with `src` (same shape and dtype, any device). */
  copyFrom(src: NativeTensor): void;
}

export interface NativeTensorClass {
  /** Copies `data` (length = product of shape) into a new tensor on `device`. */
  new (data: TypedArray, shape: number[], device: string): NativeTensor;
  empty(shape: number[], dtype: DTypeName, device: string): NativeTensor;
  zeros(shape: number[], dtype: DTypeName, device: string): NativeTensor;
}

/** An optimizer's settings as the native side takes them. */
/** An optimizer's settings as the native update takes them (one variant per kind). */
export type NativeOptimizerOptions =
  | { kind: 'sgd'; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }
  | { kind: 'adam'; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupledWeightDecay: boolean; amsgrad: boolean }
  | { kind: 'rmsprop'; lr: number; alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean };

export interface NativeBackends {
  cpu: true;
  cuda: boolean;
  cudaDevices: number;
  /** Why CUDA is unavailable ('' when it is available). */
  reason: string;
}

export interface NativeOps {
  /** c = alpha·op(a)·op(b) + beta·c in place; 2-D float32 tensors on one device. */
  gemm(a: NativeTensor, b: NativeTensor, c: NativeTensor, transA: boolean, transB: boolean,
       alpha: number, beta: number): void;
  /** y = x·wᵀ + b, then ReLU when relu. x: [B, in], w: [out, in], b: [out] or null → y: [B, out]. */
  linear(x: NativeTensor, w: NativeTensor, b: NativeTensor | null, relu: boolean): NativeTensor;
  /** The gradients of linear: dW [out,in] (+)= dyᵀ·x, db [out] (+)= Σ dy, returns dx = dy·W when wantDx. */
  linearBackward(x: NativeTensor, w: NativeTensor, dy: NativeTensor, dw: NativeTensor,
                 db: NativeTensor | null, accumulate: boolean, wantDx: boolean): NativeTensor | null;
  /** y += x (same shape, float32): gradient accumulation. */
  addInPlace(y: NativeTensor, x: NativeTensor): void;
  /** dx = y > 0 ? dy : 0. */
  reluBackward(dy: NativeTensor, y: NativeTensor): NativeTensor;
  /** db (+)= column sums of dy [B, N]. */
  biasGrad(dy: NativeTensor, db: NativeTensor, accumulate: boolean): void;
  /** Mean softmax cross-entropy of logits [B, C] against int32 labels [B]. */
  /** The loss (and the count of rows predicted right, when asked) are 0-d tensors on the logits' device. */
  softmaxCrossEntropy(logits: NativeTensor, labels: NativeTensor, wantGrad: boolean, wantCorrect?: boolean):
    { loss: NativeTensor; dlogits: NativeTensor | null; correct: NativeTensor | null };
  softmax(x: NativeTensor): NativeTensor;
  /** log_softmax over each row of x [B, C]. */
  logSoftmax(x: NativeTensor): NativeTensor;
  /** int32 [B]: the first index of each row's maximum. */
  argmax(x: NativeTensor): NativeTensor;
  /** y = op(x) (float32; a, b: the op's parameters, see cpp/backend.h UnaryOp). */
  unary(x: NativeTensor, op: NativeUnaryOp, a: number, b: number): NativeTensor;
  /** op(a, b) with broadcasting (see cpp/backend.h BinaryOp; param: LeakyReluGrad's slope). */
  binary(a: NativeTensor, b: NativeTensor, op: NativeBinaryOp, param: number): NativeTensor;
  /** The reduction of x along dim (every element when dim is null). */
  reduce(x: NativeTensor, op: 'sum' | 'mean' | 'max' | 'min', dim: number | null, keepdim: boolean): NativeTensor;
  /** Mean squared error; dpred = 2·(pred - target)/n when wantGrad. */
  /** The loss is a 0-d tensor on pred's device. */
  mse(pred: NativeTensor, target: NativeTensor, wantGrad: boolean): { loss: NativeTensor; dpred: NativeTensor | null };
  /** A tensor of `shape` sharing x's storage (same element count; [] for a scalar). */
  reshape(x: NativeTensor, shape: number[]): NativeTensor;
  /** x with its dimensions reordered (output dim i is x's dims[i]), as a contiguous copy. */
  permute(x: NativeTensor, dims: number[]): NativeTensor;
  /** x broadcast to `shape`, as a contiguous copy. */
  expand(x: NativeTensor, shape: number[]): NativeTensor;
  /** op(a)·op(b) for 2-D [M,K]·[K,N] or batched 3-D operands (a 2-D one shared by every batch). */
  matmul(a: NativeTensor, b: NativeTensor, transA: boolean, transB: boolean): NativeTensor;
  /** The tensors joined along dimension 0 (other dimensions equal). */
  catRows(tensors: NativeTensor[]): NativeTensor;
  /** Rows [start, start + count) of dimension 0, as a copy. */
  sliceRows(x: NativeTensor, start: number, count: number): NativeTensor;
  /** src [N, C] rows picked by indices → [B, C]. */
  /** src [N, C] or [N], float32 or int32: the rows at `indices`. */
  gatherRows(src: NativeTensor, indices: Int32Array): NativeTensor;
  /** float32 [B, classes]: 1 at each label (a row of NaN for a GPU label out of range). */
  oneHot(labels: NativeTensor, classes: number): NativeTensor;
  bernoulliMask(shape: number[], device: string, keep: number, scale: number, key0: number, key1: number): NativeTensor;
  /**
   * One optimizer update of params (PyTorch semantics). states[i]: param i's state tensors (SGD: its
   * momentum buffer when momentum != 0, else none); steps: the optimizer's int32 cpu step counts,
   * params[i] counting at steps[indices[i]] (advanced by this call).
   */
  optimizerStep(params: NativeTensor[], grads: NativeTensor[], states: NativeTensor[][], options: NativeOptimizerOptions,
                steps: NativeTensor, indices: number[]): void;
  /** x [B, F] = images[indices]·scale + shift as float32, y [B] = labels[indices] as int32. */
  gatherBatch(images: NativeTensor, labels: NativeTensor, indices: Int32Array, scale: number,
              shift: number): { x: NativeTensor; y: NativeTensor };
  /** The seeded permutation of [0, n) used for epoch `epoch` (same on every platform). */
  permutation(n: number, seed: number, epoch: number): Int32Array;
}

export type NativeUnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'relu' | 'leakyRelu' | 'sigmoid' | 'tanh' | 'gelu' |
  'pow' | 'clamp' | 'affine';
export type NativeBinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'gt' | 'lt' |
  'reluGrad' | 'leakyReluGrad' | 'sigmoidGrad' | 'tanhGrad' | 'geluGrad';
export type NativeActivation = 'none' | 'relu' | 'leakyRelu' | 'sigmoid' | 'tanh' | 'gelu';

export interface NativeLayer {
  weight: NativeTensor;
  bias: NativeTensor;
  activation: NativeActivation;
  /** LeakyRelu's negative slope. */
  slope: number;
  /** The optimizer's state tensors of weight and bias (NativeOps.optimizerStep's states). */
  weightState: NativeTensor[];
  biasState: NativeTensor[];
}

export interface NativeDriverOptions {
  layers: NativeLayer[];
  /** 'mse' needs input 'floats' and float targets as wide as the last layer. */
  loss: 'crossEntropy' | 'mse';
  /** 'bytes' (default): u8 images scaled in the gather; 'floats': float32 features. */
  input?: 'bytes' | 'floats';
  optimizer: NativeOptimizerOptions;
  /** int32 cpu [2·layers]: the optimizer steps of W0, b0, W1, …; the driver advances them. */
  steps: NativeTensor;
  /** Use the backend's fused executor when it has one for the plan. */
  fusion: boolean;
  /** CUDA sm_90+: cluster split-K kernels for the first layer at batches 129..1024. */
  cudaClusterLayer1: boolean;
  /** CUDA: TF32 tensor cores for fp32 GEMMs. */
  tf32: boolean;
}

export interface NativeFitOptions {
  images: NativeTensor;
  labels: NativeTensor;
  epochs: number;
  /** The 0-based index of the first epoch (its shuffle and record number); default 0. */
  firstEpoch?: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  dropLast: boolean;
  scale: number;
  shift: number;
  validation: { images: NativeTensor; labels: NativeTensor } | null;
  /** Report progress every this many steps. */
  progressEvery: number;
}

export interface NativeProgress {
  kind: 'batch' | 'epoch';
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  accuracy: number;
  samplesPerSecond: number;
  seconds: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface NativeEpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  samplesPerSecond: number;
  seconds: number;
}

export interface NativeDriver {
  fit(options: NativeFitOptions, onProgress: (p: NativeProgress) => void): Promise<NativeEpochRecord[]>;
  evaluate(images: NativeTensor, labels: NativeTensor, batchSize: number, scale: number, shift: number):
    Promise<{ loss: number; accuracy: number }>;
  /** Stops a running fit at the next step boundary; the promise rejects with an AbortError. */
  abort(): void;
  /** Ends the running fit after the epoch in progress. */
  stopAfterEpoch(): void;
  /** Which executor runs the steps. */
  readonly executor: 'fused' | 'composed';
}

/** Measurements of the machine itself (bench/, GEMM tests). */
export interface NativeBench {
  /** GFLOP/s of independent FMA chains on every pool thread for about `seconds`. */
  fmaPeak(seconds: number, isa?: string): number;
  /** The widest instruction set fmaPeak measures here. */
  fmaPeakIsa(): string;
  /** The CPU GEMM's kernel set now: 'avx512', 'avx2' or 'portable'. */
  gemmKernel(): string;
  /** Threads in the CPU pool. */
  threads(): number;
}

export interface NativeModule {
  Tensor: NativeTensorClass;
  Driver: new (options: NativeDriverOptions) => NativeDriver;
  backends(): NativeBackends;
  /** How often the host has waited for a device queue (downloads, synchronize, waiting frees); for tests. */
  hostSyncs(): number;
  /** Whether dropped tensors are freed inside the garbage collection (built with Node's basic finalizers). */
  basicFinalizers: boolean;
  ops: NativeOps;
  bench: NativeBench;
}
