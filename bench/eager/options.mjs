// The command line of bench/eager.mjs.
import { positiveInt, UsageError, walkArgs } from '../argv.mjs';

export const EPOCH_STEPS = Math.ceil(60000 / 64);

export const USAGE = `usage: node bench/eager.mjs [--quick | --full] [--steps N] [--rounds N] [--micro-iterations N] [--micro-rounds N]
                          [--only train|micro] [--profile | --no-profile] [--no-wait] [--out DIR]
       (npm run bench:eager -- [options])
  --quick               100 steps per round, 3 timed rounds; micro: 1000 iterations per round, 5 timed rounds
  --full                a full epoch (${EPOCH_STEPS} steps of 64) per training round
  --steps N             training steps (batches of 64) per round, default 300
  --rounds N            timed training rounds after one warm-up round, default 9
  --micro-iterations N  iterations per micro-benchmark round, default 4000
  --micro-rounds N      timed micro-benchmark rounds after one warm-up round, default 10
  --only WHAT           run only the training (train) or the micro-benchmark (micro) part
  --profile             always profile tinynn (default: only when it misses a target); --no-profile: never
  --no-wait             do not wait, before each round, for the machine to be idle (Linux; up to 30 s a round)
  --out DIR             where the .json and .md results go, default bench/results
Results: <out>/eager-<machine>-<date>[-quick|-full].{json,md}.`;

/** Parses argv; prints usage and exits on --help or a bad argument. */
export function parseOptions(argv) {
  const opts = { steps: 300, rounds: 9, microIterations: 4000, microRounds: 10, train: true, micro: true, profile: 'auto', wait: true,
    out: null, mode: 'default' };
  const explicit = walkArgs(argv, USAGE, (flag, value) => {
    if (flag === '--quick' || flag === '--full') {
      if (opts.mode !== 'default') throw new UsageError('--quick and --full exclude each other');
      opts.mode = flag.slice(2);
    } else if (flag === '--steps') opts.steps = positiveInt(flag, value());
    else if (flag === '--rounds') opts.rounds = positiveInt(flag, value());
    else if (flag === '--micro-iterations') opts.microIterations = positiveInt(flag, value());
    else if (flag === '--micro-rounds') opts.microRounds = positiveInt(flag, value());
    else if (flag === '--only') {
      const what = value();
      if (what !== 'train' && what !== 'micro') throw new UsageError(`--only takes train or micro, got '${what}'`);
      opts.train = what === 'train';
      opts.micro = what === 'micro';
    } else if (flag === '--profile') opts.profile = 'always';
    else if (flag === '--no-profile') opts.profile = 'never';
    else if (flag === '--no-wait') opts.wait = false;
    else if (flag === '--out') opts.out = value();
    else throw new UsageError(`unknown argument '${flag}'`);
  });
  // --quick and --full set what was not given explicitly.
  if (opts.mode === 'quick') {
    if (!explicit.has('--steps')) opts.steps = 100;
    if (!explicit.has('--rounds')) opts.rounds = 3;
    if (!explicit.has('--micro-iterations')) opts.microIterations = 1000;
    if (!explicit.has('--micro-rounds')) opts.microRounds = 5;
  } else if (opts.mode === 'full' && !explicit.has('--steps')) {
    opts.steps = EPOCH_STEPS;
  }
  return opts;
}
