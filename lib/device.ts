// Device names and the available backends.
import { native } from './native';

/** Where tensors live: the CPU, the first CUDA device, or CUDA device N. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
/** A device, or 'auto': CUDA when it is available, else the CPU (with a one-time warning). */
export type DeviceSpec = Device | 'auto';

/** What this process can run on. */
export interface BackendInfo {
  cpu: true;
  /** Whether CUDA is usable: compiled in, a driver, a device and cuBLAS were found. */
  cuda: boolean;
  cudaDevices: number;
  /** Why CUDA is not usable ('' when it is). */
  reason: string;
}

/** Reports the backends this process can use, e.g. `{ cpu: true, cuda: false, reason: 'no CUDA device found' }`. */
export function backends(): BackendInfo {
  return native.backends();
}

let warnedAutoFallback = false;

/**
 * Resolves a device spec to a concrete device name ('cpu' or 'cuda:N'). Throws a TypeError for a
 * malformed name and an Error with the true reason when CUDA is asked for but unavailable.
 */
export function resolveDevice(spec: unknown): string {
  if (spec === 'cpu') return 'cpu';
  const info = backends();
  if (spec === 'auto') {
    if (info.cuda) return 'cuda:0';
    if (!warnedAutoFallback) {
      warnedAutoFallback = true;
      process.emitWarning(`CUDA is not available (${info.reason}); using the CPU`, 'TinynnWarning');
    }
    return 'cpu';
  }
  if (typeof spec === 'string' && /^cuda(:\d{1,3})?$/.test(spec)) {
    if (!info.cuda) throw new Error(`device '${spec}' was asked for but CUDA is not available: ${info.reason}`);
    const index = spec === 'cuda' ? 0 : Number(spec.slice(5));
    if (index >= info.cudaDevices) {
      throw new RangeError(`device '${spec}' does not exist: ${info.cudaDevices} CUDA device(s) found`);
    }
    return `cuda:${index}`;
  }
  throw new TypeError(`device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got ${describe(spec)}`);
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '…' : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'function') return 'a function';
  return `an object (${(value as object).constructor?.name ?? 'Object'})`;
}
