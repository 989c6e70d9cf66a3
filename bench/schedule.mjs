// The timing method: all systems prepared at one batch size, then epochs run round-robin, one
// epoch of each system in turn (the first round a warm-up, untimed), each round starting one
// system further on, so that load from elsewhere on a noisy machine falls on every system alike.
// A system's number is the median of its timed epochs.

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/**
 * Times `systems` at `batchSize` for `epochs` timed rounds after one warm-up round; returns one
 * record per system: { system, batchSize, samples, seconds: [...], medianSeconds, samplesPerSecond,
 * accuracy } or, for a system that failed, { system, batchSize, error }. `log` gets progress lines.
 */
export async function timeRoundRobin(systems, { batchSize, epochs, weights, log }) {
  const records = new Map();
  const failed = (s, err) => {
    records.set(s, { system: s.name, batchSize, error: err.message });
    log(`  ${s.name}: FAILED: ${err.message}`);
  };
  const live = () => systems.filter((s) => !records.get(s)?.error);
  for (const s of systems) {
    try {
      await s.prepare(batchSize, weights);
      records.set(s, { system: s.name, batchSize, samples: 0, seconds: [] });
    } catch (err) {
      failed(s, err);
    }
  }
  for (let round = 0; round <= epochs; round++) {
    const order = live();
    const line = [];
    for (let k = 0; k < order.length; k++) {
      const s = order[(k + round) % order.length];
      try {
        const { seconds, samples } = await s.epoch();
        line.push(`${s.name} ${seconds.toFixed(3)} s`);
        if (round === 0) continue;
        const rec = records.get(s);
        rec.samples = samples;
        rec.seconds.push(seconds);
      } catch (err) {
        failed(s, err);
      }
    }
    log(`  batch ${batchSize} ${round === 0 ? 'warm-up' : `epoch ${round}/${epochs}`}: ${line.join(', ')}`);
  }
  for (const s of live()) {
    const rec = records.get(s);
    rec.medianSeconds = median(rec.seconds);
    rec.samplesPerSecond = rec.samples / rec.medianSeconds;
    try {
      rec.accuracy = await s.evaluate();
    } catch (err) {
      failed(s, err);
    }
  }
  for (const s of systems) {
    if (records.get(s).error) continue;
    await s.release();
  }
  return systems.map((s) => records.get(s));
}
