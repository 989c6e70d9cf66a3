// A child process for tests/concurrency.test.ts: `node exit-during-fit.cjs MODE FILE`.
//   exit: process.exit(7) from a progress callback in the middle of a 100 000-epoch fit: the
//     Trainer's exit listener aborts it, so the process ends at once.
//   save-loop: a fit running while save() rewrites FILE over and over; prints 'saving' once the
//     loop is going, then waits for the parent's SIGKILL or exits itself (process.exit(9)) after
//     a number of saves. Either way FILE must be left a complete safetensors file.
'use strict';
const path = require('path');
const { makeRun, save } = require(path.join(__dirname, 'train-common.cjs'));

async function main() {
  const [mode, file] = process.argv.slice(2);
  const { trainer, data } = makeRun(3);
  let reports = 0;
  const fit = trainer.fit(data, { epochs: 100000, batchSize: 8, seed: 3,
    onBatchEnd: () => { if (mode === 'exit' && ++reports === 2) process.exit(7); } });
  if (mode === 'save-loop') {
    // Another model: a model that is training refuses to be read until its fit() is done.
    const other = makeRun(4).model;
    const exitAfter = Number(process.argv[4] ?? 0);
    for (let i = 1; ; i++) {
      const saving = save(other, file);
      if (i === 1) process.stdout.write('saving\n');
      if (exitAfter && i === exitAfter) process.exit(9); // with this save still in flight
      await saving;
    }
  }
  await fit;
}
main().catch((err) => { console.error(err); process.exit(1); });
