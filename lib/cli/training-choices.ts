// The optimizer and learning-rate schedule `tinynn train` builds from its options.
import { UsageError, type StringOption } from './args';

type Optim = typeof import('../index').optim;
type Parameter = import('../index').nn.Parameter;

/** --optimizer. */
export const OPTIMIZER_OPTION = {
  kind: 'string',
  valueName: 'sgd|adam|adamw',
  description: 'the optimizer',
  default: 'sgd',
  pattern: /^(sgd|adam|adamw)$/,
} as const satisfies StringOption;

/** --scheduler. */
export const SCHEDULER_OPTION = {
  kind: 'string',
  valueName: 'none|cosine|onecycle|step',
  description: 'learning-rate schedule: cosine annealing over the epochs, one cycle over the steps, or step decay',
  default: 'none',
  pattern: /^(none|cosine|onecycle|step)$/,
} as const satisfies StringOption;

/** Each optimizer's learning rate when --lr is not given. */
export const DEFAULT_LR = { sgd: 0.05, adam: 1e-3, adamw: 1e-3 } as const;
/** SGD's momentum when --momentum is not given. */
export const DEFAULT_MOMENTUM = 0.9;

export interface OptimizerChoice {
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number | undefined;
  momentum: number | undefined;
  weightDecay: number | undefined;
}

export interface ScheduleChoice {
  scheduler: 'none' | 'cosine' | 'onecycle' | 'step';
  stepSize: number | undefined;
  gamma: number | undefined;
  epochs: number;
  stepsPerEpoch: number;
}

/** Usage errors for options that do not apply to the chosen optimizer or schedule. */
export function checkChoices(o: OptimizerChoice, s: Pick<ScheduleChoice, 'scheduler' | 'stepSize' | 'gamma'>): void {
  if (o.optimizer !== 'sgd' && o.momentum !== undefined) throw new UsageError(`--momentum applies to --optimizer sgd, not ${o.optimizer}`);
  if (s.scheduler !== 'step') {
    if (s.stepSize !== undefined) throw new UsageError(`--step-size applies to --scheduler step, not ${s.scheduler}`);
    if (s.gamma !== undefined) throw new UsageError(`--gamma applies to --scheduler step, not ${s.scheduler}`);
  }
}

/** The optimizer's lr: --lr, else the optimizer's default. */
export const learningRate = (o: OptimizerChoice): number => o.lr ?? DEFAULT_LR[o.optimizer];

/** One line describing the optimizer and schedule, e.g. 'Adam lr 0.001, weight decay 0; cosine schedule'. */
export function describeChoices(o: OptimizerChoice, s: ScheduleChoice): string {
  const lr = learningRate(o);
  const opt = o.optimizer === 'sgd'
    ? `SGD lr ${lr}, momentum ${o.momentum ?? DEFAULT_MOMENTUM}, weight decay ${o.weightDecay ?? 0}`
    : `${o.optimizer === 'adam' ? 'Adam' : 'AdamW'} lr ${lr}, weight decay ${o.weightDecay ?? (o.optimizer === 'adamw' ? 0.01 : 0)}`;
  const schedule = {
    none: 'constant lr',
    cosine: `cosine annealing over ${s.epochs} epochs`,
    onecycle: `one cycle peaking at ${lr} over ${s.epochs * s.stepsPerEpoch} steps`,
    step: `lr × ${s.gamma ?? 0.1} every ${stepSizeOf(s)} epochs`,
  }[s.scheduler];
  return `${opt}; ${schedule}`;
}

const stepSizeOf = (s: ScheduleChoice): number => s.stepSize ?? Math.max(1, Math.round(s.epochs / 3));

/** The optimizer over `params`. */
export function makeOptimizer(optim: Optim, params: Parameter[], o: OptimizerChoice): InstanceType<Optim['SGD' | 'Adam' | 'AdamW']> {
  const lr = learningRate(o);
  const weightDecay = o.weightDecay;
  if (o.optimizer === 'sgd') return new optim.SGD(params, { lr, momentum: o.momentum ?? DEFAULT_MOMENTUM, weightDecay: weightDecay ?? 0 });
  const options = weightDecay === undefined ? { lr } : { lr, weightDecay };
  return o.optimizer === 'adam' ? new optim.Adam(params, options) : new optim.AdamW(params, options);
}

/** The scheduler of `optimizer`, or undefined for --scheduler none. */
export function makeScheduler(optim: Optim, optimizer: InstanceType<Optim['SGD' | 'Adam' | 'AdamW']>, s: ScheduleChoice,
  lr: number): InstanceType<Optim['CosineAnnealingLR' | 'OneCycleLR' | 'StepLR']> | undefined {
  switch (s.scheduler) {
    case 'none': return undefined;
    case 'cosine': return new optim.CosineAnnealingLR(optimizer, { tMax: s.epochs });
    case 'onecycle': return new optim.OneCycleLR(optimizer, { maxLr: lr, epochs: s.epochs, stepsPerEpoch: s.stepsPerEpoch });
    case 'step': return new optim.StepLR(optimizer, { stepSize: stepSizeOf(s), gamma: s.gamma ?? 0.1 });
  }
}
