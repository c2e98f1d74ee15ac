"""A VAE with one global latent vector (prototype, not the library), against the latent arch's spatial autoencoder.

The latent arch encodes a volume into a 16 x 8 x 8 map and samples the map from a Gaussian: the disc's position and tilt
vary non-linearly, a Gaussian over the map mixes discs at several positions, and its samples decode to a blur
(`98_release_quality`). Here the map passes through a bottleneck of `--dim` global values (a linear layer each way) and
the model is trained as a VAE (posterior mu, log variance per volume; loss L1 + beta * KL / pixels, beta the Laplace scale
of the error, so 0.05 ~ the ELBO). The decoder is a non-linear map from a small Gaussian space to the volume; samples
are drawn from one Gaussian per class fitted to the training volumes' posterior means (plus the mean posterior variance),
decoded, and given the library's content texture fitted to the training reconstructions' residuals.

The same autoencoder layers as the demo recipe (width 32, 16 latent channels), the same 12 epochs of batch 32, Adam 1e-3.
2,400 volumes are generated with the training priors and evaluated as `make quality` does; one JSON line per run is
appended to runs/quality/gvae.jsonl, and samples.png compares them with the training volumes.

    python tools/gvae_proto.py --seeds 0 --dim 64 --beta 0.05
"""
import argparse, json, sys, time
from pathlib import Path
import h5py, numpy as np, torch, torch.nn as nn
sys.path.insert(0, str(Path(__file__).parent))
from quality import evaluate_prototype
from latent_gan import compare
from pgan.core import progress
from pgan.data import H5Volumes, H5Writer
from pgan.models import AutoEncoder, ContentTexture, fit_content_texture
from pgan.generate import sample_labels

class GVAE(nn.Module):
    "The demo autoencoder's convolutions around a bottleneck of `dim` global values (mu and log variance out of the encoder)."
    def __init__(self, C=9, size=(64, 64), width=32, latent_channels=16, dim=64):
        super().__init__()
        ae = AutoEncoder(C, size, width, latent_channels); self.shape = ae.latent_shape; n = int(np.prod(self.shape))
        self.enc, self.dec = ae.encoder, ae.decoder
        self.to_post, self.from_z = nn.Linear(n, 2 * dim), nn.Linear(dim, n)
    def encode(self, x): return self.to_post(self.enc(x).flatten(1)).chunk(2, 1)
    def decode(self, z): return self.dec(self.from_z(z).view(len(z), *self.shape))

def train(X, seed, dim, beta, epochs=12, bs=32, lr=1e-3):
    torch.manual_seed(seed); m = GVAE(X.shape[1], tuple(X.shape[2:]), dim=dim); opt = torch.optim.Adam(m.parameters(), lr, betas=(0.9, 0.999))
    g, npix, hist = torch.Generator().manual_seed(seed), float(np.prod(X.shape[1:])), []
    bar = progress(total=epochs * (len(X) // bs), desc='gvae', unit='batch')
    for ep in range(epochs):
        acc = []
        for i in torch.randperm(len(X), generator=g)[:len(X) // bs * bs].view(-1, bs):
            x = X[i]; mu, lv = m.encode(x); z = mu + (0.5 * lv).exp() * torch.randn(mu.shape, generator=g)
            rec = (m.decode(z) - x).abs().mean(); kl = 0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(1).mean()
            loss = rec + beta * kl / npix; opt.zero_grad(); loss.backward(); opt.step(); acc.append((rec.item(), kl.item())); bar.update(1)
        hist.append(dict(epoch=ep + 1, rec=float(np.mean([a[0] for a in acc])), kl=float(np.mean([a[1] for a in acc])))); print(json.dumps(hist[-1]), flush=True)
    bar.close(); return m.eval(), hist

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', default='0'); ap.add_argument('--dim', type=int, default=64); ap.add_argument('--beta', type=float, default=0.05)
    ap.add_argument('--no-eval', action='store_true'); ap.add_argument('--no-texture', action='store_true')
    ap.add_argument('--quality', default='runs/quality', type=Path); ap.add_argument('--scratch', default='runs/quality/gvae', type=Path)
    a = ap.parse_args(); torch.set_num_threads(2)
    for s in (int(s) for s in a.seeds.split(',')):
        run, out = a.quality/f'latent_s{s}', a.scratch/f'gvae_d{a.dim}_b{a.beta:g}{"_notex" if a.no_texture else ""}_s{s}'; out.mkdir(parents=True, exist_ok=True)
        tr = H5Volumes(run/'data'/'train.h5'); K = len(tr.class_names)
        with h5py.File(run/'data'/'train.h5', 'r') as h: X, y = torch.tensor(h['images'][:]).float(), np.asarray(h['regions'][:]).astype(int)
        t = time.time(); m, hist = train(X, s, a.dim, a.beta)
        with torch.no_grad():
            post = [m.encode(x) for x in X.split(256)]; MU, LV = torch.cat([p[0] for p in post]), torch.cat([p[1] for p in post])
            Xh = torch.cat([m.decode(mu) for mu in MU.split(256)])
        var = LV.exp().mean(0)   # the mean posterior variance, added to each class's covariance of the means
        means = [MU[y == k].mean(0) for k in range(K)]
        chol = [torch.linalg.cholesky(torch.cov(MU[y == k].T) + torch.diag(var) + 1e-5 * torch.eye(a.dim)) for k in range(K)]
        tex = None
        if not a.no_texture:
            tex = ContentTexture(X.shape[1], tuple(X.shape[2:]), bands=3, volume_level=True); gen = torch.Generator().manual_seed(s)
            pairs = lambda: ((Xh[i], X[i] - Xh[i]) for i in torch.randperm(len(X), generator=gen).split(32))
            fit_content_texture(tex, pairs, epochs=8, seed=s)
        t_train = time.time() - t
        labels = sample_labels(2400, np.bincount(y, minlength=K) / len(y), seed=0); gz = torch.Generator().manual_seed(10_000 + s)
        with H5Writer(out/'synthetic.h5', len(labels), X.shape[1:], tr.class_names, attrs=dict(source='synthetic', seed=0)) as w:
            for b in torch.as_tensor(labels).split(256):
                with torch.no_grad():
                    z = torch.stack([means[k] for k in b]) + torch.einsum('nij,nj->ni', torch.stack([chol[k] for k in b]), torch.randn(len(b), a.dim, generator=gz))
                    x = m.decode(z)
                    if tex is not None: x = x + tex(x, torch.randn(x.shape, generator=gz))
                w.append(x.clamp(-1, 1).numpy(), b.numpy())
        compare(run, {f'global VAE, {a.dim} values, beta {a.beta:g}': out/'synthetic.h5'}, out/'samples.png')
        r = dict(model='gvae', dim=a.dim, beta=a.beta, texture=not a.no_texture, seed=s, seconds_train=round(t_train), last=hist[-1])
        if not a.no_eval: r.update(evaluate_prototype(run/'data', out/'synthetic.h5', out/'eval'))
        with open(a.quality/'gvae.jsonl', 'a') as f: f.write(json.dumps(r) + '\n')
        print(json.dumps(r), flush=True)
