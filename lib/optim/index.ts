export { Optimizer, type ParamGroup, type ParamGroupSpec, type OptimizerStateDict } from './optimizer';
export { SGD, type SGDOptions, type SGDSettings } from './sgd';
export { Adam, AdamW, type AdamOptions, type AdamSettings } from './adam';
export { RMSprop, type RMSpropOptions, type RMSpropSettings } from './rmsprop';
export { LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, type SchedulerStateDict } from './lr-scheduler';
export { OneCycleLR, type OneCycleLROptions } from './one-cycle-lr';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './reduce-lr-on-plateau';
