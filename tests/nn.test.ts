// nn.Module and the layers: automatic registration of field parameters and modules (PyTorch's
// names and order), summaries, train/eval, Dropout, stateDict/loadStateDict, and the forward (and
// gradient) of the shape and activation layers against float64 references.
import { inspect } from 'util';
import { describe, expect, it } from 'vitest';
import { Generator, manualSeed, nn, optim, tensor, type Tensor } from '../dist/index.js';
import { erf, numericGrad, randomArray, scaledErr } from './helpers/reference';

// ---- models used below ----------------------------------------------------------------------

// A Parameter from values (the constructor takes a native handle, as Tensor's does).
const parameter = (values: number[]) => new nn.Parameter(tensor(values).native, true);

class Block extends nn.Module {
  fc = new nn.Linear(4, 4);
  act = new nn.GELU();
  drop = new nn.Dropout(0.5);
  forward(x: Tensor): Tensor {
    return this.drop.forward(this.act.forward(this.fc.forward(x)));
  }
}

class Net extends nn.Module {
  scale = parameter([1.5]);
  encoder = new nn.Linear(3, 4);
  block = new Block();
  head = new nn.Sequential(new nn.ReLU(), new nn.Linear(4, 2));
  forward(x: Tensor): Tensor {
    return this.head.forward(this.block.forward(this.encoder.forward(x)).mul(this.scale));
  }
}

// What torch gives for the same structure (own parameters first, then each child's in assignment order).
const NET_PARAMS: [string, number[]][] = [
  ['scale', [1]],
  ['encoder.weight', [4, 3]], ['encoder.bias', [4]],
  ['block.fc.weight', [4, 4]], ['block.fc.bias', [4]],
  ['head.1.weight', [2, 4]], ['head.1.bias', [2]],
];
const NET_MODULES = ['', 'encoder', 'block', 'block.fc', 'block.act', 'block.drop', 'head', 'head.0', 'head.1'];
const NET_COUNT = 1 + 12 + 4 + 16 + 4 + 8 + 2;

const values = (t: Tensor) => Array.from(t.toArray());
const snapshot = (m: nn.Module) => m.namedParameters().map(([n, p]) => [n, values(p)] as const);

// ---- float64 references ---------------------------------------------------------------------

const activationRefs: Record<string, (x: number) => number> = {
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: (x) => Math.tanh(x),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  leakyDefault: (x) => (x > 0 ? x : 0.01 * x),
  leaky02: (x) => (x > 0 ? x : 0.2 * x),
  relu: (x) => Math.max(x, 0),
};

// softmax (or log-softmax) of a row-major tensor of `shape` along `dim`.
function softmaxRef(x: ArrayLike<number>, shape: number[], dim: number, log: boolean): Float64Array {
  const d = dim < 0 ? dim + shape.length : dim;
  const len = shape[d];
  const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
  const out = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => o * len * inner + k * inner + i;
      let mx = -Infinity;
      for (let k = 0; k < len; k++) mx = Math.max(mx, x[at(k)]);
      let s = 0;
      for (let k = 0; k < len; k++) s += Math.exp(x[at(k)] - mx);
      for (let k = 0; k < len; k++) out[at(k)] = log ? x[at(k)] - mx - Math.log(s) : Math.exp(x[at(k)] - mx) / s;
    }
  }
  return out;
}

/** layer(x) against ref(x) in float64, and x's gradient of Σ v·layer(x) against central differences. */
function checkLayer(layer: nn.Module, shape: number[], ref: (x: ArrayLike<number>) => Float64Array, seed: number) {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = randomArray(size, seed, -4, 4);
  const x = tensor(data, { shape, requiresGrad: true });
  const y = layer.forward(x);
  expect(y.shape).toEqual(shape);
  expect(scaledErr(y.toArray(), ref(data), 1)).toBeLessThan(2e-6);
  const v = randomArray(size, seed + 1, 0.5, 1.5);
  y.mul(tensor(v, { shape })).sum().backward();
  const expected = numericGrad((z) => ref(z).reduce((a, b, i) => a + v[i] * b, 0), data);
  expect(scaledErr(x.grad!.toArray(), expected)).toBeLessThan(1e-4);
}

// ---- registration and summaries -------------------------------------------------------------

