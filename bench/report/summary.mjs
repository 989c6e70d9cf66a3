// Numbers derived from the timed records: a 60 000-sample epoch's seconds, the fraction of the
// fp32 peak reached, and the speed ratios the issue asks for.
import { FLOPS_PER_SAMPLE, TRAIN_SAMPLES } from '../model-spec.mjs';

/** Each ratio is samples/s of `num` over that of the fastest of `den` at the same batch size. */
export const RATIOS = [
  { label: 'tinynn cpu fused ÷ PyTorch CPU', num: 'tinynn-cpu-fused', den: ['pytorch-cpu'] },
  { label: 'tinynn cpu fused ÷ fastest TensorFlow.js', num: 'tinynn-cpu-fused', den: ['tfjs-cpu', 'tfjs-wasm'] },
  { label: 'tinynn cpu eager time ÷ fused time', num: 'tinynn-cpu-fused', den: ['tinynn-cpu-eager'] },
  { label: 'tinynn cuda fused ÷ PyTorch CUDA', num: 'tinynn-cuda-fused', den: ['pytorch-cuda'] },
  { label: 'tinynn cuda fused ÷ PyTorch CUDA graphs', num: 'tinynn-cuda-fused', den: ['pytorch-cuda-graphs'] },
  { label: 'Adam: tinynn cpu fused ÷ PyTorch CPU', num: 'tinynn-cpu-fused-adam', den: ['pytorch-cpu-adam'] },
  { label: 'Adam: tinynn cuda fused ÷ PyTorch CUDA graphs', num: 'tinynn-cuda-fused-adam', den: ['pytorch-cuda-graphs-adam'] },
];

/** Adds epochSeconds and fractionOfPeak (of the CPU or GPU peak, by the system's device) to each record. */
export function withRoofline(records, peaks) {
  return records.map((r) => {
    if (r.error) return r;
    const peak = r.system.includes('-cuda') ? peaks.gpu : peaks.cpu;
    return { ...r, epochSeconds: TRAIN_SAMPLES / r.samplesPerSecond,
      fractionOfPeak: peak ? (FLOPS_PER_SAMPLE * r.samplesPerSecond) / (peak.gflops * 1e9) : null };
  });
}

/** [{ label, batchSize, ratio, against }] for every ratio whose systems both ran at that batch size. */
export function ratios(records) {
  const sps = new Map(records.filter((r) => !r.error).map((r) => [`${r.system}@${r.batchSize}`, r.samplesPerSecond]));
  const batchSizes = [...new Set(records.map((r) => r.batchSize))];
  return RATIOS.flatMap(({ label, num, den }) => batchSizes.flatMap((batchSize) => {
    const top = sps.get(`${num}@${batchSize}`);
    const rivals = den.filter((d) => sps.has(`${d}@${batchSize}`)).sort((a, b) => sps.get(`${b}@${batchSize}`) - sps.get(`${a}@${batchSize}`));
    if (top === undefined || rivals.length === 0) return [];
    return [{ label, batchSize, ratio: top / sps.get(`${rivals[0]}@${batchSize}`), against: rivals[0] }];
  }));
}
