"""Prototype (not the library): a one-shot private moment release — class means and a covariance of low-frequency DCT
coefficients through the Gaussian mechanism — and a Gaussian sampler from them.

python tools/dpgauss_proto.py DATA_DIR OUT --eps 10 [--seed 0] [--keep 16] [--kz 3] [--pcs 64]
"""
import argparse, json, math, sys, time
from pathlib import Path
import numpy as np, torch
from scipy.fft import dctn, idctn
from pgan.data import H5Volumes, write_h5
from pgan.dp import noise_for_epsilon, make_accountant, epsilon_of

ap = argparse.ArgumentParser()
ap.add_argument('data'); ap.add_argument('out')
ap.add_argument('--eps', type=float, default=10.); ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--keep', type=int, default=16); ap.add_argument('--kz', type=int, default=3)
ap.add_argument('--pcs', type=int, default=64); ap.add_argument('--clip-res', type=float, default=0.35)
ap.add_argument('--split', type=float, default=0.5); ap.add_argument('--n', type=int, default=0)
ap.add_argument('--shrink', type=float, default=1.0); ap.add_argument('--per-class', type=int, default=0)
ap.add_argument('--eval', type=int, default=1); ap.add_argument('--cov-keep', type=int, default=0); ap.add_argument('--rmt', type=int, default=0)
a = ap.parse_args()
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
t0 = time.time()
with H5Volumes(Path(a.data)/'train.h5') as v:
    x = v[np.arange(len(v))]; y = v.regions.astype(np.int64); names = v.class_names
N, C, H, W = x.shape; K = len(names)
kz, kh = min(a.kz, C), a.keep
def enc(b): return dctn(b, type=2, norm='ortho', axes=(1, 2, 3))[:, :kz, :kh, :kh].reshape(len(b), -1)
def dec(c):
    full = np.zeros((len(c), C, H, W), np.float32); full[:, :kz, :kh, :kh] = c.reshape(len(c), kz, kh, kh)
    return idctn(full, type=2, norm='ortho', axes=(1, 2, 3))
Z = np.concatenate([enc(x[s:s+512]) for s in range(0, N, 512)]).astype(np.float64)
d = Z.shape[1]
del x
# public bounds: ‖z‖ ≤ ‖x‖ ≤ √(C H W) (pixels in [-1, 1], orthonormal DCT): the sums' sensitivity
C1 = math.sqrt(C * H * W)
C2 = a.clip_res * math.sqrt(C * H * W)    # residual clip (public constant: residual pixel SD up to clip_res)
delta = 1 / (10 * N)
rng = np.random.default_rng(10_000 + a.seed)
if a.eps > 0:
    # two Gaussian mechanisms composed (RDP): sums of z per class (sensitivity C1: each volume in one class row), then Σ r rᵀ
    # (sensitivity C2²), both with the same σ; plus the counts (sensitivity 1) in the first, as an extra coordinate scaled to C1
    sigma = noise_for_epsilon(a.eps, delta, 1.0, 2); eps = epsilon_of(make_accountant('rdp', [(sigma, 1.0, 2)]), delta)
else: sigma, eps = 0., float('inf')
S = np.zeros((K, d + 1))
for k in range(K): S[k, :d] = Z[y == k].sum(0); S[k, d] = C1 * (y == k).sum()
# each volume: row of its class, vector (z, C1) has norm ≤ √2 C1: scale to sensitivity √2 C1
S += sigma * math.sqrt(2) * C1 * rng.standard_normal(S.shape)
counts = np.maximum(S[:, d] / C1, 1.)
means = S[:, :d] / counts[:, None]
R = Z - means[y]
if a.cov_keep:
    msk = np.zeros((kz, kh, kh), bool); msk[:, :a.cov_keep, :a.cov_keep] = True; msk = msk.ravel()
    R = R * msk
else: msk = np.ones(d, bool)
dc = int(msk.sum())
nr = np.linalg.norm(R, axis=1); R *= np.minimum(1, C2 / np.maximum(nr, 1e-12))[:, None]
if a.per_class:
    Covs = []
    for k in range(K):
        A = R[y == k].T @ R[y == k]
        E = rng.standard_normal((d, d)) * sigma * C2**2; A += (E + E.T) / math.sqrt(2)
        Covs.append(A / counts[k])
else:
    A = R.T @ R
    E = np.triu(rng.standard_normal((d, d)) * sigma * C2**2); E = E + np.triu(E, 1).T
    A += E * np.outer(msk, msk)
    A /= counts.sum()
    if a.rmt and sigma > 0:
        tau = sigma * C2**2 / counts.sum(); s_ = tau * math.sqrt(dc)      # semicircle radius 2 s_
        w, U = np.linalg.eigh(A)
        keep = w > 2 * s_
        th = np.where(keep, (w + np.sqrt(np.clip(w**2 - 4 * s_**2, 0, None))) / 2, 0.)
        print(f"rmt: edge {2*s_:.2f}, kept {keep.sum()} eigenvalues: {np.sort(th)[::-1][:8].round(2).tolist()}", flush=True)
        A = (U * th) @ U.T
    Covs = [A] * K
prior = counts / counts.sum()
print(f"release: N={N} d={d} sigma={sigma:.3f} eps={eps:.3f} counts={counts.round().tolist()} true={np.bincount(y).tolist()} clipped {np.mean(nr > C2):.3f} {time.time()-t0:.0f}s", flush=True)
n = a.n or N
lab = rng.choice(K, n, p=prior)
xs = np.zeros((n, C, H, W), np.float32)
for k in range(K):
    w, U = np.linalg.eigh(Covs[k]); w, U = w[::-1][:a.pcs], U[:, ::-1][:, :a.pcs]
    w = np.clip(w, 0, None) * a.shrink
    i = np.flatnonzero(lab == k)
    zs = means[k] + (rng.standard_normal((len(i), len(w))) * np.sqrt(w)) @ U.T
    xs[i] = np.clip(dec(zs.astype(np.float32)), -1, 1)
    print(f"class {names[k]}: top eig {w[:5].round(2).tolist()} sum {w.sum():.1f}", flush=True)
train_s = time.time() - t0
write_h5(out/'synthetic.h5', xs, lab, class_names=names, attrs=dict(dp_epsilon=eps, dp_delta=delta, dp_noise_multiplier=sigma))
with H5Volumes(Path(a.data)/'train.h5') as v: sd_real = float(v[np.arange(0, N, 4)].std(0).mean())
info = dict(eps=eps, sigma=sigma, train_s=train_s, sd_syn=float(xs.std(0).mean()), sd_real=sd_real, args=vars(a))
print(json.dumps(info), flush=True)
if a.eval:
    sys.path.insert(0, str(Path(__file__).parent)); from quality import evaluate_prototype
    t1 = time.time(); r = evaluate_prototype(Path(a.data), out/'synthetic.h5', out/'eval')
    print(json.dumps(dict(info, eval_s=time.time() - t1, **r)), flush=True)