describe('Module registration', () => {
  it('field parameters and modules are registered in assignment order with dotted names, as PyTorch names them', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n, p]) => [n, [...p.shape]])).toEqual(NET_PARAMS);
    expect(net.parameters()).toHaveLength(NET_PARAMS.length);
    expect(net.parameters()[0]).toBe(net.scale);
    expect(net.parameters()[1]).toBe(net.encoder.weight);
    expect(net.parameterCount()).toBe(NET_COUNT);
    expect(Object.keys(net.stateDict())).toEqual(NET_PARAMS.map(([n]) => n));
  });

  it('namedModules lists the module and every descendant, parents first', () => {
    const net = new Net();
    const modules = net.namedModules();
    expect(modules.map(([n]) => n)).toEqual(NET_MODULES);
    expect(modules[0][1]).toBe(net);
    expect(modules[3][1]).toBe(net.block.fc);
    expect(modules[7][1]).toBeInstanceOf(nn.ReLU);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['encoder', 'block', 'head']);
  });

  it('a parameter shared by two fields (tied) is listed once, under its first name', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(2, 2);
      b = this.a;
      w = this.a.weight;
      forward(x: Tensor) { return this.b.forward(this.a.forward(x)); }
    }
    const names = new Tied().namedParameters().map(([n]) => n);
    expect(names).toEqual(['w', 'a.bias']);
  });

  it('a custom module nested in a Sequential is named by position and trained through', () => {
    manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(3, 4), new Block().eval(), new nn.Linear(4, 2));
    expect(model.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.fc.weight', '1.fc.bias', '2.weight', '2.bias']);
    expect(model.namedModules().map(([n]) => n)).toEqual(['', '0', '1', '1.fc', '1.act', '1.drop', '2']);
    expect(model.parameterCount()).toBe(16 + 20 + 10);
    const x = tensor(randomArray(5 * 3, 1), { shape: [5, 3] });
    const loss = new nn.MSELoss().forward(model.forward(x), tensor(randomArray(10, 2), { shape: [5, 2] }));
    loss.backward();
    for (const [name, p] of model.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.shape, name).toEqual(p.shape);
    }
    expect(values(model.parameters()[2].grad!).some((g) => g !== 0)).toBe(true);
  });

  it('the summary shows every layer line, nested, and the parameter count; util.inspect shows the same', () => {
    const net = new Net();
    const text = net.toString();
    expect(text).toBe([
      'Net(',
      '  (encoder): Linear(in=3, out=4, bias=true)',
      '  (block): Block(',
      '    (fc): Linear(in=4, out=4, bias=true)',
      '    (act): GELU()',
      '    (drop): Dropout(p=0.5)',
      '  )',
      '  (head): Sequential(',
      '    (0): ReLU()',
      '    (1): Linear(in=4, out=2, bias=true)',
      '  )',
      `)  ${NET_COUNT} parameters`,
    ].join('\n'));
    expect(inspect(net)).toBe(text);
    const mlp = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 128), new nn.LeakyReLU(0.2), new nn.Linear(128, 10), new nn.LogSoftmax(1));
    const s = String(mlp);
    for (const line of ['(0): Flatten(startDim=1, endDim=-1)', '(1): Linear(in=784, out=128, bias=true)', '(2): LeakyReLU(negativeSlope=0.2)',
      '(3): Linear(in=128, out=10, bias=true)', '(4): LogSoftmax(dim=1)']) {
      expect(s).toContain(`\n  ${line}\n`);
    }
    expect(s.endsWith(')  101,770 parameters')).toBe(true);
  });
});

// ---- train / eval and Dropout ---------------------------------------------------------------

