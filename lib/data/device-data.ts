// A dataset's bytes uploaded to a device once and reused by every loader, fit and evaluate.
import { native } from '../native';
import type { NativeTensor } from '../native-types';
import type { Dataset } from './dataset';

/** images: uint8 [N, features], labels: uint8 [N], on one device. */
export interface DeviceData {
  images: NativeTensor;
  labels: NativeTensor;
}

const uploads = new WeakMap<Dataset, Map<string, DeviceData>>();

/** The dataset's tensors on `device`, uploaded on first use (freed with the Dataset by the GC). */
export function deviceData(dataset: Dataset, device: string): DeviceData {
  let perDevice = uploads.get(dataset);
  if (!perDevice) {
    perDevice = new Map();
    uploads.set(dataset, perDevice);
  }
  let data = perDevice.get(device);
  if (!data || data.images.disposed || data.labels.disposed) {
    data = {
      images: new native.Tensor(dataset.images, [dataset.length, dataset.features], device),
      labels: new native.Tensor(dataset.labels, [dataset.length], device),
    };
    perDevice.set(device, data);
  }
  return data;
}
