"""PyTorch peer of basin's training benchmark: SGD steps/s of an MLP on random data, one thread.

Usage: python3 torch_peer.py 784,100,10 128 [seconds]
Prints one line: steps_per_second
"""
import sys
import time

import torch

torch.set_num_threads(1)
widths = [int(w) for w in sys.argv[1].split(",")]
batch = int(sys.argv[2])
budget = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0

layers = []
for i in range(len(widths) - 1):
    layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
    if i < len(widths) - 2:
        layers.append(torch.nn.ReLU())
model = torch.nn.Sequential(*layers)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = torch.nn.CrossEntropyLoss()
g = torch.Generator().manual_seed(0)
x = torch.rand(batch, widths[0], generator=g)
y = torch.randint(0, widths[-1], (batch,), generator=g)


def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()


for _ in range(20):
    step()
n = 0
t0 = time.perf_counter()
while time.perf_counter() - t0 < budget:
    step()
    n += 1
print(n / (time.perf_counter() - t0))
