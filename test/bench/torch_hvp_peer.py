"""PyTorch peer of basin's Hessian benchmark: the cost of one exact Hessian-vector product
(double backward, torch.autograd.grad with create_graph=True) relative to one gradient, for a ReLU
MLP with cross-entropy over `n` random examples, one thread.

Usage: python3 torch_hvp_peer.py 784,100,10 1000 [seconds]
Prints one line: gradient_seconds hvp_seconds (medians)
"""
import statistics
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
params = list(model.parameters())
loss_fn = torch.nn.CrossEntropyLoss()
g = torch.Generator().manual_seed(0)
x = torch.rand(n, widths[0], generator=g)
y = torch.randint(0, widths[-1], (n,), generator=g)
v = [torch.randn(p.shape, generator=g) for p in params]


def gradient():
    loss = loss_fn(model(x), y)
    return torch.autograd.grad(loss, params)


def hvp():
    loss = loss_fn(model(x), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    dot = sum((gi * vi).sum() for gi, vi in zip(grads, v))
    return torch.autograd.grad(dot, params)


def median_seconds(f):
    for _ in range(3):
        f()
    times = []
    t_end = time.perf_counter() + budget
    while time.perf_counter() < t_end or len(times) < 5:
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


print(median_seconds(gradient), median_seconds(hvp))
