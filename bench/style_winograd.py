"""A speed idea for chapter 7 that did NOT pay off, kept runnable so that anyone can check (closing note of 07_style):
VGG16's 3x3 convolutions computed by NNPACK's Winograd algorithm (`torch._nnpack_spatial_convolution`, forward and
backward) instead of PyTorch's default (oneDNN). Prints the time of one evaluation (forward + backward to the pixels)
at `--size` with either, then runs the default `style_transfer` on the benchmark covers of `bench/style_speed.py`
with either network. Run it once as is and once as `OMP_WAIT_POLICY=PASSIVE python …` (OpenMP reads that setting
when PyTorch loads, not later).

    MELONPY_SHARED=../shared nice python bench/style_winograd.py
    MELONPY_SHARED=../shared OMP_WAIT_POLICY=PASSIVE nice python bench/style_winograd.py --covers 1
"""
import argparse, os
from pathlib import Path
import torch, torch.nn as nn, torch.nn.functional as F
from melonpy.core import sample_covers
from melonpy.data import read_covers
from melonpy.gatys import VGGFeatures, image_tensor, transfer_distances
from melonpy.era_targets import era_grams
from melonpy.style import style_transfer
from style_speed import timed


class _WinogradConv(torch.autograd.Function):
    "3x3 convolution, stride 1, padding 1, by NNPACK; backward to the input only (the weights are frozen)."
    @staticmethod
    def forward(ctx, x, w, b, w_back):
        ctx.save_for_backward(w_back)
        return torch._nnpack_spatial_convolution(x, w, b, [1, 1])
    @staticmethod
    def backward(ctx, g):
        w_back, = ctx.saved_tensors   # the gradient of a convolution is the convolution with the flipped, transposed kernel
        return torch._nnpack_spatial_convolution(g.contiguous(), w_back, None, [1, 1]), None, None, None


class WinogradConv(nn.Module):
    "A frozen `nn.Conv2d(k=3, padding=1)` computed by NNPACK where the map has at least `min_side`² pixels."
    def __init__(self, conv, min_side=32):
        super().__init__()
        self.weight, self.bias, self.min_side = conv.weight.detach(), conv.bias.detach(), min_side
        self.w_back = self.weight.flip(2, 3).transpose(0, 1).contiguous()
    def forward(self, x):
        if x.shape[-2] * x.shape[-1] < self.min_side ** 2: return F.conv2d(x, self.weight, self.bias, padding=1)
        return _WinogradConv.apply(x, self.weight, self.bias, self.w_back)


def winograd_features():
    "`VGGFeatures` whose convolutions run on NNPACK."
    if not torch._nnpack_available(): raise SystemExit('this PyTorch has no NNPACK')   # the call also initialises NNPACK
    net = VGGFeatures()
    net.body = nn.Sequential(*[WinogradConv(m) if isinstance(m, nn.Conv2d) else m for m in net.body])
    return net


def probe_loss(net, x):
    "A loss that reaches every layer `net` returns: the sum of the mean squares of its features."
    return sum(v.pow(2).mean() for v in net(x).values())


def evaluation_time(net, size, reps=10):
    "Median wall time of one forward + backward pass to the pixels at `size`x`size` (after 2 warm-up passes)."
    ts = []
    for _ in range(reps + 2):
        x = torch.rand(1, 3, size, size, requires_grad=True)
        (_, t, _) = timed(lambda: probe_loss(net, x).backward())
        ts.append(t)
    return sorted(ts[2:])[reps // 2]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=None, help='cover collection (default: $MELONPY_DATA or the shared one)')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--covers', type=int, default=3)
    a = p.parse_args(argv)
    covers = Path(a.data) if a.data else sample_covers()
    eras = ['1990s', '2000s', '2010s']
    contents = read_covers(covers, eras=['1970s', '1980s']).sample(3, random_state=1).file.tolist()[:a.covers]  # as style_speed.py
    net, wnet = VGGFeatures(), winograd_features()
    print(f'# {a.size}px, torch threads {torch.get_num_threads()}, OMP_WAIT_POLICY={os.environ.get("OMP_WAIT_POLICY", "")}', flush=True)
    x, grads = torch.rand(1, 3, a.size, a.size), []
    for n in (net, wnet):   # same loss and gradient, up to rounding (Winograd rounds more than direct convolution)
        xx = x.clone().requires_grad_(True); probe_loss(n, xx).backward(); grads.append(xx.grad)
    print(f'gradient to the pixels, NNPACK vs oneDNN: max relative difference {((grads[1] - grads[0]).abs().max() / grads[0].abs().max()).item():.1e}')
    for name, n in [('oneDNN', net), ('NNPACK', wnet)]: print(f'one evaluation at {a.size}px, {name}: {evaluation_time(n, a.size):.3f}s', flush=True)
    for i, f in enumerate(contents):
        era = eras[i % 3]
        target, c = era_grams(covers, era, a.size, net=net, progress=False), image_tensor(f, a.size)
        for name, n in [('oneDNN', net), ('NNPACK', wnet)]:
            img, t, _ = timed(lambda: style_transfer(f, era=era, covers=covers, size=a.size, net=n, progress=False))
            d = transfer_distances(image_tensor(img), c, target, net)
            print(f'{Path(f).name} -> {era}: default style_transfer with {name} {t:.1f}s, style {d["style"]:.4f}, content {d["content"]:.4f}', flush=True)

if __name__ == '__main__': main()