describe('train/eval and Dropout', () => {
  it('eval() reaches field children and their children; train() brings them back', () => {
    const net = new Net();
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
    net.eval();
    expect(net.namedModules().filter(([, m]) => m.training).map(([n]) => n)).toEqual([]);
    // Dropout is off: the block is deterministic and equals GELU(fc(x)).
    const x = tensor(randomArray(8 * 4, 5), { shape: [8, 4] });
    const a = values(net.block.forward(x)), b = values(net.block.forward(x));
    expect(a).toEqual(b);
    expect(a).toEqual(values(net.block.act.forward(net.block.fc.forward(x))));
    net.train();
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
    expect(values(net.block.forward(x)).filter((v) => v === 0).length).toBeGreaterThan(0);
  });

  const P = 0.3, N = 10_000;
  const input = () => tensor(randomArray(N, 7, 0.5, 1.5), { shape: [100, 100], requiresGrad: true });

  it('in training mode zeroes a fraction ≈ p and scales the survivors by 1/(1-p)', () => {
    const x = input();
    const y = new nn.Dropout(P, { generator: new Generator(42) }).forward(x);
    expect(y.shape).toEqual([100, 100]);
    const xs = x.toArray(), ys = y.toArray();
    let zeros = 0, worst = 0;
    ys.forEach((v, i) => {
      if (v === 0) zeros++;
      else worst = Math.max(worst, Math.abs(v - xs[i] / (1 - P)) / (xs[i] / (1 - P)));
    });
    // σ of the fraction is √(p(1-p)/N) ≈ 0.0046.
    expect(Math.abs(zeros / N - P)).toBeLessThan(0.02);
    expect(worst).toBeLessThan(1e-6);
  });

  it('the same seed gives the same mask; another seed another', () => {
    const mask = (seed: number) => values(new nn.Dropout(P, { generator: new Generator(seed) }).forward(input())).map((v) => (v === 0 ? 0 : 1));
    expect(mask(42)).toEqual(mask(42));
    expect(mask(42)).not.toEqual(mask(43));
    manualSeed(9);
    const first = values(new nn.Dropout(P).forward(input()));
    manualSeed(9);
    expect(values(new nn.Dropout(P).forward(input()))).toEqual(first);
  });

  it('masks the gradient the same way: dx = v/(1-p) where kept, 0 where dropped', () => {
    const x = input();
    const y = new nn.Dropout(P, { generator: new Generator(1) }).forward(x);
    const v = randomArray(N, 8, 0.5, 1.5);
    y.mul(tensor(v, { shape: [100, 100] })).sum().backward();
    const ys = y.toArray(), gs = x.grad!.toArray();
    let worst = 0;
    ys.forEach((out, i) => {
      const expected = out === 0 ? 0 : v[i] / (1 - P);
      worst = Math.max(worst, Math.abs(gs[i] - expected));
    });
    expect(worst).toBeLessThan(1e-5);
    expect(Array.from(gs).filter((g) => g === 0).length).toBe(Array.from(ys).filter((o) => o === 0).length);
  });

  // The mask is drawn natively from a counter-based hash under two keys taken from the generator
  // (cpp/counter_random.h): here the hash is written again in JS (32-bit integer math) and the
  // native mask must match it element for element; neighbours must be uncorrelated.
  it('draws the mask from the counter-based hash: equal to a JS reference, neighbours uncorrelated', () => {
    const hash32 = (v: number): number => {
      let x = v >>> 0;
      x = (x ^ (x >>> 16)) >>> 0;
      x = Math.imul(x, 0x21f0aaad) >>> 0;
      x = (x ^ (x >>> 15)) >>> 0;
      x = Math.imul(x, 0x735a2d97) >>> 0;
      return (x ^ (x >>> 15)) >>> 0;
    };
    const keys = new Generator(5);
    const key0 = keys.nextUint32(), key1 = keys.nextUint32();
    const ones = tensor(new Float32Array(N).fill(1), { shape: [100, 100] });
    const y = new nn.Dropout(P, { generator: new Generator(5) }).forward(ones).toArray();
    let mismatches = 0, products = 0;
    for (let i = 0; i < N; i++) {
      const h = hash32((hash32((i ^ key0) >>> 0) + (key1 ^ hash32(0))) >>> 0);
      const kept = (h >>> 8) / 16777216 < 1 - P;
      if (kept !== (y[i] !== 0)) mismatches++;
      if (i > 0) products += (y[i] !== 0 ? 1 : 0) * (y[i - 1] !== 0 ? 1 : 0);
    }
    expect(mismatches).toBe(0);
    // P(both neighbours kept) = (1-p)² for independent draws; σ of the mean ≈ 0.005.
    expect(Math.abs(products / (N - 1) - (1 - P) ** 2)).toBeLessThan(0.025);
  });

  it('is the identity in eval mode and for p = 0; p = 1 drops everything; bad p is refused', () => {
    const x = input();
    expect(values(new nn.Dropout(P).eval().forward(x))).toEqual(values(x));
    expect(values(new nn.Dropout(0).forward(x))).toEqual(values(x));
    expect(values(new nn.Dropout(1).forward(x)).every((v) => v === 0)).toBe(true);
    expect(() => new nn.Dropout(1.5)).toThrow(RangeError);
    expect(() => new nn.Dropout(-0.1)).toThrow(RangeError);
  });
});

// ---- stateDict / loadStateDict --------------------------------------------------------------

