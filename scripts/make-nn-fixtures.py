#!/usr/bin/env python3
"""Makes the PyTorch parity fixtures of the nn layers and losses in tests/fixtures/nn/.

Two small training runs, on the CPU in float32 from a fixed seed; tinynn's tests/nn-parity.test.ts
starts from the same initial weights, feeds the same batches and must record the same 20 losses.

  regression: Sequential(Linear(3,16), Tanh(), Linear(16,16), Tanh(), Linear(16,1)), MSELoss,
              SGD lr 0.05 momentum 0.9, 20 batches of 32 rows
  classifier: Sequential(Linear(10,32), GELU(), Dropout(0.2), Linear(32,4)) in eval mode (dropout
              off), CrossEntropyLoss(label_smoothing=0.1), SGD lr 0.1, 20 batches of 32 rows

Run from the repository root, with a venv holding CPU torch, safetensors and numpy:
    .venv/bin/python scripts/make-nn-fixtures.py

Outputs (tests/fixtures/nn/):
    <run>.init.safetensors   the model's state_dict right after seeding (PyTorch names: '0.weight', …)
    <run>.batches.safetensors  x [20, 32, F] float32 and y: [20, 32, 1] float32 targets (regression)
                             or [20, 32] int32 class labels (classifier)
    losses.json              per run: the settings and the loss of each step, before its update
    loss-functions.json      every loss module with each reduction and option on fixed inputs:
                             the input, the target, PyTorch's loss and the gradient of
                             Σ loss·weight with respect to the input
"""
import json
import pathlib

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures" / "nn"

SEED = 1234
STEPS = 20
BATCH = 32


def regression_data(gen: torch.Generator):
    """y = sin(x0) + 0.5·x1·x2 - 0.3·x2² + noise, x uniform in [-2, 2)."""
    x = torch.rand(STEPS, BATCH, 3, generator=gen) * 4 - 2
    y = torch.sin(x[..., 0]) + 0.5 * x[..., 1] * x[..., 2] - 0.3 * x[..., 2] ** 2
    y = y + 0.05 * torch.randn(STEPS, BATCH, generator=gen)
    return x.float().contiguous(), y.unsqueeze(-1).float().contiguous()


def classifier_data(gen: torch.Generator):
    """Four Gaussian clusters in 10 dimensions."""
    centers = torch.randn(4, 10, generator=gen) * 1.5
    y = torch.randint(0, 4, (STEPS, BATCH), generator=gen, dtype=torch.int64)
    x = centers[y] + torch.randn(STEPS, BATCH, 10, generator=gen)
    return x.float().contiguous(), y.to(torch.int32).contiguous()


def train(model, loss_fn, optimizer, x, y):
    losses = []
    for k in range(STEPS):
        optimizer.zero_grad()
        loss = loss_fn(model(x[k]), y[k])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def loss_cases(gen: torch.Generator):
    """Fixed inputs for every loss; each case: (name, options, loss module, input, target)."""
    logits = torch.randn(6, 4, generator=gen)
    labels = torch.tensor([0, 3, 1, 1, 2, 3])
    weight = torch.tensor([0.5, 1.0, 2.0, 1.5])
    pred = torch.randn(5, 3, generator=gen)
    target = torch.randn(5, 3, generator=gen) * 1.5
    prob = torch.rand(5, 3, generator=gen) * 0.9 + 0.05
    binary = (torch.rand(5, 3, generator=gen) > 0.5).float()
    cases = []
    for reduction in ("mean", "sum", "none"):
        r = {"reduction": reduction}
        cases += [
            ("CrossEntropyLoss", r, torch.nn.CrossEntropyLoss(reduction=reduction), logits, labels),
            ("CrossEntropyLoss", {**r, "weight": weight.tolist()}, torch.nn.CrossEntropyLoss(weight=weight, reduction=reduction), logits, labels),
            ("CrossEntropyLoss", {**r, "labelSmoothing": 0.2}, torch.nn.CrossEntropyLoss(label_smoothing=0.2, reduction=reduction), logits, labels),
            ("CrossEntropyLoss", {**r, "weight": weight.tolist(), "labelSmoothing": 0.1},
             torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1, reduction=reduction), logits, labels),
            ("NLLLoss", r, torch.nn.NLLLoss(reduction=reduction), torch.log_softmax(logits, 1), labels),
            ("NLLLoss", {**r, "weight": weight.tolist()}, torch.nn.NLLLoss(weight=weight, reduction=reduction), torch.log_softmax(logits, 1), labels),
            ("MSELoss", r, torch.nn.MSELoss(reduction=reduction), pred, target),
            ("L1Loss", r, torch.nn.L1Loss(reduction=reduction), pred, target),
            ("SmoothL1Loss", r, torch.nn.SmoothL1Loss(reduction=reduction), pred, target),
            ("SmoothL1Loss", {**r, "beta": 0.5}, torch.nn.SmoothL1Loss(beta=0.5, reduction=reduction), pred, target),
            ("BCEWithLogitsLoss", r, torch.nn.BCEWithLogitsLoss(reduction=reduction), pred * 3, binary),
            ("BCELoss", r, torch.nn.BCELoss(reduction=reduction), prob, binary),
        ]
    return cases


