// Traced tinynn ops as ONNX nodes (default domain, opset 13 and later). Each rule matches tinynn's
// definition of the op exactly.
import { AttributeType, DataType } from './schema';
import type { TracedGraph, TracedOp, ValueRef } from './trace-model';

/** An ONNX attribute value, in the shape of onnx.AttributeProto. */
export interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  floats?: number[];
  ints?: number[];
}

/** An ONNX node, in the shape of onnx.NodeProto. */
export interface Node {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}

/** A constant tensor of the graph, in the shape of onnx.TensorProto. */
export interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

/** The nodes and constants that compute a traced graph, and the name of its result. */
export interface LoweredGraph {
  nodes: Node[];
  initializers: Initializer[];
  output: string;
}

type AttrValue = number | readonly number[] | { float: number } | { floats: readonly number[] };

// Builds nodes with unique names, grouped by the module that made them ('fc1/Gemm_0').
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private count = 0;
  scope = '';

  constructor(readonly opset: number) {}

  node(opType: string, input: string[], attrs: Record<string, AttrValue> = {}): string {
    const name = `${this.scope ? `${this.scope}/` : ''}${opType}_${this.count++}`;
    const attribute = Object.entries(attrs).map(([key, v]): Attribute => {
      if (typeof v === 'number') return { name: key, type: AttributeType.INT, i: v };
      if (Array.isArray(v)) return { name: key, type: AttributeType.INTS, ints: [...v] };
      if ('float' in (v as object)) return { name: key, type: AttributeType.FLOAT, f: (v as { float: number }).float };
      return { name: key, type: AttributeType.FLOATS, floats: [...(v as { floats: readonly number[] }).floats] };
    });
    this.nodes.push({ name, opType, input, output: [name], attribute });
    return name;
  }

  /** A float32 constant; a 0-d scalar by default. */
  floats(values: readonly number[], dims: readonly number[] = []): string {
    return this.initializer(DataType.FLOAT, dims, new Uint8Array(Float32Array.from(values).buffer));
  }

  /** An int64 constant (shapes, axes, indices). */
  int64s(values: readonly number[]): string {
    return this.initializer(DataType.INT64, [values.length], new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer));
  }

  initializer(dataType: number, dims: readonly number[], rawData: Uint8Array, name = `const_${this.initializers.length}`): string {
    this.initializers.push({ name, dims: [...dims], dataType, rawData: littleEndian(rawData, dataType) });
    return name;
  }
}

// TensorProto.raw_data is little-endian; typed arrays are in the host's byte order.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function littleEndian(bytes: Uint8Array, dataType: number): Uint8Array {
  if (HOST_LITTLE_ENDIAN) return bytes;
  const width = dataType === DataType.INT64 ? 8 : 4;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let k = 0; k < width; k++) out[i + k] = bytes[i + width - 1 - k];
  return out;
}

type Rule = (b: GraphBuilder, x: string[], op: TracedOp) => string;

const unary = (opType: string): Rule => (b, x) => b.node(opType, [x[0]]);

// x op other, where other is a tensor operand or a number attribute.
const binary = (opType: string): Rule => (b, x, op) =>
  b.node(opType, [x[0], typeof op.attrs.other === 'number' ? b.floats([op.attrs.other]) : x[1]]);

// A comparison gives 1 and 0 as float32 in tinynn, booleans in ONNX.
const comparison = (opType: string): Rule => (b, x, op) =>
  b.node('Cast', [binary(opType)(b, x, op)], { to: DataType.FLOAT });

// ReduceSum takes its axes as an input from opset 13, the other reductions from opset 18.
const reduction = (opType: string): Rule => (b, x, op) => {
  const dim = op.attrs.dim as number | null;
  const keepdims = op.attrs.keepdim ? 1 : 0;
  if (dim === null) return b.node(opType, [x[0]], { keepdims });
  const axesAsInput = opType === 'ReduceSum' || b.opset >= 18;
  return axesAsInput ? b.node(opType, [x[0], b.int64s([dim])], { keepdims }) : b.node(opType, [x[0]], { axes: [dim], keepdims });
};

