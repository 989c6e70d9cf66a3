// exportOnnx against a real ONNX client: onnxruntime-node loads each exported file and must give
// tinynn's outputs (within 1e-5) on 256 inputs, at any batch size; the file's structure (names,
// opset, dynamic batch) is read back with the ONNX schema; unsupported models fail naming the op
// or the module.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { cat, crossEntropy, exportOnnx, indexSelect, stack, manualSeed, nn, noGrad, randn, tensor, type Tensor } from '../dist/index.js';
import { modelProto } from '../dist/onnx/schema.js';
import { mlp } from '../dist/cli/mlp.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-onnx-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

async function exported(model: nn.Module, options: Parameters<typeof exportOnnx>[2] = {}): Promise<string> {
  const file = path.join(dir, `model-${fileCount++}.onnx`);
  await exportOnnx(model, file, options);
  return file;
}

// onnxruntime's output for `x`, with its dims.
async function runOnnx(file: string, x: Tensor): Promise<{ data: ArrayLike<number>; dims: readonly number[]; type: string }> {
  const session = await ort.InferenceSession.create(file);
  expect(session.inputNames).toEqual(['input']);
  expect(session.outputNames).toEqual(['output']);
  const result = await session.run({ input: new ort.Tensor('float32', x.toArray(), [...x.shape]) });
  const out = result.output;
  return { data: out.data as ArrayLike<number>, dims: out.dims, type: out.type };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

// Exports `model`, runs 256 inputs through onnxruntime and tinynn, and compares.
async function expectSameOutputs(model: nn.Module, exampleShape: number[], options: Parameters<typeof exportOnnx>[2] = {}): Promise<string> {
  const file = await exported(model, { inputShape: exampleShape, ...options });
  const x = randn([256, ...exampleShape]);
  const want = noGrad(() => model.eval().forward(x));
  const got = await runOnnx(file, x);
  expect(got.dims).toEqual(want.shape);
  const diff = maxAbsDiff(got.data, want.toArray());
  expect(diff).toBeLessThanOrEqual(1e-5);
  return file;
}

function readModel(file: string) {
  const type = modelProto();
  return type.toObject(type.decode(fs.readFileSync(file)), { longs: Number, defaults: true }) as {
    irVersion: number;
    opsetImport: { domain: string; version: number }[];
    producerName: string;
    graph: {
      node: { opType: string; input: string[]; output: string[] }[];
      initializer: { name: string; dims: number[] }[];
      input: { name: string; type: { tensorType: { elemType: number; shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[];
      output: { name: string; type: { tensorType: { elemType: number; shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[];
    };
  };
}

const dims = (d: { dimValue?: number; dimParam?: string }[]) => d.map((x) => x.dimParam || x.dimValue);

describe('exportOnnx: onnxruntime gives tinynn\'s outputs', () => {
  it('the MNIST MLP (784-128-10): Gemm, Relu, Gemm, weights under their state-dict names', async () => {
    manualSeed(1);
    const model = mlp(nn, [128], 'relu');
    const file = await expectSameOutputs(model, [784]);
    const m = readModel(file);
    expect(m.opsetImport).toEqual([{ domain: '', version: 17 }]);
    expect(m.irVersion).toBe(8);
    expect(m.producerName).toBe('tinynn');
    expect(m.graph.node.map((n) => n.opType)).toEqual(['Gemm', 'Relu', 'Gemm']);
    expect(m.graph.initializer.map((i) => [i.name, i.dims])).toEqual([
      ['0.weight', [128, 784]], ['0.bias', [128]], ['2.weight', [10, 128]], ['2.bias', [10]],
    ]);
    expect(m.graph.input.map((i) => [i.name, dims(i.type.tensorType.shape.dim)])).toEqual([['input', ['batch', 784]]]);
    expect(m.graph.output.map((o) => [o.name, dims(o.type.tensorType.shape.dim)])).toEqual([['output', ['batch', 10]]]);
  });

  it('a regression net with Tanh, at batch sizes 1, 7 and 256 (the batch dimension is dynamic)', async () => {
    manualSeed(2);
    const model = new nn.Sequential(new nn.Linear(3, 16), new nn.Tanh(), new nn.Linear(16, 16), new nn.Tanh(), new nn.Linear(16, 1));
    const file = await expectSameOutputs(model, [3]);
    for (const batch of [1, 7]) {
      const x = randn([batch, 3]);
      const got = await runOnnx(file, x);
      expect(got.dims).toEqual([batch, 1]);
      expect(maxAbsDiff(got.data, noGrad(() => model.forward(x)).toArray())).toBeLessThanOrEqual(1e-5);
    }
  });

  it('a custom Module (fields, tensor methods, a constant made in forward)', async () => {
    manualSeed(3);
    class Residual extends nn.Module {
      inp = new nn.Linear(6, 12);
      hidden = new nn.Linear(12, 12);
      head = new nn.Linear(12, 4);
      scale = new nn.Parameter(randn([12]));
      forward(x: Tensor): Tensor {
        const h = this.inp.forward(x).gelu();
        const r = h.add(this.hidden.forward(h).sigmoid().mul(this.scale));
        const shift = tensor([0.5, -0.25, 1, 0]);
        return this.head.forward(r.leakyRelu(0.2)).sub(shift).logSoftmax(-1);
      }
    }
    const model = new Residual();
    const file = await expectSameOutputs(model, [6]);
    const names = readModel(file).graph.initializer.map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['inp.weight', 'inp.bias', 'hidden.weight', 'scale', 'head.bias']));
  });

  it('every layer: Flatten, GELU, Dropout (left out), LeakyReLU, Sigmoid, Identity, Softmax, LogSoftmax; the model\'s mode is kept', async () => {
    manualSeed(4);
    const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(12, 16), new nn.GELU(), new nn.Dropout(0.5),
      new nn.Linear(16, 16), new nn.LeakyReLU(0.1), new nn.Linear(16, 8), new nn.Sigmoid(), new nn.Identity(),
      new nn.Linear(8, 5), new nn.Softmax(1), new nn.LogSoftmax());
    model.train();
    const file = await exported(model, { inputShape: [3, 4] });
    expect(model.training).toBe(true);
    expect(model.layers.every((l) => l.training && !Object.hasOwn(l, 'forward'))).toBe(true);
    expect(readModel(file).graph.node.map((n) => n.opType)).not.toContain('Dropout');
    await expectSameOutputs(model, [3, 4]);
  });

  it('arithmetic, reductions, comparisons and shape ops in a custom forward', async () => {
    manualSeed(5);
    class Mixed extends nn.Module {
      fc = new nn.Linear(8, 6);
      proj = new nn.Parameter(randn([3, 4]));
      forward(x: Tensor): Tensor {
        const h = this.fc.forward(x);                                  // [B, 6]
        const pos = h.abs().add(1).log().sqrt().pow(3);
        const clipped = h.clamp(-0.5).sub(h.clamp(null, 0.5)).neg().exp();
        const masks = h.gt(0).add(h.lt(-0.2)).add(h.eq(h.max(1, true)));
        const both = pos.div(clipped.add(masks)).mul(h.tanh());
        const grid = both.reshape(-1, 2, 3).permute(0, 2, 1);          // [B, 3, 2]
        const mixed = grid.transpose(1, 2).matmul(this.proj);           // [B, 2, 4]
        const flat = mixed.flatten(1);                                  // [B, 8]
        const stats = [flat.sum(1, true), flat.mean(1, true), flat.min(1, true), flat.max(-1, true), flat.sum(1).reshape(-1, 1)];
        const rows = grid.permute(1, 0, 2);                            // [3, B, 2]
        const picked = rows.reshape(3, -1).t().div(rows.reshape(3, -1).t().abs().add(1)); // [2B, 3]
        const summary = picked.reshape(-1, 6).mean(1, true);           // [B, 1]
        // Whole-tensor reductions, of the batch and of a parameter.
        const whole = flat.mean().add(flat).mean(1, true).sub(this.proj.max()).add(this.proj.sum(null, true).reshape(1));
        return [...stats, summary, whole].reduce((a, b) => a.add(b.mul(0.5)));
      }
    }
    const model = new Mixed();
    for (const opset of [13, 17, 18, 23]) await expectSameOutputs(model, [8], { opset });
  });

  it('cat, stack and indexSelect', async () => {
    manualSeed(6);
    class Join extends nn.Module {
      a = new nn.Linear(5, 4);
      b = new nn.Linear(5, 3);
      forward(x: Tensor): Tensor {
        const joined = cat([this.a.forward(x), this.b.forward(x).relu()], 1);     // [B, 7]
        const picked = indexSelect(joined, 1, [6, 0, 0, 3]);                      // [B, 4]
        const rows = indexSelect(this.a.weight, 0, [3, 1]);                       // [2, 5]: from a parameter
        return stack([picked, joined.sum(1, true).mul(tensor([1, 2, 3, 4])), cat([x.matmul(rows.t()), x.matmul(rows.t()).neg()], 1)], 2).flatten(1);
      }
    }
    await expectSameOutputs(new Join(), [5]);
  });

  it('an int32 output (argmax) and a model that returns its input', async () => {
    manualSeed(7);
    class Classify extends nn.Module {
      fc = new nn.Linear(4, 6);
      forward(x: Tensor): Tensor { return this.fc.forward(x).argmax(1); }
    }
    const model = new Classify();
    const file = await exported(model, { inputShape: [4] });
    const x = randn([256, 4]);
    const got = await runOnnx(file, x);
    expect(got.type).toBe('int32');
    expect(Array.from(got.data)).toEqual(Array.from(noGrad(() => model.forward(x)).toArray<'int32'>()));
    const identity = await exported(new nn.Identity(), { inputShape: [2, 3] });
    const y = randn([5, 2, 3]);
    expect(Array.from((await runOnnx(identity, y)).data)).toEqual(Array.from(y.toArray()));
  });

  it('opset 13 to 23 and custom input and output names', async () => {
    manualSeed(8);
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.Softmax());
    for (const opset of [13, 21, 23]) await expectSameOutputs(model, [4], { opset });
    const file = await exported(model, { inputName: 'pixels', outputName: 'probs', opset: 20 });
    const session = await ort.InferenceSession.create(file);
    expect([session.inputNames, session.outputNames]).toEqual([['pixels'], ['probs']]);
    expect(readModel(file).irVersion).toBe(9);
  });
});

describe('exportOnnx: what it refuses', () => {
  const file = () => path.join(dir, `refused-${fileCount++}.onnx`);

  it('an op without an ONNX form, naming the op and the module', async () => {
    const target = file();
    class Unsupported extends nn.Module {
      inner = new (class Head extends nn.Module {
        forward(x: Tensor): Tensor { return crossEntropy(x, tensor(new Int32Array(x.shape[0]))); }
      })();
      fc = new nn.Linear(4, 3);
      forward(x: Tensor): Tensor { return this.inner.forward(this.fc.forward(x)); }
    }
    const err = await exportOnnx(new Unsupported(), target, { inputShape: [4] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/op 'crossEntropy' in module 'inner' \(Head\) has no ONNX export/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('values computed in JavaScript from the input, naming the op that takes them', async () => {
    class Normalize extends nn.Module {
      fc = new nn.Linear(3, 3);
      forward(x: Tensor): Tensor {
        const data = x.toArray();
        const peak = tensor([Math.max(...Array.from(data, Math.abs))]);
        return this.fc.forward(x).div(peak);
      }
    }
    await expect(exportOnnx(new Normalize(), file(), { inputShape: [3] }))
      .rejects.toThrow(/op 'div' in the model \(Normalize\) takes.*computed outside tinynn's ops/);
    class Scaled extends nn.Module {
      fc = new nn.Linear(3, 3);
      forward(x: Tensor): Tensor { return this.fc.forward(x).mul(x.max().item()); }
    }
    await expect(exportOnnx(new Scaled(), file(), { inputShape: [3] })).rejects.toThrow(/an argument of op 'mul' in the model \(Scaled\)/);
  });

  it('a reshape with more than one dimension that follows the batch size', async () => {
    class Fold extends nn.Module {
      fc = new nn.Linear(4, 6);
      forward(x: Tensor): Tensor { const h = this.fc.forward(x); return h.reshape(h.shape[0] * 2, 3).reshape(-1, 6); }
    }
    // One dimension that follows the batch per reshape: Reshape infers it.
    await expectSameOutputs(new Fold(), [4]);
    class Grid extends nn.Module {
      fc = new nn.Linear(4, 4);
      forward(x: Tensor): Tensor { const n = x.shape[0]; return this.fc.forward(x).reshape(n, n, -1); }
    }
    await expect(exportOnnx(new Grid(), file(), { inputShape: [4] })).rejects.toThrow(RangeError);
  });

  it('bad arguments', async () => {
    const model = new nn.Sequential(new nn.Linear(2, 2));
    await expect(exportOnnx({} as nn.Module, file())).rejects.toThrow(/expected the model to be an nn.Module/);
    await expect(exportOnnx(model, '')).rejects.toThrow(TypeError);
    await expect(exportOnnx(model, file(), { opset: 12 })).rejects.toThrow(/opset must be an integer in \[13, 23\], got 12/);
    await expect(exportOnnx(model, file(), { opset: 17.5 })).rejects.toThrow(RangeError);
    await expect(exportOnnx(model, file(), { inputShape: [0] })).rejects.toThrow(/inputShape must be an array of integers >= 1/);
    await expect(exportOnnx(model, file(), { inputShape: [3] })).rejects.toThrow(/forward failed on an input of shape \[2, 3\]: Linear\(2, 2\) expects/);
    await expect(exportOnnx(new nn.Sequential(new nn.ReLU()), file())).rejects.toThrow(/options.inputShape is required/);
    await expect(exportOnnx(model, file(), { inputName: 'x', outputName: 'x' })).rejects.toThrow(RangeError);
    await expect(exportOnnx(model, path.join(dir, 'no-such-dir', 'm.onnx'))).rejects.toThrow(/ENOENT/);
  });
});
