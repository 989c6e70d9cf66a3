// The command line of bench/run.mjs.
import { positiveInt, UsageError, walkArgs } from './argv.mjs';

export const ALL_SYSTEMS = ['tinynn-cpu-fused', 'tinynn-cpu-eager', 'pytorch-cpu', 'tfjs-cpu', 'tfjs-wasm',
  'tinynn-cuda-fused', 'tinynn-cuda-eager', 'pytorch-cuda', 'pytorch-cuda-graphs',
  'tinynn-cpu-fused-adam', 'pytorch-cpu-adam', 'tinynn-cuda-fused-adam', 'pytorch-cuda-adam', 'pytorch-cuda-graphs-adam'];

export const USAGE = `usage: node bench/run.mjs [--quick] [--systems LIST] [--batch-sizes LIST] [--epochs N] [--tfjs-samples N] [--out DIR]
       (npm run bench -- [options]: runs scripts/bench-setup.sh first)
  --quick            batch sizes 64,256, 3 timed epochs, 4096-sample TensorFlow.js sub-epochs
  --systems LIST     comma-separated full names or name parts (tinynn, pytorch, tfjs, cuda, fused, eager, adam, ...);
                     systems: ${ALL_SYSTEMS.join(', ')}
                     (default: all; the CUDA ones are skipped with a note where there is no usable GPU)
  --batch-sizes LIST default 32,64,256,1024
  --epochs N         timed epochs per system and batch size, after one warm-up epoch; default 5
  --tfjs-samples N   samples in each timed TensorFlow.js sub-epoch, default 8192
  --out DIR          where the .json, .md and .svg results go, default bench/results`;

/** Whether `name` is picked by one of the --systems items: the full name or one of its dash-separated parts. */
const picks = (items, name) => items.some((item) => item === name || name.split('-').includes(item));

/** Parses argv; prints usage and exits on --help or a bad argument. */
export function parseOptions(argv) {
  const opts = { batchSizes: [32, 64, 256, 1024], epochs: 5, tfjsSamples: 8192, systems: ALL_SYSTEMS, out: null };
  let quick = false;
  const explicit = walkArgs(argv, USAGE, (flag, value) => {
    if (flag === '--quick') quick = true;
    else if (flag === '--systems') {
      const items = value().split(',').filter(Boolean);
      const unknown = items.filter((item) => !ALL_SYSTEMS.some((name) => picks([item], name)));
      if (unknown.length) throw new UsageError(`--systems: '${unknown.join("', '")}' names no system`);
      opts.systems = ALL_SYSTEMS.filter((name) => picks(items, name));
    } else if (flag === '--batch-sizes') opts.batchSizes = value().split(',').map((b) => positiveInt(flag, b));
    else if (flag === '--epochs') opts.epochs = positiveInt(flag, value());
    else if (flag === '--tfjs-samples') opts.tfjsSamples = positiveInt(flag, value());
    else if (flag === '--out') opts.out = value();
    else throw new UsageError(`unknown argument '${flag}'`);
  });
  // --quick sets what was not given explicitly.
  if (quick) {
    if (!explicit.has('--batch-sizes')) opts.batchSizes = [64, 256];
    if (!explicit.has('--epochs')) opts.epochs = 3;
    if (!explicit.has('--tfjs-samples')) opts.tfjsSamples = 4096;
  }
  const largest = Math.max(...opts.batchSizes);
  if (opts.tfjsSamples < largest) {
    console.error(`--tfjs-samples ${opts.tfjsSamples} is smaller than the largest batch, ${largest}`);
    process.exit(2);
  }
  return opts;
}
