"""Prototype (not the library): a DP-MERF-style one-shot private embedding generator on a phantom's train.h5.

Release once: per class, the sum of random Fourier features of the training volumes (plus a constant feature, so
the class counts come from the same release), through the Gaussian mechanism (L2 sensitivity 1, add/remove).
Then train a generator against the noisy class embeddings: no further access to the private data.

python tools/merf_proto.py DATA_DIR OUT --eps 10 [--seed 0] [--features 4096] [--steps 2000]
"""
import argparse, json, math, sys, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from pgan.data import H5Volumes, write_h5
from pgan.dp import noise_for_epsilon, make_accountant, epsilon_of
from pgan.models import Generator

ap = argparse.ArgumentParser()
ap.add_argument('data'); ap.add_argument('out')
ap.add_argument('--eps', type=float, default=10.); ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--features', type=int, default=4096); ap.add_argument('--steps', type=int, default=2000)
ap.add_argument('--scales', default='0.25,0.5,1,2'); ap.add_argument('--pool', type=int, default=2)
ap.add_argument('--width', type=int, default=16); ap.add_argument('--batch', type=int, default=256)
ap.add_argument('--lr', type=float, default=1e-3); ap.add_argument('--n', type=int, default=0)
ap.add_argument('--norm', default='batch'); ap.add_argument('--eval', type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(2)
out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
t0 = time.time()
with H5Volumes(Path(a.data)/'train.h5') as v:
    x = torch.from_numpy(v[np.arange(len(v))]); y = torch.from_numpy(v.regions.astype(np.int64)); names = v.class_names
N, C, H, W = x.shape; K = len(names)
def pool(t): return F.avg_pool2d(t, a.pool) if a.pool > 1 else t
D = C * (H // a.pool) * (W // a.pool)
g = torch.Generator().manual_seed(12345 + a.seed)   # public randomness
scales = [float(s) for s in a.scales.split(',')]
m2 = a.features // 2 // len(scales)
# bandwidth rule from public facts only: data in [-1, 1], dimension D; l = s * sqrt(D) * 0.25
Wf = torch.cat([torch.randn(D, m2, generator=g) / (s * math.sqrt(D) * 0.25) for s in scales], 1)
M = Wf.shape[1]
def feats(t):   # (B, C, H, W) -> (B, 2M+1), unit norm
    p = pool(t).flatten(1) @ Wf
    return torch.cat([torch.cos(p), torch.sin(p), torch.ones(len(t), 1)], 1) / math.sqrt(M + 1)
S = torch.zeros(K, 2 * M + 1)
with torch.no_grad():
    for s in range(0, N, 512): S.index_add_(0, y[s:s+512], feats(x[s:s+512]))
delta = 1 / (10 * N)
if a.eps > 0:
    sigma = noise_for_epsilon(a.eps, delta, 1.0, 1); acc = make_accountant('rdp', [(sigma, 1.0, 1)]); eps = epsilon_of(acc, delta)
    # each volume contributes one unit vector to one class row: L2 sensitivity 1 (add/remove)
    S = S + sigma * torch.randn(S.shape, generator=torch.Generator().manual_seed(999 + a.seed))
else: sigma, eps = 0., float('inf')
counts = (S[:, -1] * math.sqrt(M + 1)).clamp(min=1.)
print(f"embedding: N={N} D={D} M={2*M+1} sigma={sigma:.3f} eps={eps:.3f} counts={counts.round().tolist()} true={np.bincount(y.numpy()).tolist()}  {time.time()-t0:.0f}s", flush=True)
target = S / counts[:, None]
prior = counts / counts.sum()
del x
torch.manual_seed(a.seed)
G = Generator(K, C, (H, W), a.width, 100, a.norm if a.norm != 'none' else None)
opt = torch.optim.Adam(G.parameters(), lr=a.lr, betas=(0.5, 0.999))
gz = torch.Generator().manual_seed(a.seed)
t1 = time.time()
for step in range(a.steps):
    yb = torch.arange(K).repeat_interleave(a.batch // K)
    xb = G(G.make_z(yb, generator=gz))
    f = feats(xb)
    mean = torch.zeros(K, f.shape[1]).index_add_(0, yb, f) / (a.batch // K)
    loss = ((mean - target) ** 2).sum(1) @ prior
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 200 == 0 or step == a.steps - 1: print(f"step {step} loss {loss.item():.5f}  {time.time()-t1:.0f}s", flush=True)
train_s = time.time() - t0
G.eval()
n = a.n or N
lab = torch.multinomial(prior, n, replacement=True, generator=torch.Generator().manual_seed(1)) if a.eps > 0 else y[torch.randperm(N, generator=torch.Generator().manual_seed(1))][:n]
with torch.no_grad(): xs = torch.cat([G(G.make_z(lab[s:s+512], generator=gz)) for s in range(0, n, 512)])
sd_syn = xs.std(0).mean().item()
write_h5(out/'synthetic.h5', xs.numpy(), lab.numpy(), class_names=names, attrs=dict(dp_epsilon=eps, dp_delta=delta, dp_noise_multiplier=sigma, dp_mechanism='merf-proto'))
info = dict(eps=eps, sigma=sigma, train_s=train_s, sd_syn=sd_syn, args=vars(a))
print(json.dumps(info), flush=True)
if a.eval:
    sys.path.insert(0, str(Path(__file__).parent)); from quality import evaluate_prototype
    r = evaluate_prototype(Path(a.data), out/'synthetic.h5', out/'eval')
    print(json.dumps(dict(info, **r)), flush=True)
