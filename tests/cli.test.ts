// The `tinynn` command: its argument parser and progress display in-process, then the compiled
// dist/cli/main.js as a child process (exit codes, messages, a short real training run).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs, flagName, describeOptions, UsageError } from '../dist/cli/args';
import { EpochProgress } from '../dist/cli/progress';
import { runCli } from './helpers/cli';

describe('parseArgs', () => {
  const specs = {
    epochs: { kind: 'integer', valueName: 'N', description: 'epochs', default: 10, min: 1 },
    learningRate: { kind: 'number', valueName: 'X', description: 'lr', default: 0.05, min: 0, minExclusive: true },
    momentum: { kind: 'number', valueName: 'X', description: 'momentum', min: 0, max: 1, maxExclusive: true },
    device: { kind: 'string', valueName: 'cpu|cuda', description: 'device', pattern: /^(cpu|cuda)$/ },
    model: { kind: 'string', valueName: 'FILE', description: 'model' },
  } as const;

  function usageError(argv: string[], s: Record<string, unknown> = specs): string {
    try {
      parseArgs(argv, s as typeof specs);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      return (err as Error).message;
    }
    throw new Error(`expected a UsageError for ${argv.join(' ')}`);
  }

  it('fills in defaults and leaves optional options undefined', () => {
    expect(parseArgs([], specs)).toEqual({ help: false, options: { epochs: 10, learningRate: 0.05 } });
  });

  it('reads --name value and --name=value, kebab-case on the command line', () => {
    const result = parseArgs(['--epochs', '3', '--learning-rate=1e-3', '--momentum', '.9', '--device', 'cuda', '--model=a=b'], specs);
    expect(result).toEqual({ help: false, options: { epochs: 3, learningRate: 0.001, momentum: 0.9, device: 'cuda', model: 'a=b' } });
    expect(flagName('weightDecay')).toBe('--weight-decay');
  });

  it('answers help for -h or --help anywhere', () => {
    expect(parseArgs(['--epochs', '3', '-h'], specs)).toEqual({ help: true });
    expect(parseArgs(['--bogus', '--help'], specs)).toEqual({ help: true });
  });

  it('rejects unknown flags, positional arguments and repeats', () => {
    expect(usageError(['--epoch', '3'])).toBe('unknown option --epoch');
    expect(usageError(['train'])).toBe("unexpected argument 'train'");
    expect(usageError(['-e', '3'])).toBe("unexpected argument '-e'");
    expect(usageError(['--epochs', '3', '--epochs=4'])).toBe('--epochs given more than once');
  });

  it('rejects missing values', () => {
    expect(usageError(['--epochs'])).toBe('--epochs needs a value (N)');
    expect(usageError(['--epochs', '--momentum', '0.5'])).toBe('--epochs needs a value (N)');
    expect(usageError(['--model='])).toBe('--model needs a value (FILE)');
  });

  it('rejects values that are not numbers of the right kind, naming what it expects', () => {
    expect(usageError(['--epochs', 'ten'])).toBe("--epochs expects an integer ≥ 1, got 'ten'");
    expect(usageError(['--epochs', '2.5'])).toBe("--epochs expects an integer ≥ 1, got '2.5'");
    for (const bad of ['1e', '0x10', 'Infinity', 'NaN', '1.2.3', '5abc']) {
      expect(usageError(['--learning-rate', bad])).toBe(`--learning-rate expects a number > 0, got '${bad}'`);
    }
  });

  it('rejects values out of range', () => {
    expect(usageError(['--epochs', '0'])).toMatch(/≥ 1, got '0'/);
    expect(usageError(['--learning-rate', '0'])).toMatch(/> 0, got '0'/);
    expect(usageError(['--learning-rate', '-0.1'])).toMatch(/> 0, got '-0.1'/);
    expect(usageError(['--momentum', '1'])).toBe("--momentum expects a number in [0, 1), got '1'");
    expect(usageError(['--device', 'gpu'])).toBe("--device expects cpu|cuda, got 'gpu'");
  });

  it('requires required options', () => {
    const withRequired = { model: { kind: 'string', valueName: 'FILE', description: 'model', required: true } } as const;
    expect(usageError([], withRequired)).toBe('--model FILE is required');
    expect(parseArgs(['--model', 'm.safetensors'], withRequired)).toEqual({ help: false, options: { model: 'm.safetensors' } });
  });

  it('describes every option with its default', () => {
    const text = describeOptions(specs);
    expect(text).toMatch(/--epochs N\s+epochs \(default 10\)/);
    expect(text).toMatch(/--learning-rate X\s+lr \(default 0.05\)/);
    expect(text).toMatch(/-h, --help\s+show this help/);
  });
});

