"""Prototype: does per-volume variation of the texture spectrum keep a TSTR classifier from leaning on the grain?

Each class's own texture spectrum (`ContentTexture(n_classes=K)`) takes the latent release's classifier FID from 25 to 8
(`98_release_quality`, `remainder.json`), but a classifier trained on it recognises fewer real thoracic volumes of the
other scanner (0.58–0.88 over three classifiers): every synthetic volume of a class has exactly its class's mean
spectrum, so the grain is a cleaner region cue in the release than in the real volumes, whose spectra vary from volume
to volume (patient, scan). This prototype keeps everything of a trained `--detail` checkpoint, draws the remainder
white, and samples the same 2,400 codes with and without a low-rank model of that variation:

- per training volume, the log power of its standardised residual (residual / the texture net's SD, as the spectrum is
  fitted) in 12 rings of 2-D frequency, pooled over the slice axis, minus its class's mean; the covariance of these
  deviations over the volumes, less the sampling variance of each ring's mean (1 / the ring's number of frequencies);
- its top `--modes` eigenvectors φ_j (12 values each) and eigenvalues λ_j: 12 × J + J numbers, nothing per volume;
- a synthetic volume's spectrum: its class's, times exp(½ Σ_j a_j φ_j − ¼ Σ_j λ_j φ_j²) per ring, a_j ~ N(0, λ_j)
  (the second term keeps the expected power per ring).

With --shrink w1,w2,... it instead samples the same codes with each class's amplitude spectrum pulled towards the
class-pooled one, pooled^(1−w) · class^w (no variation modes; `98_release_quality`, "Halfway between the pooled and
the class texture spectra"). With --eb, the weight is chosen per class and ring by the data instead
(empirical Bayes: d² / (d² + s²)).

It prints, per variant, the classifier FID (all, per class) and three single TSTR classifiers' holdout and external balanced
accuracy with the external recall per region, as `tools/remainder_proto.py` does, and writes them to --json.

    python tools/quality.py --recipes latent_detail --seeds 0 && python tools/texture_var_proto.py --seed 0
    python tools/texture_var_proto.py --seed 0 --shrink 0,0.5 --json runs/quality/shrink_s0.json
"""
import argparse, json, sys
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, str(Path(__file__).parent))
from quality import tstr_classifiers, load_trained_run
from pgan.classifiers import classifier_features
from pgan.fidelity import frechet_distance
from pgan.models import code_noise

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--seed', type=int, default=0); ap.add_argument('--run', default='latent_detail')
ap.add_argument('--modes', default='0,2', help='numbers of variation modes to compare (0: none)'); ap.add_argument('--per-class', action='store_true', help='modes fitted per class instead of pooled over the classes'); ap.add_argument('--rings', type=int, default=12)
ap.add_argument('--shrink', default=None, help="instead of modes: weights w of the class spectra against the pooled one, amp = pooled^(1-w) * class^w (comma-separated)")
ap.add_argument('--keep-field', action='store_true', help='keep the checkpoint\'s remainder field (default: the remainder drawn white)')
ap.add_argument('--eb', action='store_true', help="instead of modes: each class's spectrum shrunk to the pooled one ring by ring, by an empirical-Bayes weight d²/(d² + s²): d the class's log-power offset from the pooled spectrum, s² the within-class variance of the volumes' log power at that ring")
ap.add_argument('--tstr-seeds', default='0,1,2'); ap.add_argument('--json', type=Path, default=Path('runs/quality/texture_var.json'))
a = ap.parse_args(); torch.set_num_threads(2)
run = Path(f'runs/quality/{a.run}_s{a.seed}')
tr, ho, ex, Xt, Y, clf, Ft, G, E = load_trained_run(run, a.seed, a.keep_field)
tex, (C, H, W) = G.ctex, tuple(tr.shape)
fy, fx = np.meshgrid(np.fft.fftfreq(H), np.fft.fftfreq(W), indexing='ij')
ring = np.minimum((np.hypot(fy, fx) / (np.sqrt(0.5) + 1e-9) * a.rings).astype(int), a.rings - 1)   # 2-D frequency rings, every slice frequency
m_ring = np.bincount(ring.ravel(), minlength=a.rings) * C
ring_t = torch.as_tensor(ring)

