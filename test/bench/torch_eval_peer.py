"""PyTorch peer of basin's loss-surface benchmark: loss evaluations per second of a ReLU MLP with
cross-entropy over `n` random examples (forward pass only, no autograd), one thread, each at a new
point theta + t u (the parameters are updated in place between evaluations, as a radius search does).

Usage: python3 torch_eval_peer.py 784,100,10 1000 [seconds]
Prints one line: evaluations_per_second
"""
import sys
import time

import torch

torch.set_num_threads(1)
widths = [int(w) for w in sys.argv[1].split(",")]
n = int(sys.argv[2])
budget = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0

layers = []
for i in range(len(widths) - 1):
    layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
    if i < len(widths) - 2:
        layers.append(torch.nn.ReLU())
model = torch.nn.Sequential(*layers)
loss_fn = torch.nn.CrossEntropyLoss()
g = torch.Generator().manual_seed(0)
x = torch.rand(n, widths[0], generator=g)
y = torch.randint(0, widths[-1], (n,), generator=g)
theta = [p.detach().clone() for p in model.parameters()]
u = [torch.randn(p.shape, generator=g) * 1e-3 for p in model.parameters()]


@torch.no_grad()
def evaluate(t):
    for p, p0, d in zip(model.parameters(), theta, u):
        p.copy_(p0 + t * d)
    return loss_fn(model(x), y).item()


for i in range(5):
    evaluate(i * 0.1)
count = 0
t0 = time.perf_counter()
while time.perf_counter() - t0 < budget:
    evaluate(count * 0.01)
    count += 1
print(count / (time.perf_counter() - t0))
