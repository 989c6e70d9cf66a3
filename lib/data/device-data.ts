// A dataset's bytes uploaded to a device once and reused by every loader, fit and evaluate.
import { native } from '../native';
import type { NativeTensor } from '../native-types';
import type { Dataset } from './dataset';
import type { TensorDataset } from './tensor-dataset';

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

/** features float32 [N, F], and int32 labels [N] or float32 targets [N] / [N, K], on one device. */
export interface DeviceTensors {
  features: NativeTensor;
  labels: NativeTensor | null;
  targets: NativeTensor | null;
}

const tensorUploads = new WeakMap<TensorDataset, Map<string, DeviceTensors>>();

/** A TensorDataset's features and labels or targets on `device`, uploaded on first use (freed with it by the GC). */
export function deviceTensors(dataset: TensorDataset, device: string): DeviceTensors {
  let perDevice = tensorUploads.get(dataset);
  if (!perDevice) {
    perDevice = new Map();
    tensorUploads.set(dataset, perDevice);
  }
  let data = perDevice.get(device);
  if (!data || data.features.disposed || data.labels?.disposed || data.targets?.disposed) {
    data = {
      features: new native.Tensor(dataset.features, [dataset.length, dataset.featureCount], device),
      labels: dataset.labels ? new native.Tensor(dataset.labels, [dataset.length], device) : null,
      targets: dataset.targets ? new native.Tensor(dataset.targets, [dataset.length, ...dataset.targetShape], device) : null,
    };
    perDevice.set(device, data);
  }
  return data;
}
