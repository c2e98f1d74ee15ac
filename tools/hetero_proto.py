"""Prototype: the latent model's texture conditioned on content (heteroscedastic residual), on the `make quality` latent checkpoints.

The autoencoder of runs/quality/latent_s<seed> is kept; its class Gaussians are refitted as `pgan` does (decoded
means). Above the decoded sample goes a texture whose local SD is predicted from the decoded image by a small
convolutional net (Gaussian likelihood of the training residuals x − dec(enc(x))), with the standardised residual's
mean 3-D power spectrum (slices × rows × columns) for its correlations. The texture's level then follows the anatomy
the sample has (smooth cervical volumes get little, bony edges more), where `--texture` spread each class's
residual power evenly. 2,400 volumes, evaluated as `make quality` does. One JSON line per seed.

    python tools/hetero_proto.py --seeds 0,1,2 --tag hetero [--epochs 6] [--scale 1.0]
"""
import argparse, json, time, numpy as np, torch
from pathlib import Path
from torch import nn
from pgan.train import load_checkpoint, build_models
from pgan.models import fit_latent_gaussians, fit_moment_gaussians, LatentGenerator
from pgan.config import public_directions
from pgan.data import H5Volumes, write_h5
import sys; sys.path.insert(0, str(Path(__file__).parent)); from quality import evaluate_prototype

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--seeds', default='0,1,2'); ap.add_argument('--tag', required=True)
ap.add_argument('--epochs', type=int, default=6); ap.add_argument('--width', type=int, default=32)
ap.add_argument('--scale', type=float, default=1.0, help='texture SD multiplier')
ap.add_argument('--spectrum', default='3d', choices=['3d', '2d', 'white'])
ap.add_argument('--run', default='latent', help='runs/quality/<run>_s<seed> holds the checkpoint and data')
ap.add_argument('--second', default='gauss', choices=['gauss', 'factor'], help='gauss: pgan\'s class Gaussians (64 PCA components, decoded means); factor: public_directions of the training patients + independent noise per latent value (the moment model\'s factor model, in latent space)')
ap.add_argument('--per', type=int, default=8, help='factor: patients per direction'); ap.add_argument('--remainder', type=float, default=1.0, help='factor: scale of the independent part')
ap.add_argument('--threads', type=int, default=2); ap.add_argument('--no-eval', action='store_true')
a = ap.parse_args(); torch.set_num_threads(a.threads)

def sd_net(C, w):
    "decoded volume (C, H, W) → log SD of the residual per pixel: two scales of context (receptive field ~ 19 px)."
    return nn.Sequential(nn.Conv2d(C, w, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(w, w, 3, 2, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(w, w, 3, 1, 2, dilation=2), nn.LeakyReLU(0.2), nn.Upsample(scale_factor=2, mode='bilinear'),
                         nn.Conv2d(w, w, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(w, C, 3, 1, 1))

def fft(x): return torch.fft.fftn(x, dim=(-3, -2, -1)) if a.spectrum == '3d' else torch.fft.fft2(x)
def ifft(x): return torch.fft.ifftn(x, dim=(-3, -2, -1)) if a.spectrum == '3d' else torch.fft.ifft2(x)

def fit_texture(Xh, R, seed):
    "Fit the SD net on (decoded, residual) pairs by Gaussian likelihood, then the standardised residual's amplitude spectrum."
    torch.manual_seed(seed); net = sd_net(Xh.shape[1], a.width)
    with torch.no_grad(): net[-1].bias.fill_(float(R.std().log()))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for ep in range(a.epochs):
        tot = 0
        for i in torch.randperm(len(Xh)).split(64):
            ls = net(Xh[i]); loss = (ls + 0.5 * R[i] ** 2 * torch.exp(-2 * ls)).mean()
            opt.zero_grad(); loss.backward(); opt.step(); tot += loss.item() * len(i)
        print(f'  sd net epoch {ep}: nll {tot / len(Xh):.4f}', flush=True)
    net.eval(); n = np.prod(Xh.shape[1:]) if a.spectrum == '3d' else np.prod(Xh.shape[2:])
    with torch.no_grad():
        P = sum((fft(R[i] / net(Xh[i]).exp()).abs() ** 2).sum(0) for i in torch.arange(len(Xh)).split(256)) / len(Xh)
    return net, (P / n).sqrt()

@torch.no_grad()
def texture(net, amp, xh, g):
    w = torch.randn(xh.shape, generator=g)
    t = w if a.spectrum == 'white' else ifft(fft(w) * amp).real
    return t * net(xh).exp() * a.scale

res = []
for seed in map(int, a.seeds.split(',')):
    t0 = time.time(); run = Path(f'runs/quality/{a.run}_s{seed}'); D = run/'data'
    ck = load_checkpoint(run/'train'/'checkpoint.pt'); G, E = build_models(dict(ck['model']))
    G.load_state_dict(ck['G'], strict=False); E.load_state_dict(ck['D']); G.eval(); E.eval()
    tr = H5Volumes(D/'train.h5'); X = torch.tensor(tr[np.arange(tr.n)]); Y = tr.regions
    with torch.no_grad():
        Z = torch.cat([E(X[i:i+256]) for i in range(0, len(X), 256)]); Xh = torch.cat([G.decoder(Z[i:i+256]) for i in range(0, len(Z), 256)])
    if a.second == 'gauss': fit_latent_gaussians(G, Z, Y); G.latent_sd.zero_(); G.resid_amp.zero_()
    else:
        k = public_directions(len(np.unique(tr.patients)), per=a.per)
        G = LatentGenerator(G.decoder, G.n_classes, G.n_channels, G.size, G.latent_shape, k, code_remainder=True).eval()
        Zf = Z.flatten(1).double().numpy(); K = G.n_classes
        M = np.stack([Zf[Y == c].mean(0) for c in range(K)]); W = Zf - M[Y]
        fit_moment_gaussians(G, np.bincount(Y, minlength=K), M, W.T @ W / (len(W) - K))
        G.remainder_sd.mul_(a.remainder)
    net, amp = fit_texture(Xh, X - Xh, seed)
    rng = np.random.default_rng(seed + 100); g = torch.Generator().manual_seed(seed + 100)
    yy = rng.choice(G.n_classes, 2400, p=np.bincount(Y, minlength=G.n_classes) / len(Y))
    with torch.no_grad():
        xs = []
        for i in range(0, len(yy), 256):
            xh = G(G.make_z(torch.tensor(yy[i:i+256]), torch.tensor(rng.standard_normal((len(yy[i:i+256]), G.z_dim)), dtype=torch.float32)))
            xs.append((xh + texture(net, amp, xh, g)).clamp(-1, 1))
        xs = torch.cat(xs).numpy()
    out = Path(f'runs/quality/variants/{a.tag}_s{seed}'); out.mkdir(parents=True, exist_ok=True)
    write_h5(out/'syn.h5', xs, yy, class_names=tr.class_names)
    r = dict(tag=a.tag, seed=seed, second=a.second, z_dim=G.z_dim, epochs=a.epochs, scale=a.scale, spectrum=a.spectrum, fit_s=round(time.time() - t0))
    if not a.no_eval: r.update(evaluate_prototype(D, out/'syn.h5', out/'ev', a.threads))
    r['seconds'] = round(time.time() - t0)
    print(json.dumps(r), flush=True); open('runs/quality/variants.jsonl', 'a').write(json.dumps(r) + '\n')
