// How much of the CPUs other processes used while the benchmark ran (Linux: /proc/stat minus this
// process and the PyTorch peer), so a result taken on a busy machine says so, and a wait for a
// quiet moment before each round. Elsewhere: null, and no wait.
import * as fs from 'fs';
import * as os from 'os';

const TICK = 100;  // USER_HZ: clock ticks per second in /proc (100 on every mainstream Linux)

/** Busy CPU seconds of the whole machine since boot, or null off Linux. */
function machineBusySeconds() {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu;
    void idle;
    void iowait;
    return (user + nice + system + irq + softirq + (steal ?? 0)) / TICK;
  } catch {
    return null;
  }
}

/** CPU seconds used so far by process `pid`, all its threads (ns-precise schedstat where there is one), or 0 once it is gone. */
function processSeconds(pid) {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
  try {
    let ns = 0;
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1e9;
  } catch {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / TICK;
    } catch {
      return 0;
    }
  }
}

/**
 * Starts watching the machine, counting `pids` (this process and the peer) as the benchmark's own;
 * stop() → { wallSeconds, cpus, ownCpuSeconds, foreignCpuSeconds, foreignShare } (foreignShare: the
 * fraction of all CPUs' time that went to other processes; machine-wide time comes in 10 ms ticks,
 * so it is rough over less than a second), or null where /proc is missing. Call stop() while the
 * peer still runs.
 */
export function watchForeignLoad(pids) {
  const busy0 = machineBusySeconds();
  if (busy0 === null) return { stop: () => null };
  const t0 = performance.now();
  const own0 = pids.map(processSeconds);
  return {
    stop() {
      const wallSeconds = (performance.now() - t0) / 1000;
      const cpus = os.availableParallelism();
      const own = pids.reduce((sum, pid, i) => sum + processSeconds(pid) - own0[i], 0);
      const foreign = machineBusySeconds() - busy0 - own;  // may dip below 0 by a tick or two
      return { wallSeconds, cpus, ownCpuSeconds: own, foreignCpuSeconds: foreign, foreignShare: Math.max(0, foreign / (wallSeconds * cpus)) };
    },
  };
}

/** The rounded form of a stop() result for the results file. */
export const rounded = (load) => load && { ...load, wallSeconds: +load.wallSeconds.toFixed(1), ownCpuSeconds: +load.ownCpuSeconds.toFixed(1),
  foreignCpuSeconds: +Math.max(0, load.foreignCpuSeconds).toFixed(1), foreignShare: +load.foreignShare.toFixed(3) };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the whole machine has been nearly idle (busy < `threshold` of all CPUs) over a
 * `windowMs` window, for at most `maxSeconds`; resolves to the seconds waited, or null off Linux.
 * Call it between rounds, while the benchmark itself is idle.
 */
export async function waitQuiet({ threshold = 0.05, windowMs = 500, maxSeconds = 120 } = {}) {
  if (machineBusySeconds() === null) return null;
  const t0 = performance.now();
  const cpus = os.availableParallelism();
  for (;;) {
    const busy0 = machineBusySeconds();
    await sleep(windowMs);
    const share = (machineBusySeconds() - busy0) / ((windowMs / 1000) * cpus);
    const waited = (performance.now() - t0) / 1000;
    if (share < threshold || waited >= maxSeconds) return +waited.toFixed(1);
  }
}
