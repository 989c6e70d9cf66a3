// exportOnnx: a module's inference graph as an ONNX model file, for onnxruntime (web, mobile,
// Python, C++) and other ONNX consumers.
import { describe } from '../device';
import { writeFileAtomic } from '../io/atomic-write';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { lowerGraph, SUPPORTED_OPS } from './lower';
import { DataType, modelProto } from './schema';
import { traceModel } from './trace-model';

/** Options for {@link exportOnnx}. */
export interface OnnxExportOptions {
  /**
   * The shape of one example, without the batch dimension (e.g. [784]); the exported input is
   * [batch, ...inputShape] with a dynamic batch. Default: [inFeatures] of the model's first Linear.
   */
  inputShape?: readonly number[];
  /** The ONNX opset (default 17; 13 to 23). */
  opset?: number;
  /** The graph input's name (default 'input'). */
  inputName?: string;
  /** The graph output's name (default 'output'). */
  outputName?: string;
}

/** The opsets exportOnnx writes: 13 fixed Softmax's axis semantics to PyTorch's. */
export const ONNX_OPSETS = { min: 13, max: 23, default: 17 } as const;

// The IR version each opset came with (onnx/docs/Versioning.md), the lowest a reader must know.
function irVersion(opset: number): number {
  return opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : opset <= 22 ? 10 : 11;
}

// The name of the batch dimension in the graph's input and output shapes.
const BATCH = 'batch';

// The package's version, for ModelProto.producer_version (the path holds from lib/ and dist/).
const PACKAGE_VERSION: string = (require('../../package.json') as { version: string }).version;

function checkOptions(model: Module, options: OnnxExportOptions): Required<OnnxExportOptions> {
  if (options === null || typeof options !== 'object') throw new TypeError(`exportOnnx: options must be an object, got ${describe(options)}`);
  const opset = options.opset ?? ONNX_OPSETS.default;
  if (!Number.isInteger(opset) || opset < ONNX_OPSETS.min || opset > ONNX_OPSETS.max) {
    throw new RangeError(`exportOnnx: opset must be an integer in [${ONNX_OPSETS.min}, ${ONNX_OPSETS.max}], got ${describe(opset)}`);
  }
  let inputShape = options.inputShape;
  if (inputShape === undefined) {
    const first = model.namedModules().find(([, m]) => m instanceof Linear)?.[1] as Linear | undefined;
    if (!first) throw new TypeError('exportOnnx: options.inputShape is required for a model without a Linear layer (the shape of one example, e.g. [4])');
    inputShape = [first.inFeatures];
  }
  if (!Array.isArray(inputShape) || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new TypeError(`exportOnnx: inputShape must be an array of integers >= 1 (one example's shape, without the batch), got ${describe(inputShape)}`);
  }
  const inputName = options.inputName ?? 'input', outputName = options.outputName ?? 'output';
  for (const [key, v] of [['inputName', inputName], ['outputName', outputName]] as const) {
    if (typeof v !== 'string' || v === '') throw new TypeError(`exportOnnx: ${key} must be a non-empty string, got ${describe(v)}`);
  }
  if (inputName === outputName) throw new RangeError(`exportOnnx: inputName and outputName are both '${inputName}'`);
  return { opset, inputShape, inputName, outputName };
}

function tensorType(elemType: number, shape: readonly number[], batchDims: readonly boolean[]) {
  return {
    tensorType: {
      elemType,
      shape: { dim: shape.map((d, k) => (batchDims[k] ? { dimParam: BATCH } : { dimValue: d })) },
    },
  };
}

/**
 * The ONNX model (serialized onnx.ModelProto) of `model`'s forward pass in eval mode. See
 * {@link exportOnnx}.
 */
