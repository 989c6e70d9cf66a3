export { Optimizer, type ParamGroup, type ParamGroupSpec, type OptimizerStateDict } from './optimizer';
export { SGD, type SGDOptions, type SGDSettings } from './sgd';
export { Adam, AdamW, type AdamOptions, type AdamSettings } from './adam';
export { RMSprop, type RMSpropOptions, type RMSpropSettings } from './rmsprop';
