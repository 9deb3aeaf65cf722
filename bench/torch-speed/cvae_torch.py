"""The default die CVAE of tinygen, in PyTorch on the CPU, for a speed comparison.

Same architecture, batch size, data size and quantization-aware ops as
`tinygen train projects/die.ron`: encoder 7->8->16 stride-2 3x3 convolutions, latent 2,
decoder dense 8 -> 8x4x4, then (nearest x2, 3x3 conv) to 8, 4 and 1 channels; weights
fake-quantized per tensor to a power-of-two scale (4-bit hidden, 8-bit output) with a
straight-through estimator, activations on the 1/64 grid, logits on the 1/16 grid; Adam
at lr 0.01; 12,000 images in batches of 64. The pixels are random: speed does not depend
on what the dice look like. Prints seconds per epoch.
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def pow2_scale(w, top):
    m = w.detach().abs().max().clamp_min(1e-6).item()
    return 2.0 ** math.ceil(math.log2(m / top))


def fake_quant(w, lo, hi, top):
    s = pow2_scale(w, top)
    q = torch.clamp(torch.floor(w.detach() / s + 0.5), lo, hi) * s
    return w + (q - w).detach()


def grid(x, lo, hi, step):
    y = x.clamp(lo, hi)
    q = torch.floor(y.detach() / step + 0.5) * step
    return y + (q - y).detach()


class QConv(nn.Module):
    def __init__(self, cin, cout, bits):
        super().__init__()
        self.w = nn.Parameter(torch.empty(cout, cin, 3, 3).uniform_(-1, 1) * math.sqrt(6 / (cin * 9)))
        self.b = nn.Parameter(torch.zeros(cout))
        self.range = (-8, 7, 7.0) if bits == 4 else (-128, 127, 127.0)

    def forward(self, x):
        lo, hi, top = self.range
        return F.conv2d(x, fake_quant(self.w, lo, hi, top), self.b, padding=1)


class Cvae(nn.Module):
    def __init__(self, latent=2, widths=(8, 8, 4)):
        super().__init__()
        self.e1 = nn.Conv2d(7, 8, 3, stride=2, padding=1)
        self.e2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.mu = nn.Linear(16 * 8 * 8, latent)
        self.logvar = nn.Linear(16 * 8 * 8, latent)
        self.c0 = widths[0]
        self.fc_w = nn.Parameter(torch.empty(latent + 6, widths[0] * 16).uniform_(-1, 1) * math.sqrt(6 / (latent + 6)))
        self.fc_b = nn.Parameter(torch.zeros(widths[0] * 16))
        self.up = nn.ModuleList([QConv(widths[0], widths[1], 4), QConv(widths[1], widths[2], 4), QConv(widths[2], 1, 8)])

    def forward(self, img, onehot, eps):
        b = img.shape[0]
        planes = onehot.view(b, 6, 1, 1).expand(b, 6, 32, 32)
        h = F.relu(self.e1(torch.cat([img, planes], 1)))
        h = F.relu(self.e2(h)).flatten(1)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * eps
        x = grid(torch.cat([z, onehot], 1), -4.0, 4.0 - 1 / 32, 1 / 32)
        x = x @ fake_quant(self.fc_w, -8, 7, 7.0) + self.fc_b
        x = grid(x, 0.0, 4.0 - 1 / 64, 1 / 64).view(b, self.c0, 4, 4)
        for i, conv in enumerate(self.up):
            x = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
            x = grid(x, 0.0, 4.0 - 1 / 64, 1 / 64) if i < 2 else grid(x, -8.0, 8.0 - 1 / 16, 1 / 16)
        return x, mu, logvar


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    torch.manual_seed(42)
    n = 12000
    images = torch.rand(n, 1, 32, 32)
    labels = torch.randint(0, 6, (n,))
    model = Cvae()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            x, y = images[idx], F.one_hot(labels[idx], 6).float()
            logits, mu, logvar = model(x, y, torch.randn(len(idx), 2))
            recon = (F.softplus(logits) - x * logits).sum() / len(idx)
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum() / len(idx)
            opt.zero_grad()
            (recon + kl).backward()
            opt.step()
        print(f"epoch {epoch} {time.perf_counter() - t0:.2f} s", flush=True)


if __name__ == "__main__":
    main()
