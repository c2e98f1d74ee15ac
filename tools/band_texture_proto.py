"""Prototype: a texture whose grain (not only its level) follows the decoded content, with no class label.

The default latent release colours its texture noise with one spectrum pooled over the classes and scales it by a local
SD that a small net predicts from the decoded volume (`ContentTexture`, `10_models`). Its classifier FID comes almost
all from the cervical volumes, which get the thoracic and lumbar grain; each class's own spectrum fixes that but makes
the grain a label cue that a TSTR classifier leans on (`98_release_quality`). This prototype splits the texture into
`--bands` rings of 2-D frequency (every slice frequency in each) and lets the net predict a local SD per band and
channel from the decoded volume: where the decoded content is smooth (the neck) the net can lower the fine bands
only, and the grain then varies from volume to volume with the anatomy, as in the real volumes, not with the class.

- residual r = x − decoder(encoder(x)) of each training volume; its band parts r_b = ifft(fft(r) · M_b) (hard masks
  M_b that sum to one);
- the net (the same as `ContentTexture`'s, B × C outputs; with --volume-level also an offset per volume and band, read
  by a linear head from its features pooled over the volume) fitted by the Gaussian likelihood of every r_b, log SD per
  pixel and band; each band's spectrum then from r_b / SD_b, pooled over every class;
- a synthetic volume's texture: Σ_b SD_b(decoded) · ifft(fft(noise) · amp_b), the same noise stream as the library's.

It keeps everything else of a trained `--detail` checkpoint (remainder drawn white: with one band and the pooled spectrum
this is the default's second stage) and samples the same 2,400 codes. It prints, per variant, the classifier FID (all,
per class), the spectral deviation from the training set, and three single TSTR classifiers' holdout and external
balanced accuracy with the external recall per region, as `tools/texture_var_proto.py` does, and writes them to --json.

    python tools/quality.py --recipes latent_detail --seeds 0 && python tools/band_texture_proto.py --seed 0 --bands 1,3
    python tools/band_texture_proto.py --seed 0 --bands 3 --volume-level        (then --epochs 12, or --epochs 8 --batch 32: the library's fit)

This prototype became the library's texture (`ContentTexture(bands=3, volume_level=True)`, `TrainConfig.texture_bands`;
`98_release_quality`, "Grain that follows the content").
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, torch, torch.nn as nn
sys.path.insert(0, str(Path(__file__).parent))
from quality import tstr_classifiers, load_trained_run
from pgan.classifiers import classifier_features
from pgan.fidelity import frechet_distance, spectral_deviation
from pgan.models import code_noise

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--seed', type=int, default=0); ap.add_argument('--run', default='latent_detail')
ap.add_argument('--bands', default='1,3', help='numbers of frequency bands to compare (1: one SD map, the default texture refitted)')
ap.add_argument('--epochs', type=int, default=4); ap.add_argument('--lr', type=float, default=2e-3); ap.add_argument('--head-lr', type=float, default=None); ap.add_argument('--batch', type=int, default=64); ap.add_argument('--width', type=int, default=32)
ap.add_argument('--volume-level', action='store_true', help='add a per-volume offset per band from features pooled over the whole volume (the library: `ContentTexture(volume_level=True)`)')
ap.add_argument('--keep-field', action='store_true', help="keep the checkpoint's remainder field (default: the remainder drawn white)")
ap.add_argument('--tstr-seeds', default='0,1,2'); ap.add_argument('--json', type=Path, default=None)
a = ap.parse_args(); torch.set_num_threads(2)
run = Path(f'runs/quality/{a.run}_s{a.seed}')
tr, ho, ex, Xt, Y, clf, Ft, G, E = load_trained_run(run, a.seed, a.keep_field)
C, H, W = tuple(tr.shape)
fy, fx = np.meshgrid(np.fft.fftfreq(H), np.fft.fftfreq(W), indexing='ij')
rad = np.hypot(fy, fx) / np.sqrt(0.5)                 # 0 at DC, 1 at the corner

def masks(B):
    "B hard ring masks of 2-D frequency, edges at octaves down from the top (B = 1: everything)."
    edges = [0.0] + [2.0 ** -(B - 1 - b) * 0.5 for b in range(B - 1)] + [np.inf]   # e.g. B = 3: 0, .25, .5, inf
    return torch.as_tensor(np.stack([(rad >= lo) & (rad < hi) for lo, hi in zip(edges[:-1], edges[1:])]), dtype=torch.float32)[:, None]  # (B, 1, H, W)

with torch.no_grad():                                  # the training pairs, once
    XH = torch.cat([G.decoder(E(torch.as_tensor(Xt[s:s + 128]))) for s in range(0, len(Xt), 128)])
    R = torch.as_tensor(Xt) - XH

def bandparts(r, M):                                   # (n, C, H, W) → (n, B, C, H, W)
    f = torch.fft.fftn(r, dim=(-3, -2, -1))
    return torch.fft.ifftn(f[:, None] * M[None], dim=(-3, -2, -1)).real

class BandNet(nn.Module):
    "Log SD per band, channel and pixel: a local conv head (the `ContentTexture` net's), plus with --volume-level a per-volume offset from the features' mean and max over the volume."
    def __init__(self, B):
        super().__init__(); act = lambda: nn.LeakyReLU(0.2); w = a.width
        self.body = nn.Sequential(nn.Conv2d(C, w, 4, 2, 1), act(), nn.Conv2d(w, w, 3, 1, 1), act(), nn.Conv2d(w, w, 3, 1, 2, dilation=2), act())
        self.local = nn.Sequential(nn.Conv2d(w, B * C, 3, 1, 1))
        self.glob = nn.Sequential(nn.Conv2d(w, w, 3, 2, 1), act(), nn.Conv2d(w, w, 3, 2, 1), act()) if a.volume_level else None
        self.head = nn.Linear(2 * w, B * C) if a.volume_level else None
        if a.volume_level: nn.init.zeros_(self.head.weight); nn.init.zeros_(self.head.bias)
        self.up = nn.Upsample(size=(H, W), mode='bilinear', align_corners=False)
    def forward(self, x):
        f = self.body(x); o = self.local(f)
        if self.glob is not None:
            g = self.glob(f); o = o + self.head(torch.cat([g.mean((2, 3)), g.amax((2, 3))], 1))[:, :, None, None]
        return self.up(o)

def fit(B):
    M = masks(B)
    torch.manual_seed(a.seed); net = BandNet(B)
    with torch.no_grad():
        v = torch.stack([bandparts(R[s:s + 256], M).pow(2).mean((0, 2, 3, 4)) for s in range(0, len(R), 256)]).mean(0)   # (B,) overall variance per band
        net.local[-1].bias.copy_((0.5 * v.clamp_min(1e-12).log()).repeat_interleave(C))
    hp = [p for n, p in net.named_parameters() if n.startswith('head')]; bp = [p for n, p in net.named_parameters() if not n.startswith('head')]
    opt = torch.optim.Adam([dict(params=bp), dict(params=hp, lr=a.head_lr or a.lr)], a.lr); g = torch.Generator().manual_seed(a.seed); t0 = time.time()
    for _ in range(a.epochs):
        for idx in torch.randperm(len(R), generator=g).split(a.batch):
            rb = bandparts(R[idx], M); ls = net(XH[idx]).view(len(idx), B, C, H, W)
            loss = (ls + 0.5 * rb ** 2 * torch.exp(-2 * ls)).mean()
            opt.zero_grad(); loss.backward(); opt.step()
    net.eval(); P = torch.zeros(B, C, H, W, dtype=torch.float64)
    with torch.no_grad():
        for s in range(0, len(R), 128):
            rb = bandparts(R[s:s + 128], M); ls = net(XH[s:s + 128]).view(-1, B, C, H, W)
            P += (torch.fft.fftn(rb / ls.exp(), dim=(-3, -2, -1)).abs() ** 2).sum(0).double()
    amp = ((P / (len(R) * C * H * W)).sqrt().float() * M)   # each band's spectrum, kept to its ring
    print(f'B={B}: fitted in {time.time() - t0:.0f} s, final NLL {float(loss):.4f}', flush=True)
    return net, amp

ys = np.random.default_rng(a.seed + 100).choice(3, 2400, p=np.bincount(Y, minlength=3) / len(Y))
code = G.make_z(torch.as_tensor(ys), generator=torch.Generator().manual_seed(a.seed + 100))

@torch.no_grad()
def sample(net, amp):
    B = amp.shape[0]; out = []
    for s in range(0, len(code), 256):
        c = code[s:s + 256]; xh = G.decoder(G.latents(c)); noise = code_noise(c, (C, H, W), stream=4)
        nb = torch.fft.ifftn(torch.fft.fftn(noise, dim=(-3, -2, -1))[:, None] * amp[None], dim=(-3, -2, -1)).real   # (n, B, C, H, W)
        sd = net(xh).view(len(c), B, C, H, W).exp()
        out.append((xh + (nb * sd).sum(1)).clamp(-1, 1))
    return torch.cat(out).numpy()

@torch.no_grad()
def diag(net, M):
    "Per class and band: the residual's variance, the net's mean predicted variance on reconstructions and on synthetic decoded volumes."
    B = M.shape[0]; yt = torch.as_tensor(Y); pv = torch.zeros(3, B); rv = torch.zeros(3, B); sv = torch.zeros(3, B); yc = torch.as_tensor(ys)
    for s in range(0, len(R), 256):
        rb = bandparts(R[s:s + 256], M).pow(2).mean((2, 3, 4)); ls = net(XH[s:s + 256]).view(-1, B, C, H, W); q = (2 * ls).exp().mean((2, 3, 4))
        rv.index_add_(0, yt[s:s + 256], rb); pv.index_add_(0, yt[s:s + 256], q)
    for s in range(0, len(code), 256):
        ls = net(G.decoder(G.latents(code[s:s + 256]))).view(-1, B, C, H, W); sv.index_add_(0, yc[s:s + 256], (2 * ls).exp().mean((2, 3, 4)))
    n, m = torch.bincount(yt, minlength=3)[:, None], torch.bincount(yc, minlength=3)[:, None]
    print('per class (rows C/T/L) and band: residual variance', (rv / n).numpy().round(6).tolist(), '\n  predicted on reconstructions', (pv / n).numpy().round(6).tolist(), '\n  predicted on synthetic', (sv / m).numpy().round(6).tolist(), flush=True)

def measure(Sx):
    F = classifier_features(clf, Sx)
    out = dict(cfid=frechet_distance(Ft, F), cfid_class={tr.class_names[c]: frechet_distance(Ft[Y == c], F[ys == c]) for c in range(3)},
               spectral=spectral_deviation(Xt, Sx)['max_abs_log_ratio'],
               spectral_class={tr.class_names[c]: spectral_deviation(Xt[Y == c], Sx[ys == c])['max_abs_log_ratio'] for c in range(3)})
    out['tstr'] = tstr_classifiers(Sx, ys, ho, ex, map(int, a.tstr_seeds.split(',')))
    return out

rows = {}
for B in map(int, a.bands.split(',')):
    net, amp = fit(B); diag(net, masks(B))
    r = rows[f'{B} bands'] = measure(sample(net, amp))
    print(f"B={B}: cFID {r['cfid']:6.2f} (" + ' '.join(f'{k[:4]} {v:.1f}' for k, v in r['cfid_class'].items()) + f") spectral {r['spectral']:.2f} ("
          + ' '.join(f'{k[:4]} {v:.2f}' for k, v in r['spectral_class'].items()) + ') TSTR hold/ext (recall C/T/L) '
          + ' '.join(f"{t['holdout']:.3f}/{t['external']:.3f} ({'/'.join(f'{v:.2f}' for v in t['recall_external'].values())})" for t in r['tstr']), flush=True)
out = a.json or Path(f'runs/quality/band_s{a.seed}.json')
out.write_text(json.dumps(dict(seed=a.seed, run=str(run), variants=rows), indent=1))