describe('stateDict and loadStateDict', () => {
  const twoNets = () => {
    manualSeed(1);
    const source = new Net();
    manualSeed(2);
    const target = new Net();
    target.scale.native.copyFrom(tensor([-2]).native);
    return { source, target };
  };

  it('stateDict gives the live parameter tensors', () => {
    const net = new Net();
    const state = net.stateDict();
    expect(state['encoder.weight']).toBe(net.encoder.weight);
    expect(state['head.1.bias']).toBe(net.head.layers[1].namedParameters()[1][1]);
  });

  it('loading another model\'s stateDict copies the values: later changes to either side stay on that side', () => {
    const { source, target } = twoNets();
    expect(snapshot(target)).not.toEqual(snapshot(source));
    target.loadStateDict(source.stateDict());
    const loaded = snapshot(source);
    expect(snapshot(target)).toEqual(loaded);
    target.parameters().forEach((p, i) => expect(p).not.toBe(source.parameters()[i]));
    // Change the source (an optimizer step): the target keeps the loaded values.
    const x = tensor(randomArray(6 * 3, 3), { shape: [6, 3] });
    source.eval();
    new nn.MSELoss().forward(source.forward(x), tensor(randomArray(12, 4), { shape: [6, 2] })).backward();
    new optim.SGD(source.parameters(), { lr: 0.5 }).step();
    expect(snapshot(source)).not.toEqual(loaded);
    expect(snapshot(target)).toEqual(loaded);
    // Change the target: the source keeps its values.
    const sourceNow = snapshot(source);
    target.loadStateDict(Object.fromEntries(target.namedParameters().map(([n, p]) => [n, new Float32Array(p.size)])));
    expect(snapshot(source)).toEqual(sourceNow);
  });

  it('loads Float32Arrays and { shape, data } records', () => {
    const net = new Net();
    const arrays = Object.fromEntries(NET_PARAMS.map(([n, shape], k) => [n, randomArray(shape.reduce((a, b) => a * b, 1), 100 + k)]));
    net.loadStateDict(arrays);
    for (const [n, p] of net.namedParameters()) expect(values(p), n).toEqual(Array.from(arrays[n]));
    const records = Object.fromEntries(NET_PARAMS.map(([n, shape], k) => [n, { shape, data: randomArray(shape.reduce((a, b) => a * b, 1), 200 + k) }]));
    net.loadStateDict(records);
    for (const [n, p] of net.namedParameters()) expect(values(p), n).toEqual(Array.from(records[n].data));
    // The arrays were copied, not kept.
    records['encoder.bias'].data.fill(9);
    expect(values(net.encoder.bias!)).not.toContain(9);
  });

  it('refuses unknown names, missing names, wrong shapes and dtypes, and leaves the model untouched', () => {
    const { source, target } = twoNets();
    const before = snapshot(target);
    const good = () => ({ ...source.stateDict() }) as Record<string, Tensor | Float32Array | { shape: number[]; data: Float32Array }>;
    const attempts: [string, Record<string, unknown>, RegExp, ErrorConstructor][] = [
      ['unknown name', { ...good(), 'encoder.gamma': tensor([1, 2, 3, 4]) }, /unexpected tensor 'encoder\.gamma'/, RangeError],
      ['missing name', (() => { const s = good(); delete s['head.1.bias']; return s; })(), /missing tensor 'head\.1\.bias'/, RangeError],
      // Same element count, other shape.
      ['wrong shape (tensor)', { ...good(), 'head.1.weight': tensor(randomArray(8, 1), { shape: [4, 2] }) }, /head\.1\.weight.*\[4, 2\].*\[2, 4\]/, RangeError],
      ['wrong length (Float32Array)', { ...good(), 'head.1.bias': new Float32Array(3) }, /head\.1\.bias.*3.*2/, RangeError],
      ['wrong shape (record)', { ...good(), 'head.1.weight': { shape: [8], data: new Float32Array(8) } }, /head\.1\.weight.*\[8\]/, RangeError],
      ['int32 tensor', { ...good(), 'head.1.bias': tensor(Int32Array.from([1, 2])) }, /head\.1\.bias.*int32/, TypeError],
      ['not a tensor', { ...good(), 'head.1.bias': [1, 2] }, /head\.1\.bias/, TypeError],
    ];
    for (const [what, state, message, type] of attempts) {
      expect(() => target.loadStateDict(state as never), what).toThrow(type);
      expect(() => target.loadStateDict(state as never), what).toThrow(message);
      expect(snapshot(target), what).toEqual(before);
    }
    expect(() => target.loadStateDict(null as never)).toThrow(TypeError);
    expect(snapshot(target)).toEqual(before);
  });
});

