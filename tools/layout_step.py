"""One step of the demo's autoencoder (L1 reconstruction and Adam, a batch of 32 volumes of 9 x 64 x 64) in the
default memory layout and in channels_last, timed alternately: what `GANTrainer.fast_layout` buys on this machine
(`98_release_quality`, section "A cheaper texture fit").

    python tools/layout_step.py [--rounds 2] [--steps 15] [--threads 2]
"""
import argparse, time
import torch
from pgan.models import AutoEncoder

def step_seconds(X, channels_last:bool, steps:int)->float:
    "Mean seconds of a step after 3 warm-up steps."
    torch.manual_seed(0); ae = AutoEncoder(X.shape[1], tuple(X.shape[2:]), 32, 16)
    if channels_last: ae, X = ae.to(memory_format=torch.channels_last), X.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(ae.parameters(), 1e-3)
    for k in range(steps + 3):
        if k == 3: t = time.perf_counter()
        loss = (ae(X) - X).abs().mean(); opt.zero_grad(); loss.backward(); opt.step()
    return (time.perf_counter() - t) / steps

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=2); ap.add_argument('--steps', type=int, default=15); ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args(); torch.set_num_threads(a.threads)
    X = torch.randn(32, 9, 64, 64, generator=torch.Generator().manual_seed(0))
    for r in range(a.rounds):
        d, c = step_seconds(X, False, a.steps), step_seconds(X, True, a.steps)
        print(f"round {r + 1}: default layout {d:.3f} s, channels_last {c:.3f} s a step ({1 - c / d:.0%} faster)", flush=True)