@torch.no_grad()
def ring_logpower(X, y):
    "Per volume: log mean power of its standardised residual over its class's spectrum, per ring."
    out = []
    for s in range(0, len(X), 128):
        x = torch.as_tensor(X[s:s + 128]); xh = G.decoder(E(x)); r = (x - xh) / tex.log_sd(xh)[:, 0].exp()
        p = torch.fft.fftn(r, dim=(-3, -2, -1)).abs() ** 2 / tex.class_amp[torch.as_tensor(y[s:s + 128])].clamp_min(1e-12) ** 2
        q = torch.zeros(len(x), a.rings, dtype=torch.float64).index_add_(1, ring_t.flatten(), p.sum(1).flatten(1).double())
        out.append((q / torch.as_tensor(m_ring)).log())
    return torch.cat(out).numpy()

L = ring_logpower(Xt, Y)
Dv = L - np.stack([L[Y == k].mean(0) for k in range(3)])[Y]
S = np.cov(Dv.T) - np.diag(1 / m_ring)                       # less each ring mean's sampling variance
lam, phi = np.linalg.eigh(S); lam, phi = lam[::-1].clip(0), phi[:, ::-1]
def _eig(M):
    w, V = np.linalg.eigh(M); return w[::-1].clip(0), V[:, ::-1]
lam_k, phi_k = zip(*[_eig(np.cov(Dv[Y == k].T) - np.diag(1 / m_ring)) for k in range(3)])   # per class (--per-class)
print('per class, top eigenvalues:', [np.round(l[:3], 3).tolist() for l in lam_k])
print('within-class variation of the standardised residual spectrum: eigenvalues', np.round(lam[:4], 4), '(sampling variance per ring', np.round(1 / m_ring[:3], 4), '...)')
Le, Ye = ring_logpower(ex[np.arange(ex.n)], ex.regions), ex.regions
mu = np.stack([L[Y == k].mean(0) for k in range(3)])
for k in range(3):
    d = Le[Ye == k].mean(0) - mu[k]
    print(f"{tr.class_names[k]}: external − train mean log power per ring {np.round(d, 2)}; within-class SD per ring (train) {np.round(Dv[Y == k].std(0), 2)}; share of the shift in the top 2 modes {float(np.sum((phi[:, :2].T @ d) ** 2) / max(np.sum(d ** 2), 1e-12)):.2f}")
ys = np.random.default_rng(a.seed + 100).choice(3, 2400, p=np.bincount(Y, minlength=3) / len(Y))
code = G.make_z(torch.as_tensor(ys), generator=torch.Generator().manual_seed(a.seed + 100))

n_cls = torch.as_tensor(np.bincount(Y, minlength=3) / len(Y))
pooled_amp = (torch.einsum('k,kchw->chw', n_cls.float(), tex.class_amp ** 2)).sqrt()   # the class-pooled power spectrum

def eb_weights():
    "Per class and ring: d² / (d² + s²), d = ln(mean class power / mean pooled power) over the ring, s² = the within-class variance of the volumes' ring log power (less sampling)."
    P_k = torch.zeros(3, a.rings, dtype=torch.float64).index_add_(1, ring_t.flatten(), (tex.class_amp.double() ** 2).sum(1).flatten(1))
    P_0 = torch.zeros(a.rings, dtype=torch.float64).index_add_(0, ring_t.flatten(), (pooled_amp.double() ** 2).sum(0).flatten())
    d = (P_k / P_0).log().numpy()
    s2 = np.stack([np.clip(Dv[Y == k].var(0) - 1 / m_ring, 0, None) for k in range(3)])
    return d ** 2 / (d ** 2 + s2 + 1e-12)

