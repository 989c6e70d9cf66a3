// How a tensor prints (toString, console.log): its values like PyTorch, summarised when large,
// then shape, dtype and device.
import type { TypedArray } from './native-types';

/** Above this many elements, each dimension shows its first and last EDGE entries only. */
const SUMMARY_THRESHOLD = 1000;
const EDGE = 3;

/** 'tensor([[1.0000, 2.5000], …], shape=[2, 2], dtype=float32, device=cpu)'. */
export function formatTensor(values: TypedArray, shape: readonly number[], dtype: string, device: string, extra: string): string {
  const summarise = values.length > SUMMARY_THRESHOLD;
  const integral = dtype !== 'float32' || Array.from(values).every((v) => Number.isInteger(v) || !Number.isFinite(v));
  const format = (v: number): string => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (dtype !== 'float32') return String(v);
    if (integral) return `${v}.`;
    const a = Math.abs(v);
    return a !== 0 && (a >= 1e8 || a < 1e-4) ? v.toExponential(4) : v.toFixed(4);
  };
  const indent = 'tensor('.length;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const render = (dim: number, offset: number): string => {
    if (dim === shape.length) return format(values[offset]);
    const n = shape[dim];
    const picks = summarise && n > 2 * EDGE ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)]
      : [...Array(n).keys()];
    const parts = picks.map((i) => (i === -1 ? '...' : render(dim + 1, offset + i * strides[dim])));
    if (dim === shape.length - 1) return `[${parts.join(', ')}]`;
    const sep = ',' + '\n'.repeat(shape.length - dim - 1) + ' '.repeat(indent + dim + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = shape.length === 0 ? format(values[0]) : render(0, 0);
  return `tensor(${body}, shape=[${shape.join(', ')}], dtype=${dtype}, device=${device}${extra})`;
}
