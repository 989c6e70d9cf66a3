// The fp32 peaks the roofline column divides by. CPU: the addon's FMA micro-benchmark
// (native.bench.fmaPeak, all cores, the widest ISA) where the addon has it, else PyTorch's large
// sgemm, which reaches less than the FMA peak (so fractions against it read high). GPU: PyTorch's
// large CUDA sgemm (no TF32), likewise below the true fp32 peak.
//
// The peak is a constant of the machine and other load only ever lowers a measurement, so it is
// measured again between batch sizes and the highest measurement counts.
import { native } from './tinynn-package.mjs';

const SECONDS = 1;  // per measurement
const REPEATS = 3;  // measurements per sample, the best kept

async function best(measure) {
  let top = 0;
  for (let i = 0; i < REPEATS; i++) top = Math.max(top, await measure());
  return top;
}

async function cpuPeak(peer) {
  const bench = native.bench;
  if (bench?.fmaPeak) {
    const isa = bench.fmaPeakIsa?.() ?? '';
    return { gflops: await best(() => bench.fmaPeak(SECONDS, isa)),
      method: `native.bench.fmaPeak: independent FMA chains on all cores${isa ? `, ${isa}` : ''}` };
  }
  if (!peer) return null;
  return { gflops: await best(async () => (await peer.request({ op: 'sgemmPeak', device: 'cpu', seconds: SECONDS })).gflops),
    method: 'PyTorch 2048³ fp32 matmul on all cores, a proxy: the addon has no native.bench.fmaPeak, and the FMA peak ' +
      'is higher, so the fractions read high' };
}

async function gpuPeak(peer) {
  return { gflops: await best(async () => (await peer.request({ op: 'sgemmPeak', device: 'cuda', seconds: SECONDS })).gflops),
    method: 'PyTorch 8192³ fp32 matmul on the GPU, no TF32; below the fp32 FMA peak, so the fractions read high' };
}

/** Samples the peaks of the devices asked for on each measure(); `peaks` holds the highest, with every sample. */
export class PeakTracker {
  constructor(peer, { cpu, gpu }) {
    this.peer = peer;
    this.devices = { cpu, gpu };
    this.peaks = { cpu: null, gpu: null };
  }

  async measure() {
    const now = { cpu: this.devices.cpu ? await cpuPeak(this.peer) : null, gpu: this.devices.gpu ? await gpuPeak(this.peer) : null };
    for (const [device, p] of Object.entries(now)) {
      if (!p) continue;
      const old = this.peaks[device];
      const samples = [...(old?.samples ?? []), +p.gflops.toFixed(1)];
      this.peaks[device] = { gflops: Math.max(p.gflops, old?.gflops ?? 0), method: p.method, samples };
    }
  }
}
