import { crossEntropy } from '../functional';
import type { Tensor } from '../tensor';

/** Mean softmax cross-entropy over the batch, as torch.nn.CrossEntropyLoss with default options. */
export class CrossEntropyLoss {
  /** logits: float32 [B, C]; labels: int32 [B] with values in [0, C) → a one-element loss tensor. */
  forward(logits: Tensor, labels: Tensor): Tensor {
    return crossEntropy(logits, labels);
  }
}