const RULES: Record<string, Rule> = {
  // y = x·Wᵀ + b, then ReLU when fused.
  linear: (b, x, op) => {
    const y = b.node('Gemm', x, { transB: 1 });
    return op.attrs.relu ? b.node('Relu', [y]) : y;
  },
  matmul: (b, x) => b.node('MatMul', x),
  add: binary('Add'),
  sub: binary('Sub'),
  mul: binary('Mul'),
  div: binary('Div'),
  neg: unary('Neg'),
  exp: unary('Exp'),
  log: unary('Log'),
  sqrt: unary('Sqrt'),
  abs: unary('Abs'),
  pow: (b, x, op) => b.node('Pow', [x[0], b.floats([op.attrs.exponent as number])]),
  clamp: (b, x, op) => {
    const lo = op.attrs.min as number, hi = op.attrs.max as number;
    if (lo === -Infinity && hi === Infinity) return b.node('Identity', [x[0]]);
    const bounds = [lo === -Infinity ? '' : b.floats([lo]), ...(hi === Infinity ? [] : [b.floats([hi])])];
    return b.node('Clip', [x[0], ...bounds]);
  },
  eq: comparison('Equal'),
  gt: comparison('Greater'),
  lt: comparison('Less'),
  relu: unary('Relu'),
  sigmoid: unary('Sigmoid'),
  tanh: unary('Tanh'),
  leakyRelu: (b, x, op) => b.node('LeakyRelu', [x[0]], { alpha: { float: op.attrs.negativeSlope as number } }),
  // tinynn's GELU is the exact form, x·Φ(x) = x · (1 + erf(x/√2)) / 2.
  gelu: (b, x) => {
    const erf = b.node('Erf', [b.node('Div', [x[0], b.floats([Math.SQRT2])])]);
    const half = b.node('Mul', [b.node('Add', [erf, b.floats([1])]), b.floats([0.5])]);
    return b.node('Mul', [x[0], half]);
  },
  softmax: (b, x, op) => b.node('Softmax', [x[0]], { axis: op.attrs.dim as number }),
  logSoftmax: (b, x, op) => b.node('LogSoftmax', [x[0]], { axis: op.attrs.dim as number }),
  sum: reduction('ReduceSum'),
  mean: reduction('ReduceMean'),
  max: reduction('ReduceMax'),
  min: reduction('ReduceMin'),
  argmax: (b, x, op) => {
    const indices = b.node('ArgMax', [x[0]], { axis: op.attrs.dim as number, keepdims: op.attrs.keepdim ? 1 : 0 });
    return b.node('Cast', [indices], { to: DataType.INT32 });
  },
  // The traced shape with the batch dimension left to Reshape to infer (-1).
  reshape: (b, x, op) => {
    const dynamic = op.batchDims.filter(Boolean).length;
    if (dynamic > 1) {
      throw new RangeError(`op 'reshape' in ${op.module} gives shape [${op.shape.join(', ')}], where ${dynamic} dimensions ` +
        'follow the batch size; an ONNX Reshape can infer only one');
    }
    return b.node('Reshape', [x[0], b.int64s(op.shape.map((d, k) => (op.batchDims[k] ? -1 : d)))]);
  },
  permute: (b, x, op) => b.node('Transpose', [x[0]], { perm: op.attrs.dims as number[] }),
  detach: unary('Identity'),
  clone: unary('Identity'),
  cat: (b, x, op) => b.node('Concat', x, { axis: op.attrs.dim as number }),
  indexSelect: (b, x, op) => b.node('Gather', [x[0], b.int64s(op.attrs.indices as number[])], { axis: op.attrs.dim as number }),
};

/** The ops that can be exported, by tinynn name. */
export const SUPPORTED_OPS: readonly string[] = Object.keys(RULES);

function scopeOf(module: string): string {
  const m = /^module '(.*)' \(/.exec(module);
  return m ? m[1] : '';
}

/**
 * The ONNX nodes computing `graph`, reading the input named `input`; parameters are read from
 * initializers named as the parameters, which the caller adds. Every op must be one of SUPPORTED_OPS.
 * @throws RangeError for a reshape that ONNX cannot express with a dynamic batch.
 */
export function lowerGraph(graph: TracedGraph, input: string, opset: number, what: string): LoweredGraph {
  const b = new GraphBuilder(opset);
  graph.constants.forEach((c, i) => {
    const name = `constant_${i}`;
    if (c.dtype === 'float32') b.initializer(DataType.FLOAT, c.shape, new Uint8Array(Float32Array.from(c.data).buffer), name);
    else if (c.dtype === 'int32') b.initializer(DataType.INT32, c.shape, new Uint8Array(Int32Array.from(c.data).buffer), name);
    else throw new TypeError(`${what}: the forward pass uses a constant ${c.dtype} tensor of shape [${c.shape.join(', ')}]; only float32 and int32 constants can be exported`);
  });
  const outputs: string[] = [];
  const nameOf = (ref: ValueRef): string =>
    ref.kind === 'input' ? input : ref.kind === 'param' ? ref.name : ref.kind === 'const' ? `constant_${ref.index}` : outputs[ref.index];
  for (const op of graph.ops) {
    // traceModel refused every op outside SUPPORTED_OPS.
    const rule = RULES[op.op] as Rule;
    b.scope = scopeOf(op.module);
    try {
      outputs.push(rule(b, op.inputs.map(nameOf), op));
    } catch (err) {
      if (err instanceof RangeError) throw new RangeError(`${what}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  return { nodes: b.nodes, initializers: b.initializers, output: nameOf(graph.output) };
}
