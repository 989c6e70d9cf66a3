// The timing method of bench/eager.mjs, as bench/schedule.mjs's for epochs: every system prepared,
// then rounds run round-robin, one round of each system in turn (the first round a warm-up,
// untimed), each round starting one system further on, so that load from elsewhere on a noisy
// machine falls on every system alike. A system's number is the median of its timed rounds.

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/**
 * Runs `round(system)` (→ { seconds, ... }) for each of `systems` over 1 + `rounds` rounds;
 * returns Map system → { seconds: [timed], foreignShare: the share of the CPUs other processes
 * took over its timed rounds together (null when not measured or under 1 s of rounds), worstRound: the largest share in
 * one timed round of 0.5 s or more (null if none), waited: seconds spent waiting for quiet, last:
 * the last round's result } or { error }. `format(system, result)` makes a progress line's entry.
 * Before each round `quiet()` (if given) waits for the machine to be idle; `watch()` (if given)
 * measures the round's foreign load.
 */
export async function interleave(systems, { rounds, round, log, label, format, quiet, watch }) {
  const out = new Map(systems.map((s) => [s, { seconds: [], foreignShare: null, worstRound: null, waited: 0, last: null }]));
  const sums = new Map(systems.map((s) => [s, { foreign: 0, capacity: 0 }]));
  for (let r = 0; r <= rounds; r++) {
    const live = systems.filter((s) => !out.get(s).error);
    const line = [];
    for (let k = 0; k < live.length; k++) {
      const s = live[(k + r) % live.length];
      try {
        const waited = (await quiet?.()) ?? 0;
        const meter = watch?.();
        const result = await round(s);
        const load = meter?.stop();
        const measurable = load && load.wallSeconds >= 0.5;
        const busy = measurable && load.foreignShare >= 0.1 ? ` [others ${(100 * load.foreignShare).toFixed(0)} %]` : '';
        line.push(format(s, result) + busy);
        if (r === 0) continue;
        const rec = out.get(s);
        rec.seconds.push(result.seconds);
        if (load) {
          const sum = sums.get(s);
          sum.foreign += load.foreignCpuSeconds;
          sum.capacity += load.wallSeconds * load.cpus;
          // Machine-wide time comes in 10 ms ticks: under 1 s of rounds in all it says nothing.
          rec.foreignShare = sum.capacity < 2 ? null : +Math.min(1, Math.max(0, sum.foreign / sum.capacity)).toFixed(3);
          if (measurable) rec.worstRound = +Math.min(1, Math.max(rec.worstRound ?? 0, load.foreignShare)).toFixed(3);
        }
        rec.waited += waited;
        rec.last = result;
      } catch (err) {
        out.set(s, { error: err.message });
        line.push(`${s.name} FAILED: ${err.message}`);
      }
    }
    log(`  ${label} ${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: ${line.join(', ')}`);
  }
  return out;
}
