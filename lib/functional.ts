// The fused ops behind nn.Linear and the default CrossEntropyLoss. Each calls one native op
// forward and records a GradFn whose backward calls native ops too.
import { native } from './native';
import { timesGradient } from './ops/elementwise';
import { traced } from './ops/trace';
import { isGradEnabled, Tensor } from './tensor';

function requireTensor(value: unknown, what: string): Tensor {
  if (!(value instanceof Tensor)) throw new TypeError(`${what} must be a Tensor, got ${value === null ? 'null' : typeof value}`);
  return value;
}

/**
 * y = x·Wᵀ + b, then ReLU when `relu` (fused into the GEMM's epilogue).
 * x: [B, in] float32, weight: [out, in], bias: [out] → y: [B, out].
 * Backward accumulates into weight.grad / bias.grad (as PyTorch does) and returns dx.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, relu = false): Tensor {
  requireTensor(x, 'input');
  const y = traced('linear', bias ? [x, weight, bias] : [x, weight],
    new Tensor(native.ops.linear(x.native, weight.native, bias ? bias.native : null, relu)), { relu });
  const needsGrad = x.requiresGrad || weight.requiresGrad || (bias?.requiresGrad ?? false);
  if (!isGradEnabled() || !needsGrad) return y;
  y.requiresGrad = true;
  y.gradFn = {
    inputs: [x],
    backward(gradOutput) {
      for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
        if (p?.disposed) throw new TypeError(`backward(): the linear ${name} of shape [${p.shape.join(', ')}] has been disposed`);
      }
      const dy = gradOutput as Tensor;
      const dyPre = relu ? new Tensor(native.ops.reluBackward(dy.native, y.native)) : dy;
      try {
        // One native call accumulates into both grads: a missing one starts at zero when the other exists.
        const accumulate = weight.grad !== null || (bias?.grad ?? null) !== null;
        const fresh = (p: Tensor): Tensor =>
          new Tensor(accumulate ? native.Tensor.zeros([...p.shape], 'float32', p.device) : native.Tensor.empty([...p.shape], 'float32', p.device));
        weight.grad ??= fresh(weight);
        if (bias) bias.grad ??= fresh(bias);
        const dx = native.ops.linearBackward(x.native, weight.native, dyPre.native, weight.grad.native,
          bias?.grad?.native ?? null, accumulate, x.requiresGrad || x.gradFn !== null);
        return [dx ? new Tensor(dx) : null];
      } finally {
        if (dyPre !== dy) dyPre.dispose();
      }
    },
  };
  return y;
}

/**
 * Mean softmax cross-entropy of logits [B, C] against int32 labels [B] (one native pass gives the
 * loss and dlogits). Returns a 0-d tensor on the logits' device (nothing waits for a GPU: a NaN in
 * the logits, or on a GPU a label out of range, shows as a NaN loss); its backward feeds dlogits
 * to the logits.
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  requireTensor(logits, 'logits');
  requireTensor(labels, 'labels');
  const wantGrad = isGradEnabled() && (logits.requiresGrad || logits.gradFn !== null);
  const { loss, dlogits } = native.ops.softmaxCrossEntropy(logits.native, labels.native, wantGrad);
  const out = traced('crossEntropy', [logits, labels], new Tensor(loss));
  if (!wantGrad || !dlogits) return out;
  out.requiresGrad = true;
  out.gradFn = {
    inputs: [logits],
    // dlogits is d loss / d logits; a loss that was scaled afterwards scales it too.
    backward: (gradOutput) => [timesGradient(new Tensor(dlogits), gradOutput)],
  };
  return out;
}