// ---- layer forwards -------------------------------------------------------------------------

describe('shape and activation layers against float64', () => {
  const shape = [3, 4, 5];

  it('Flatten merges startDim..endDim, keeps the values and passes the gradient back', () => {
    const data = randomArray(60, 1);
    const x = tensor(data, { shape, requiresGrad: true });
    for (const [layer, out] of [[new nn.Flatten(), [3, 20]], [new nn.Flatten(0, 1), [12, 5]], [new nn.Flatten(1, 2), [3, 20]],
      [new nn.Flatten(0, -1), [60]], [new nn.Flatten(-2, -1), [3, 20]], [new nn.Flatten(2, 2), [3, 4, 5]]] as const) {
      const y = layer.forward(x);
      expect(y.shape).toEqual(out);
      expect(values(y)).toEqual(Array.from(data));
    }
    const v = randomArray(60, 2);
    new nn.Flatten().forward(x).mul(tensor(v, { shape: [3, 20] })).sum().backward();
    expect(x.grad!.shape).toEqual(shape);
    expect(values(x.grad!)).toEqual(Array.from(v));
    expect(() => new nn.Flatten(2, 1).forward(x)).toThrow(RangeError);
    expect(() => new nn.Flatten(3).forward(x)).toThrow(RangeError);
  });

  it('Identity returns its input', () => {
    const x = tensor(randomArray(60, 3), { shape });
    expect(new nn.Identity().forward(x)).toBe(x);
    expect(new nn.Identity().parameterCount()).toBe(0);
  });

  for (const dim of [0, 1, 2, -1, -3]) {
    it(`Softmax(${dim}) and LogSoftmax(${dim})`, () => {
      checkLayer(new nn.Softmax(dim), shape, (x) => softmaxRef(x, shape, dim, false), 10 + dim);
      checkLayer(new nn.LogSoftmax(dim), shape, (x) => softmaxRef(x, shape, dim, true), 20 + dim);
    });
  }

  it('Softmax rows sum to 1 and default to the last dim', () => {
    const x = tensor(randomArray(60, 4, -30, 30), { shape });
    const y = values(new nn.Softmax().forward(x));
    for (let r = 0; r < 12; r++) expect(y.slice(5 * r, 5 * r + 5).reduce((a, b) => a + b)).toBeCloseTo(1, 6);
    expect(() => new nn.Softmax(3).forward(x)).toThrow(RangeError);
  });

  const elementwiseLayers: [string, () => nn.Module, (x: number) => number][] = [
    ['LeakyReLU()', () => new nn.LeakyReLU(), activationRefs.leakyDefault],
    ['LeakyReLU(0.2)', () => new nn.LeakyReLU(0.2), activationRefs.leaky02],
    ['ReLU', () => new nn.ReLU(), activationRefs.relu],
    ['Sigmoid', () => new nn.Sigmoid(), activationRefs.sigmoid],
    ['Tanh', () => new nn.Tanh(), activationRefs.tanh],
    ['GELU (exact, erf)', () => new nn.GELU(), activationRefs.gelu],
  ];
  elementwiseLayers.forEach(([name, make, f], k) => {
    it(`${name}: values and gradient`, () => {
      checkLayer(make(), [7, 9], (x) => Float64Array.from(x, f), 40 + k);
    });
  });

  it('activations are exact at the extremes', () => {
    const x = tensor([-40, -10, 0, 10, 40]);
    expect(values(new nn.Sigmoid().forward(x))).toEqual([expect.closeTo(0, 12), expect.closeTo(4.5398e-5, 8), 0.5, expect.closeTo(1 - 4.5398e-5, 7), 1]);
    expect(values(new nn.Tanh().forward(x))).toEqual([-1, -1, 0, 1, 1]);
    expect(values(new nn.GELU().forward(x)).map((v) => v + 0)).toEqual([0, expect.closeTo(0, 12), 0, 10, 40]);
    expect(values(new nn.LeakyReLU(0.1).forward(x))).toEqual([-4, -1, 0, 10, 40]);
    expect(() => new nn.LeakyReLU(-1)).toThrow(RangeError);
  });

  it('the erf used as reference is right (erf(0.5), erf(1), erf(2))', () => {
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 14);
    expect(erf(-2)).toBeCloseTo(-0.9953222650189527, 14);
  });
});