describe('EpochProgress', () => {
  function output(isTTY: boolean, columns = 100) {
    const writes: string[] = [];
    return { writes, stream: { isTTY, columns, write: (s: string) => writes.push(s) } };
  }
  const batch = (step: number, samplesPerSecond = 6400) =>
    ({ epoch: 2, step, stepsPerEpoch: 100, loss: 0.5, accuracy: 0.9, samplesPerSecond, seconds: 1 });

  it('on a terminal redraws a bar with count, percentage, loss, rate and ETA', () => {
    let now = 0;
    const { writes, stream } = output(true);
    const progress = new EpochProgress(stream, 10, 64, { now: () => now, redrawMs: 100 });
    progress.update(batch(50));
    expect(writes).toHaveLength(1);
    // 50 steps of 64 left at 6400 samples/s: 0.5 s.
    expect(writes[0]).toMatch(/^\r\x1b\[Kepoch 2\/10 \[=+ +\] 50\/100  50%  loss 0\.5000  6400 samples\/s  ETA 0\.50s$/);
    now = 50;
    progress.update(batch(60));
    expect(writes).toHaveLength(1); // throttled
    progress.update(batch(100));
    expect(writes).toHaveLength(2); // the last step is always drawn
    expect(writes[1]).toMatch(/\[=+\] 100\/100 100%/);
    progress.clear();
    expect(writes[2]).toBe('\r\x1b[K');
  });

  it('drops the bar and cuts the line on a narrow terminal rather than wrapping', () => {
    const { writes, stream } = output(true, 40);
    new EpochProgress(stream, 10, 64, { now: () => 0 }).update(batch(10));
    expect(writes[0]).toBe('\r\x1b[Kepoch 2/10 10/100  10%  loss 0.5000  64');
  });

  it('off a terminal prints plain lines at most every lineMs, none in a short epoch', () => {
    let now = 0;
    const { writes, stream } = output(false);
    const progress = new EpochProgress(stream, 10, 64, { now: () => now, lineMs: 5000 });
    now = 1000;
    progress.update(batch(10));
    progress.update(batch(100));
    expect(writes).toEqual([]);
    now = 5000;
    progress.update(batch(20, 12800));
    expect(writes).toEqual(['epoch 2/10  step 20/100  loss 0.5000  12.8k samples/s  ETA 0.40s\n']);
    now = 6000;
    progress.update(batch(30));
    expect(writes).toHaveLength(1);
    progress.clear();
    expect(writes).toHaveLength(1);
  });
});

describe('tinynn (child process)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-cli-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--help and -h exit 0 and list the commands', async () => {
    for (const flag of ['--help', '-h']) {
      const result = await runCli([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Usage: tinynn <command>/);
      expect(result.stdout).toMatch(/train .*\n.*eval /);
      expect(result.stderr).toBe('');
    }
  });

  it('train --help lists every option and exits 0', async () => {
    const result = await runCli(['train', '--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--epochs', '--batch-size', '--hidden', '--activation', '--optimizer', '--lr', '--momentum', '--weight-decay',
      '--scheduler', '--step-size', '--gamma', '--device', '--seed', '--save', '--checkpoint', '--resume', '--limit']) {
      expect(result.stdout).toContain(flag);
    }
  });

  it('eval -h exits 0', async () => {
    const result = await runCli(['eval', '-h']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: tinynn eval --model FILE/);
  });

  it('exits 2 with a message and short usage on stderr for bad usage', async () => {
    const cases: [string[], RegExp][] = [
      [[], /no command given/],
      [['fit'], /unknown command 'fit'/],
      [['train', '--bogus'], /unknown option --bogus/],
      [['train', '--epochs', 'many'], /--epochs expects an integer in \[1, 1000000\], got 'many'/],
      [['train', '--lr', '0'], /--lr expects a number > 0/],
      [['train', '--momentum', '1.5'], /--momentum expects a number in \[0, 1\)/],
      [['train', '--save'], /--save needs a value/],
      [['train', '--device', 'tpu'], /--device expects auto\|cpu\|cuda\[:N\], got 'tpu'/],
      [['eval'], /--model FILE is required/],
      // Decided before any data is loaded.
      [['train', '--epochs', '2000000'], /--epochs expects an integer in \[1, 1000000\], got '2000000'/],
      [['train', '--batch-size', '2000000'], /--batch-size expects an integer in \[1, 60000\], got '2000000'/],
      [['train', '--device', 'cuda:99999'], /--device cuda:99999: (CUDA is not available|this machine has \d+ CUDA device)/],
      [['train', '--save', dir], /--save .* is a directory; name a file in it/],
      [['train', '--save', path.join(dir, 'no-such-dir', 'w.safetensors')], /directory .*no-such-dir does not exist/],
      [['train', '--checkpoint', dir], /--checkpoint .* is a directory; name a file in it/],
      [['train', '--resume', path.join(dir, 'absent.safetensors')], /--resume .*absent.safetensors: no such file/],
      [['train', '--optimizer', 'lbfgs'], /--optimizer expects sgd\|adam\|adamw, got 'lbfgs'/],
      [['train', '--optimizer', 'adam', '--momentum', '0.5'], /--momentum applies to --optimizer sgd, not adam/],
      [['train', '--scheduler', 'cosine', '--gamma', '0.5'], /--gamma applies to --scheduler step, not cosine/],
      [['train', '--step-size', '2'], /--step-size applies to --scheduler step, not none/],
      [['train', '--hidden', '128,0'], /--hidden expects widths in \[1, 65536\], got '128,0'/],
      [['train', '--hidden', '128,,64'], /--hidden expects N\[,N...\], got '128,,64'/],
      [['train', '--activation', 'swish'], /--activation expects relu\|leaky-relu\|sigmoid\|tanh\|gelu, got 'swish'/],
      [['eval', '--model', 'm.safetensors', '--hidden', '99999999'], /--hidden expects widths in/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/Usage: tinynn/);
      expect(result.stdout).toBe('');
    }
  });

  it('eval with a missing model file exits 1 with a message and no stack trace', async () => {
    const file = path.join(dir, 'absent.safetensors');
    const result = await runCli(['eval', '--model', file, '--device', 'cpu']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`tinynn eval: error: model file ${file} does not exist`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('eval with a corrupted model file exits 1 naming the file; TINYNN_DEBUG=1 adds the stack', async () => {
    const file = path.join(dir, 'corrupt.safetensors');
    fs.writeFileSync(file, Buffer.from('definitely not safetensors'));
    const result = await runCli(['eval', '--model', file, '--device', 'cpu']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}: not a valid safetensors file`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const debug = await runCli(['eval', '--model', file, '--device', 'cpu'], { TINYNN_DEBUG: '1' });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('trains 1 epoch on 2000 samples, saves, and eval reads the file back to the same accuracy', async () => {
    const file = path.join(dir, 'short.safetensors');
    const train = await runCli(['train', '--epochs', '1', '--limit', '2000', '--seed', '1', '--device', 'cpu', '--save', file]);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/on 2000 MNIST samples/);
    expect(train.stdout).toMatch(/^epoch 1\/1 {2}loss \d+\.\d{4} {2}train acc \d+\.\d\d% {2}test acc \d+\.\d\d% {2}\S+s/m);
    const final = /final test accuracy: (\d+\.\d\d%)/.exec(train.stdout);
    expect(final).not.toBeNull();
    expect(fs.statSync(file).size).toBeGreaterThan(101_770 * 4);

    const evaluation = await runCli(['eval', '--model', file, '--device', 'cpu']);
    expect(evaluation.stderr).toBe('');
    expect(evaluation.code).toBe(0);
    expect(evaluation.stdout).toContain(`test accuracy ${final![1]}`);
  }, 120_000);

  it('--seed makes a run reproducible', async () => {
    const args = ['train', '--epochs', '1', '--limit', '1000', '--seed', '7', '--device', 'cpu'];
    const [a, b] = [await runCli(args), await runCli(args)];
    expect(a.code).toBe(0);
    const losses = (s: string) => s.match(/^epoch 1\/1 {2}loss \S+ {2}train acc \S+ {2}test acc \S+/m)?.[0];
    expect(losses(a.stdout)).toBeDefined();
    expect(losses(a.stdout)).toBe(losses(b.stdout));
  }, 120_000);

  it('--optimizer adamw --hidden 64,32 --activation tanh: 2 epochs checkpointed, resumed to 4, equal 4 uninterrupted byte for byte', async () => {
    const common = ['--limit', '1500', '--optimizer', 'adamw', '--hidden', '64,32', '--activation', 'tanh', '--device', 'cpu'];
    const [checkpoint, resumed, whole] = ['ck.safetensors', 'resumed.safetensors', 'whole.safetensors'].map((f) => path.join(dir, f));
    const first = await runCli(['train', '--epochs', '2', '--seed', '11', '--checkpoint', checkpoint, ...common]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/784-64-32-10 MLP \(tanh\)/);
    expect(first.stdout).toMatch(/AdamW lr 0.001, weight decay 0.01/);
    const second = await runCli(['train', '--epochs', '4', '--resume', checkpoint, '--save', resumed, ...common]);
    expect(second.stderr).toBe('');
    expect(second.stdout).toMatch(/resuming from .* after epoch 2/);
    expect(second.stdout).not.toMatch(/^epoch [12]\//m);
    expect(second.stdout).toMatch(/^epoch 4\/4/m);
    const uninterrupted = await runCli(['train', '--epochs', '4', '--seed', '11', '--save', whole, ...common]);
    expect(uninterrupted.code).toBe(0);
    expect(fs.readFileSync(resumed).equals(fs.readFileSync(whole))).toBe(true);
    // eval rebuilds the architecture from the same flags; other flags do not fit the file.
    const evaluation = await runCli(['eval', '--model', whole, '--hidden', '64,32', '--activation', 'tanh', '--device', 'cpu']);
    expect(evaluation.code).toBe(0);
    expect(evaluation.stdout).toContain(`test accuracy ${/final test accuracy: (\d+\.\d\d%)/.exec(uninterrupted.stdout)![1]}`);
    const wrong = await runCli(['eval', '--model', whole, '--device', 'cpu']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/shape \[128,784\] expected, \[64,784\] found/);
    // Resuming with other settings is refused, naming them.
    const other = await runCli(['train', '--epochs', '4', '--resume', checkpoint, ...common.map((a) => (a === '64,32' ? '64' : a))]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/does not fit the model/);
    const otherBatch = await runCli(['train', '--epochs', '4', '--resume', checkpoint, '--batch-size', '32', ...common]);
    expect(otherBatch.code).toBe(2);
    expect(otherBatch.stderr).toMatch(/continues a run with other settings: batchSize 64 there, 32 here/);
    const done = await runCli(['train', '--epochs', '2', '--resume', checkpoint, ...common]);
    expect(done.code).toBe(2);
    expect(done.stderr).toMatch(/is at epoch 2; --epochs 2 leaves nothing to train/);
  }, 180_000);

  it('--scheduler onecycle runs per batch on the eager loop; cosine and step on the driver', async () => {
    const run = (extra: string[]) => runCli(['train', '--epochs', '2', '--limit', '1000', '--seed', '3', '--device', 'cpu', ...extra]);
    const onecycle = await run(['--scheduler', 'onecycle']);
    expect(onecycle.stdout).toMatch(/one cycle peaking at 0.05 over 32 steps/);
    expect(onecycle.stdout).toMatch(/eager executor/);
    const cosine = await run(['--scheduler', 'cosine', '--optimizer', 'adam']);
    expect(cosine.stdout).toMatch(/Adam lr 0.001, weight decay 0; cosine annealing over 2 epochs/);
    expect(cosine.stdout).toMatch(/(fused|composed) executor/);
    const step = await run(['--scheduler', 'step', '--step-size', '1', '--gamma', '0.5']);
    expect(step.stdout).toMatch(/lr × 0.5 every 1 epochs/);
    for (const r of [onecycle, cosine, step]) expect(r.code).toBe(0);
  }, 120_000);
});