export function onnxModelBytes(model: Module, options: OnnxExportOptions = {}): Uint8Array {
  const what = 'exportOnnx';
  if (!(model instanceof Module)) throw new TypeError(`${what}: expected the model to be an nn.Module, got ${describe(model)}`);
  const o = checkOptions(model, options);
  const graph = traceModel(model, o.inputShape, SUPPORTED_OPS, what);
  const lowered = lowerGraph(graph, o.inputName, o.opset, what);
  const params = model.namedParameters();
  const taken = new Set([...lowered.initializers.map((i) => i.name), ...lowered.nodes.flatMap((n) => n.output)]);
  for (const name of [o.inputName, o.outputName, ...params.map(([n]) => n)]) {
    if (taken.has(name)) throw new RangeError(`${what}: the name '${name}' is also one the exporter gives an intermediate value; rename it`);
  }
  const nodes = lowered.nodes;
  // The result keeps the output's name: the last node writing it is renamed, or an Identity
  // copies a value that no node computes (the input, a parameter, a constant).
  const producer = nodes.find((n) => n.output[0] === lowered.output);
  if (producer) {
    for (const n of nodes) n.input = n.input.map((v) => (v === lowered.output ? o.outputName : v));
    producer.output = [o.outputName];
  } else {
    nodes.push({ name: 'Identity_output', opType: 'Identity', input: [lowered.output], output: [o.outputName], attribute: [] });
  }
  const used = new Set(nodes.flatMap((n) => n.input));
  const initializers = [
    ...params.filter(([n]) => used.has(n)).map(([name, p]) => ({
      name, dims: [...p.shape], dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.from(p.toArray()).buffer),
    })),
    ...lowered.initializers,
  ];
  const batchInput = [true, ...o.inputShape.map(() => false)];
  const outputType = graph.outputDtype === 'int32' ? DataType.INT32 : DataType.FLOAT;
  const type = modelProto();
  const message = type.fromObject({
    irVersion: irVersion(o.opset),
    opsetImport: [{ domain: '', version: o.opset }],
    producerName: 'tinynn',
    producerVersion: PACKAGE_VERSION,
    graph: {
      name: model.constructor.name,
      node: nodes,
      initializer: initializers,
      input: [{ name: o.inputName, type: tensorType(DataType.FLOAT, [0, ...o.inputShape], batchInput) }],
      output: [{ name: o.outputName, type: tensorType(outputType, graph.outputShape, graph.outputBatchDims) }],
    },
  });
  return type.encode(message).finish();
}

/**
 * Writes `model`'s forward pass in eval mode as an ONNX model to `path` (atomically), for
 * onnxruntime (onnxruntime-node, onnxruntime-web, mobile, Python, C++) and other ONNX readers.
 *
 * The graph is traced: forward runs on random inputs while each tinynn op it calls is recorded,
 * so custom Modules export as well as Sequential ones. Linear becomes Gemm; ReLU, LeakyReLU,
 * Sigmoid, Tanh, GELU (exact, through Erf), Softmax and LogSoftmax their ONNX ops; Flatten and
 * reshapes Reshape; Dropout and Identity vanish (eval mode); arithmetic, reductions, matmul,
 * permute, cat and indexSelect map to their ONNX counterparts. Parameters are stored as
 * initializers under their state-dict names ('0.weight', 'fc1.bias', …). The input is named
 * `inputName` with shape [batch, ...inputShape] (batch dynamic), the result `outputName`.
 *
 * @example
 * await exportOnnx(model, 'mnist.onnx', { inputShape: [784] });
 * // onnxruntime: (await InferenceSession.create('mnist.onnx')).run({ input: new Tensor('float32', data, [n, 784]) })
 * @throws TypeError for a non-module, bad options, or an op without an ONNX form (naming the op
 *   and the module that called it); Error naming the module when forward computes values outside
 *   tinynn's ops (in JavaScript from toArray(), or at random); the file system's error on writing.
 */
export async function exportOnnx(model: Module, path: string, options: OnnxExportOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new TypeError(`exportOnnx: expected the path to be a non-empty string, got ${describe(path)}`);
  await writeFileAtomic(path, onnxModelBytes(model, options));
}