@torch.no_grad()
def sample(J, w=1.0):
    out = []
    for s in range(0, len(code), 256):
        c = code[s:s + 256]; xh = G.decoder(G.latents(c)); noise = code_noise(c, (C, H, W), stream=4)
        amp = torch.einsum('nk,kchw->nchw', c[:, :3], tex.class_amp)
        if isinstance(w, np.ndarray):   # per class and ring (empirical Bayes)
            wk = torch.as_tensor(w, dtype=torch.float32)[:, ring_t][c[:, :3].argmax(1)][:, None]   # (n, 1, H, W)
            amp = pooled_amp.clamp_min(1e-12) ** (1 - wk) * amp.clamp_min(1e-12) ** wk
        elif w != 1.0: amp = pooled_amp.clamp_min(1e-12) ** (1 - w) * amp.clamp_min(1e-12) ** w
        if J and a.per_class:
            k = c[:, :3].argmax(1).numpy(); e = code_noise(c, (J,), stream=6).double()
            L_ = torch.as_tensor(np.stack([lam_k[j][:J] for j in k])); P_ = torch.as_tensor(np.stack([phi_k[j][:, :J].T for j in k]))   # (n, J), (n, J, rings)
            logg = 0.5 * torch.einsum('nj,njr->nr', e * L_.sqrt(), P_) - 0.25 * torch.einsum('nj,njr->nr', L_, P_ ** 2)
            amp = amp * logg[:, ring_t].exp().float()[:, None]
        elif J:
            coef = code_noise(c, (J,), stream=6).double() * torch.as_tensor(np.sqrt(lam[:J]))
            ph = torch.as_tensor(phi[:, :J].T.copy())                                 # (J, rings)
            logg = 0.5 * coef @ ph - 0.25 * torch.as_tensor(lam[:J]) @ ph ** 2            # (n, rings)
            amp = amp * logg[:, ring_t].exp().float()[:, None]
        t = torch.fft.ifftn(torch.fft.fftn(noise, dim=(-3, -2, -1)) * amp, dim=(-3, -2, -1)).real
        out.append((xh + t * tex.log_sd(xh)[:, 0].exp()).clamp(-1, 1))
    return torch.cat(out).numpy()

def measure(Sx):
    F = classifier_features(clf, Sx)
    out = dict(cfid=frechet_distance(Ft, F), cfid_class={tr.class_names[c]: frechet_distance(Ft[Y == c], F[ys == c]) for c in range(3)})
    out['tstr'] = tstr_classifiers(Sx, ys, ho, ex, map(int, a.tstr_seeds.split(',')))
    return out

rows = {}
for w in ([] if a.shrink is None else map(float, a.shrink.split(','))):
    r = rows[f"spectra pooled^(1-w) class^w, w={w}, white remainder"] = measure(sample(0, w))
    print(f"w={w}: cFID {r['cfid']:6.2f} (" + ' '.join(f'{k[:4]} {v:.1f}' for k, v in r['cfid_class'].items()) + ') TSTR hold/ext (recall C/T/L) '
          + ' '.join(f"{t['holdout']:.3f}/{t['external']:.3f} ({'/'.join(f'{v:.2f}' for v in t['recall_external'].values())})" for t in r['tstr']), flush=True)
if a.eb:
    EBW = eb_weights(); print("empirical-Bayes weights per class (rows) and ring:"); print(np.round(EBW, 2))
    r = rows["spectra shrunk to the pooled one by empirical-Bayes weights, white remainder"] = measure(sample(0, EBW))
    print(f"EB: cFID {r['cfid']:6.2f} (" + ' '.join(f'{k[:4]} {v:.1f}' for k, v in r['cfid_class'].items()) + ') TSTR hold/ext (recall C/T/L) '
          + ' '.join(f"{t['holdout']:.3f}/{t['external']:.3f} ({'/'.join(f'{v:.2f}' for v in t['recall_external'].values())})" for t in r['tstr']), flush=True)
for J in ([] if a.shrink is not None or a.eb else map(int, a.modes.split(','))):
    r = rows[f"class spectra, white remainder, {J} variation modes{' per class' if a.per_class else ''}"] = measure(sample(J))
    print(f"J={J}: cFID {r['cfid']:6.2f} (" + ' '.join(f'{k[:4]} {v:.1f}' for k, v in r['cfid_class'].items()) + ') TSTR hold/ext (recall C/T/L) '
          + ' '.join(f"{t['holdout']:.3f}/{t['external']:.3f} ({'/'.join(f'{v:.2f}' for v in t['recall_external'].values())})" for t in r['tstr']), flush=True)
a.json.parent.mkdir(parents=True, exist_ok=True)
a.json.write_text(json.dumps(dict(seed=a.seed, run=str(run), eigenvalues=lam.tolist(), modes=phi[:, :4].T.tolist(), variants=rows), indent=1))
