// A dataset's arrays uploaded to a device once and reused by every loader, fit and evaluate. The
// copy is checked against the arrays' contents (a fingerprint) at the start of each fit, evaluate
// and loader epoch, so an array changed in place since the upload is uploaded again rather than
// trained on stale.
import { native } from '../native';
import type { NativeTensor } from '../native-types';
import type { Dataset } from './dataset';
import type { TensorDataset } from './tensor-dataset';

/** images: uint8 [N, features], labels: uint8 [N], on one device. */
export interface DeviceData {
  images: NativeTensor;
  labels: NativeTensor;
}

/** features float32 [N, F], and int32 labels [N] or float32 targets [N] / [N, K], on one device. */
export interface DeviceTensors {
  features: NativeTensor;
  labels: NativeTensor | null;
  targets: NativeTensor | null;
}

interface Upload<T> {
  tensors: T;
  fingerprint: number;
}

type TypedArrays = (Uint8Array | Int32Array | Float32Array | null)[];

/**
 * A 32-bit hash of the arrays' bytes (four interleaved multiply-xor lanes over 32-bit words, the
 * tail byte by byte): changes when any byte does. Cheap: MNIST's 47 MB in a few tens of ms.
 */
function fingerprint(arrays: TypedArrays): number {
  let h0 = 0x9e3779b9, h1 = 0x85ebca6b, h2 = 0xc2b2ae35, h3 = 0x27d4eb2f;
  for (const a of arrays) {
    if (!a) continue;
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const aligned = (bytes.byteOffset & 3) === 0;
    const words = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2) : null;
    const n = words ? words.length & ~3 : 0;
    for (let i = 0; i < n; i += 4) {
      h0 = Math.imul(h0 ^ words![i], 0x01000193);
      h1 = Math.imul(h1 ^ words![i + 1], 0x01000193);
      h2 = Math.imul(h2 ^ words![i + 2], 0x01000193);
      h3 = Math.imul(h3 ^ words![i + 3], 0x01000193);
    }
    for (let i = n * 4; i < bytes.length; i++) h0 = Math.imul(h0 ^ bytes[i], 0x01000193);
    h1 = Math.imul(h1 ^ bytes.length, 0x01000193);
  }
  return (Math.imul(h0 ^ (h1 >>> 7), 0x85ebca6b) ^ Math.imul(h2 ^ (h3 >>> 11), 0xc2b2ae35)) >>> 0;
}

// One cache per kind of dataset: dataset → device → its upload.
function cached<D extends object, T>(cache: WeakMap<D, Map<string, Upload<T>>>, dataset: D, device: string, verify: boolean,
  arrays: () => TypedArrays, usable: (t: T) => boolean, upload: () => T): T {
  let perDevice = cache.get(dataset);
  if (!perDevice) {
    perDevice = new Map();
    cache.set(dataset, perDevice);
  }
  const entry = perDevice.get(device);
  const current = entry && usable(entry.tensors) ? entry : null;
  // Hashed once: to verify a copy, or to stamp a new one.
  const print = current && !verify ? current.fingerprint : fingerprint(arrays());
  if (current && current.fingerprint === print) return current.tensors;
  const tensors = upload();
  perDevice.set(device, { tensors, fingerprint: print });
  return tensors;
}

const uploads = new WeakMap<Dataset, Map<string, Upload<DeviceData>>>();
const tensorUploads = new WeakMap<TensorDataset, Map<string, Upload<DeviceTensors>>>();

/**
 * The dataset's tensors on `device`, uploaded on first use (freed with the Dataset by the GC);
 * `verify` (at the start of a fit, an evaluate, an epoch) uploads again if the arrays changed.
 */
export function deviceData(dataset: Dataset, device: string, verify = true): DeviceData {
  return cached(uploads, dataset, device, verify, () => [dataset.images, dataset.labels],
    (d) => !d.images.disposed && !d.labels.disposed,
    () => ({
      images: new native.Tensor(dataset.images, [dataset.length, dataset.features], device),
      labels: new native.Tensor(dataset.labels, [dataset.length], device),
    }));
}

/** A TensorDataset's features and labels or targets on `device`, as {@link deviceData}. */
export function deviceTensors(dataset: TensorDataset, device: string, verify = true): DeviceTensors {
  return cached(tensorUploads, dataset, device, verify, () => [dataset.features, dataset.labels, dataset.targets],
    (d) => !d.features.disposed && !d.labels?.disposed && !d.targets?.disposed,
    () => ({
      features: new native.Tensor(dataset.features, [dataset.length, dataset.featureCount], device),
      labels: dataset.labels ? new native.Tensor(dataset.labels, [dataset.length], device) : null,
      targets: dataset.targets ? new native.Tensor(dataset.targets, [dataset.length, ...dataset.targetShape], device) : null,
    }));
}
