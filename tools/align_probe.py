"""How much of the within-class variation of the training volumes is where the anatomy sits (prototype, not the library).

Congealing: each training volume of a `make quality` run gets a rotation and a shift (the same for its slices) that
bring it, at half resolution, closest in squared error to its class's mean of the aligned volumes (4 rounds of 40
Adam steps, the first against a blurred mean). If the faint disc of the class means came from discs at varying
heights and tilts, the aligned means would show a sharp disc and the within-class variance would fall.

    python tools/align_probe.py --run runs/quality/latent_s0
"""
import argparse, time
from pathlib import Path
import h5py, numpy as np, torch, torch.nn.functional as F

def warp(x, prm):
    "Volumes x (N, C, H, W) rotated by prm[:, 0] (radians) and shifted by prm[:, 1:] (in units of half the image), borders replicated."
    a, tx, ty = prm[:, 0], prm[:, 1], prm[:, 2]
    A = torch.stack([torch.stack([a.cos(), -a.sin(), tx], 1), torch.stack([a.sin(), a.cos(), ty], 1)], 1)
    return F.grid_sample(x, F.affine_grid(A, x.shape, align_corners=False), padding_mode='border', align_corners=False)

def congeal(X, y, K, rounds=4, steps=40, lr=0.01):
    "Per-volume (angle, tx, ty) aligning each volume to its class's aligned mean (fit at half resolution)."
    Xs, prm = F.avg_pool2d(X, 2), torch.zeros(len(X), 3, requires_grad=True)
    for r in range(rounds):
        with torch.no_grad():
            A = warp(Xs, prm); T = torch.stack([A[y == k].mean(0) for k in range(K)])
            if r == 0: T = F.avg_pool2d(T, 3, 1, 1)
        opt = torch.optim.Adam([prm], lr=lr)
        for _ in range(steps):
            loss = (warp(Xs, prm) - T[y]).pow(2).mean(); opt.zero_grad(); loss.backward(); opt.step()
            with torch.no_grad(): prm[:, 0].clamp_(-0.35, 0.35); prm[:, 1:].clamp_(-0.3, 0.3)
    return prm.detach()

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('--run', type=Path, default=Path('runs/quality/latent_s0'))
    a = ap.parse_args(); torch.set_num_threads(2); torch.manual_seed(0)
    with h5py.File(a.run/'data'/'train.h5', 'r') as h: X, y = torch.tensor(h['images'][:]).float(), torch.as_tensor(np.asarray(h['regions'][:]).astype(int))
    K, t = int(y.max()) + 1, time.time(); prm = congeal(X, y, K)
    with torch.no_grad(): Xa = warp(X, prm)
    wv = lambda V: float(np.mean([V[y == k].var(0).mean().item() for k in range(K)]))
    H = X.shape[-1]
    print(f'shift SD {prm[:, 1:].std(0).mean().item() * H / 2:.2f} px, rotation SD {np.degrees(prm[:, 0].std().item()):.1f} degrees; '
          f'within-class variance {wv(X):.5f} -> {wv(Xa):.5f} ({1 - wv(Xa) / wv(X):.1%} less); {time.time() - t:.0f} s')