def loss_fixtures(gen: torch.Generator):
    out = []
    for name, options, module, x, t in loss_cases(gen):
        x = x.detach().clone().requires_grad_(True)
        loss = module(x, t)
        # Σ loss·w with a fixed w, so that 'none' reductions check every element's gradient
        w = torch.linspace(0.5, 1.5, loss.numel()).reshape(loss.shape)
        (loss * w).sum().backward()
        out.append({"loss": name, "options": options, "input": x.detach().flatten().tolist(), "inputShape": list(x.shape),
                    "target": t.flatten().tolist(), "targetShape": list(t.shape), "targetDtype": "int32" if t.dtype == torch.int64 else "float32",
                    "output": loss.detach().flatten().tolist(), "outputShape": list(loss.shape), "gradWeight": w.flatten().tolist(),
                    "inputGrad": x.grad.flatten().tolist()})
    return out


def main() -> None:
    torch.set_num_threads(1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    runs = {}

    # (a) regression
    torch.manual_seed(SEED)
    model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 1))
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()},
              str(OUT_DIR / "regression.init.safetensors"), metadata={"format": "pt"})
    x, y = regression_data(gen)
    save_file({"x": x, "y": y}, str(OUT_DIR / "regression.batches.safetensors"))
    settings = {"lr": 0.05, "momentum": 0.9}
    losses = train(model, torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), **settings), x, y)
    runs["regression"] = {"model": "Linear(3,16)-Tanh-Linear(16,16)-Tanh-Linear(16,1)", "loss": "MSELoss()",
                          "optimizer": settings, "losses": losses}

    # (b) classifier, eval mode: dropout off
    torch.manual_seed(SEED + 1)
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.GELU(), torch.nn.Dropout(0.2), torch.nn.Linear(32, 4))
    model.eval()
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()},
              str(OUT_DIR / "classifier.init.safetensors"), metadata={"format": "pt"})
    x, y = classifier_data(gen)
    save_file({"x": x, "y": y}, str(OUT_DIR / "classifier.batches.safetensors"))
    settings = {"lr": 0.1, "momentum": 0.0}
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    losses = train(model, lambda logits, labels: loss_fn(logits, labels.long()),
                   torch.optim.SGD(model.parameters(), **settings), x, y)
    runs["classifier"] = {"model": "Linear(10,32)-GELU-Dropout(0.2)-Linear(32,4), eval()",
                          "loss": "CrossEntropyLoss(label_smoothing=0.1)", "optimizer": settings, "losses": losses}

    meta = {"generator": "scripts/make-nn-fixtures.py", "torch": torch.__version__, "seed": SEED, "steps": STEPS,
            "batch_size": BATCH, "runs": runs}
    (OUT_DIR / "losses.json").write_text(json.dumps(meta, indent=2) + "\n")
    cases = loss_fixtures(torch.Generator().manual_seed(SEED + 2))
    (OUT_DIR / "loss-functions.json").write_text(json.dumps({"generator": "scripts/make-nn-fixtures.py", "torch": torch.__version__,
                                                            "cases": cases}) + "\n")
    for name, run in runs.items():
        print(name, " ".join(f"{v:.5f}" for v in run["losses"]))


if __name__ == "__main__":
    main()
