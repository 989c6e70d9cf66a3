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

export interface NativeSgdOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

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
  /** max(x, 0) as a new tensor. */
  relu(x: NativeTensor): NativeTensor;
  /** dx = y > 0 ? dy : 0. */
  reluBackward(dy: NativeTensor, y: NativeTensor): NativeTensor;
  /** db (+)= column sums of dy [B, N]. */
  biasGrad(dy: NativeTensor, db: NativeTensor, accumulate: boolean): void;
  /** Mean softmax cross-entropy of logits [B, C] against int32 labels [B]. */
  softmaxCrossEntropy(logits: NativeTensor, labels: NativeTensor, wantGrad: boolean):
    { loss: number; correct: number; dlogits: NativeTensor | null };
  /**
   * The fused tail of a training step: h ← act(h + hBias) in place when hBias is given, then the
   * last Linear layer, softmax cross-entropy and its backward (see Backend::linear_xent_step).
   */
  linearXentStep(h: NativeTensor, hBias: NativeTensor | null, reluInput: boolean, w: NativeTensor, b: NativeTensor,
                 labels: NativeTensor, wantDh: boolean): {
    loss: number; correct: number; logits: NativeTensor; dlogits: NativeTensor; dw: NativeTensor; db: NativeTensor;
    dh: NativeTensor | null; dhBias: NativeTensor | null;
  };
  /**
   * linearXentStep followed by one SGD step, in place, of w (with dw), b (with db) and, when wantDh
   * and hBias are given, of hBias (with dhBias) (see Backend::linear_xent_sgd_step).
   * momentumBuffers: [w, b, hBias] buffers, entries null when momentum is 0.
   */
  linearXentSgdStep(h: NativeTensor, hBias: NativeTensor | null, reluInput: boolean, w: NativeTensor, b: NativeTensor,
                    labels: NativeTensor, wantDh: boolean, momentumBuffers: (NativeTensor | null)[],
                    options: NativeSgdOptions, firstStep: boolean): {
    loss: number; correct: number; logits: NativeTensor; dlogits: NativeTensor; dw: NativeTensor; db: NativeTensor;
    dh: NativeTensor | null; dhBias: NativeTensor | null;
  };
  /**
   * The batch gather and the first Linear layer in one call: x and y as gatherBatch, then
   * h [B, out] = act(x·wᵀ + b) (w: [out, F]; b null for none; ReLU when relu).
   */
  gatherLinear(images: NativeTensor, labels: NativeTensor, indices: Int32Array, scale: number, shift: number,
               w: NativeTensor, b: NativeTensor | null, relu: boolean): { x: NativeTensor; y: NativeTensor; h: NativeTensor };
  /** dw [out, in] = dyᵀ·x (dy: [B, out], x: [B, in]), returned, then one SGD step of w in place. */
  linearGradSgd(dy: NativeTensor, x: NativeTensor, w: NativeTensor, momentumBuffer: NativeTensor | null,
                options: NativeSgdOptions, firstStep: boolean): NativeTensor;
  softmax(x: NativeTensor): NativeTensor;
  /** int32 [B]: the first index of each row's maximum. */
  argmax(x: NativeTensor): NativeTensor;
  /** One SGD step (PyTorch semantics) over all params; momentumBuffers[i] null when momentum is 0. */
  sgdStep(params: NativeTensor[], grads: NativeTensor[], momentumBuffers: (NativeTensor | null)[],
          options: NativeSgdOptions, firstStep: boolean): void;
  /** x [B, F] = images[indices]·scale + shift as float32, y [B] = labels[indices] as int32. */
  gatherBatch(images: NativeTensor, labels: NativeTensor, indices: Int32Array, scale: number,
              shift: number): { x: NativeTensor; y: NativeTensor };
  /** The seeded permutation of [0, n) used for epoch `epoch` (same on every platform). */
  permutation(n: number, seed: number, epoch: number): Int32Array;
}

export interface NativeLayer {
  weight: NativeTensor;
  bias: NativeTensor;
  relu: boolean;
}

export interface NativeDriverOptions {
  layers: NativeLayer[];
  /** One per parameter in the order W0, b0, W1, b1, …; null entries when momentum is 0. */
  momentumBuffers: (NativeTensor | null)[];
  sgd: NativeSgdOptions;
  momentumInitialized: boolean;
}

export interface NativeFitOptions {
  images: NativeTensor;
  labels: NativeTensor;
  epochs: number;
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
  readonly momentumInitialized: boolean;
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
  ops: NativeOps;
  bench: NativeBench;
}
