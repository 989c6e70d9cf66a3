// `tinynn export` as a child process: saved weights of a given architecture become an ONNX file
// that onnxruntime-node runs to tinynn's outputs; a file of another architecture, a missing file
// and bad options fail with the right exit code and a message.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { manualSeed, nn, noGrad, randn, save } from '../dist/index.js';
import { mlp } from '../dist/cli/mlp.js';
import { runCli } from './helpers/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-cli-export-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tinynn export', () => {
  it('writes an ONNX model of the saved weights (--hidden, --activation) that onnxruntime runs to tinynn\'s outputs', async () => {
    for (const [hidden, activation] of [[[128], 'relu'], [[32, 16], 'tanh'], [[24], 'leaky-relu']] as const) {
      manualSeed(11);
      const model = mlp(nn, hidden, activation);
      const weights = path.join(dir, `w-${hidden.join('-')}.safetensors`);
      const onnx = path.join(dir, `m-${hidden.join('-')}.onnx`);
      await save(model, weights);
      const args = ['export', '--model', weights, '--onnx', onnx];
      if (hidden.length !== 1 || hidden[0] !== 128) args.push('--hidden', hidden.join(','));
      if (activation !== 'relu') args.push('--activation', activation);
      const r = await runCli(args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`wrote ${onnx}: ONNX opset 17, 784-${hidden.join('-')}-10 ${activation} MLP`);

      const x = randn([256, 784]);
      const session = await ort.InferenceSession.create(onnx);
      const got = (await session.run({ input: new ort.Tensor('float32', x.toArray(), [256, 784]) })).output;
      const want = noGrad(() => model.eval().forward(x)).toArray();
      expect(got.dims).toEqual([256, 10]);
      let worst = 0;
      (got.data as Float32Array).forEach((v, i) => { worst = Math.max(worst, Math.abs(v - want[i])); });
      expect(worst).toBeLessThanOrEqual(1e-5);
    }
  });

  it('names the architecture when the weights do not fit it, and exits 1', async () => {
    const weights = path.join(dir, 'small.safetensors');
    await save(mlp(nn, [16], 'relu'), weights);
    const r = await runCli(['export', '--model', weights, '--onnx', path.join(dir, 'x.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not fit the model: tensor '0.weight': shape \[128,784\] expected, \[16,784\] found/);
    expect(r.stderr).toContain('expected a 784-128-10 MLP; pass the --hidden it was trained with');
    expect(fs.existsSync(path.join(dir, 'x.onnx'))).toBe(false);
    const missing = await runCli(['export', '--model', path.join(dir, 'nope.safetensors'), '--onnx', path.join(dir, 'x.onnx')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/model file .*nope.safetensors does not exist/);
  });

  it('exits 2 on bad options and 0 on --help', async () => {
    const bad = [
      [['export', '--onnx', 'm.onnx'], '--model FILE is required'],
      [['export', '--model', 'w.safetensors', '--onnx', 'm.onnx', '--hidden', '128,'], "--hidden expects N[,N...], got '128,'"],
      [['export', '--model', 'w.safetensors', '--onnx', 'm.onnx', '--hidden', '0'], '--hidden expects widths in [1, 65536]'],
      [['export', '--model', 'w.safetensors', '--onnx', 'm.onnx', '--activation', 'elu'], "--activation expects relu|leaky-relu|sigmoid|tanh|gelu, got 'elu'"],
      [['export', '--model', 'w.safetensors', '--onnx', 'm.onnx', '--opset', '12'], '--opset expects an integer in [13, 23]'],
    ] as const;
    for (const [args, message] of bad) {
      const r = await runCli([...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    }
    const help = await runCli(['export', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--model', '--onnx', '--hidden', '--activation', '--opset']) expect(help.stdout).toContain(flag);
  });
});
