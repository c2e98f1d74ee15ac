"""Where a latent release's membership signal comes from: variants of a trained `make quality` run's second stage.

Each variant reloads a run's checkpoint (its autoencoder and fitted second stage), changes one part, samples 2,400
volumes as `pgan run` does (seed 0) and evaluates them as `make quality` does (`evaluate_prototype`: pixel space,
region classifiers). The autoencoder is never retrained. One JSON line per (run, variant) is appended to
runs/quality/second_stage.jsonl (or --jsonl), which nbs/98_release_quality.ipynb shows.

    python tools/second_stage.py --recipe latent_d2_detail --seeds 0,4 --variants full,no_field,pooled_texture,holdout_fit

Variants that refit the second stage sample it at the run's own temperature (`cool_`).

Variants:
  full             the run's own generator (a check: its numbers are the run's)
  no_field         the remainder drawn white instead of correlated across the latent map (`remainder_chol` = 0)
  pooled_texture   every class gets the pooled texture spectrum instead of its own (`ctex.class_amp` = `ctex.amp`)
  no_texture       the content texture switched off (`ctex.amp` = 0)
  pooled_cov       the second stage refitted without class covariances: every class gets the pooled within-class covariance in the directions
  holdout_fit      the second stage refitted on the holdout set's encodings (non-members) instead of the training set's
  class_remainder  the second stage refitted with each class's own remainder (SD per latent value and cross-spectrum across the
                   latent map, `LatentGenerator(class_remainder=True, remainder_field=True)`); on a run of the new default: its own fit
  pooled_remainder the second stage refitted with the classes' pooled remainder SD, drawn white (the default before `class_remainder`)
  z<k>             the second stage refitted on the training set with k directions instead of `public_directions` (e.g. z8: one per 15
                   of the demo phantom's 120 training patients; z7: one per 16, `--patients-per-direction 16`)
  t<x>             a sampling temperature: the directions' and the remainder's noise scaled by x in (0, 1] (e.g. t0.7), nothing refitted
  r<x>             the remainder's noise alone scaled by x in (0, 1] (r0 switches it off), on top of the run's own temperature
  np<k>e<eps>      k directions from a noisy within-class covariance (plus the exact between-class part; the Gaussian mechanism at ε = eps, δ = 1e-5,
                   per patient: the latents' within-class residuals bounded by the 95th percentile of their norms, a prototype's bound,
                   a patient's VUs all counted), everything else refitted on the exact training latents in those directions (e.g. np64e1)
  <v>+t<x>, <v>+r<x>  a variant, then sampled at temperature x (every noise of its second stage) or with its remainder × x
  no_offset        the class means outside the directions left out (`class_offset` = 0)
  holdout_mean     the overall latent mean taken from the holdout set, the rest from the training set
  holdout_sd       the remainder's SD per latent value taken from the holdout set, the rest from the training set
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, torch, h5py
sys.path.insert(0, str(Path(__file__).parent))
from quality import evaluate_prototype
from pgan.generate import LoadedGenerator, generate_h5
from pgan.train import load_checkpoint, build_models
from pgan.models import LatentGenerator, fit_moment_gaussians, fit_class_covariances, fit_remainder_field, cool_

VARIANTS = ('full', 'class_remainder', 'pooled_remainder', 'no_field', 'pooled_texture', 'no_texture', 'pooled_cov', 'holdout_fit', 'z<k>', 't<x>', 'r<x>', 'np<k>e<eps>', 'no_offset', 'holdout_mean', 'holdout_sd')
def _num(x:str)->bool:
    try: return 0 < float(x) <= 1
    except ValueError: return False
known = lambda v: (v in VARIANTS and v not in ('z<k>', 't<x>', 'r<x>', 'np<k>e<eps>')) or _npk(v) is not None or (v[:1] == 'z' and v[1:].isdigit() and int(v[1:]) > 0) or (v[:1] == 't' and _num(v[1:])) or (v[:1] == 'r' and (v[1:] == '0' or _num(v[1:])))

def _npk(v:str):
    "(k, eps) of a variant np<k>e<eps>, else None."
    if not v.startswith('np') or 'e' not in v[2:]: return None
    k, e = v[2:].split('e', 1)
    try: return (int(k), float(e)) if int(k) > 0 and float(e) > 0 else None
    except ValueError: return None

def noisy_within(Z, y, p, K, eps:float, delta:float=1e-5, seed:int=0):
    "The pooled within-class covariance plus symmetric Gaussian noise: the Gaussian mechanism for one patient's VUs (residual norms bounded by their 95th percentile)."
    n, M, S = moments(Z, y, K); R = (Z - M[torch.as_tensor(y)]).numpy()
    C = np.quantile(np.linalg.norm(R, axis=1), 0.95); per = np.unique(p, return_counts=True)[1].max()
    sd = per * C**2 / (len(R) - K) * np.sqrt(2 * np.log(1.25 / delta)) / eps
    E = np.random.default_rng(seed).normal(0, sd, S.shape); E = np.triu(E) + np.triu(E, 1).T
    return n, M, S + E, sd

def encode(enc, data:Path, name:str):
    "The latents (N, d) float64, classes and patients of one set of a run's data/."
    with h5py.File(data/f'{name}.h5', 'r') as h: X, y, p = torch.tensor(h['images'][:]).float(), np.asarray(h['regions'][:]).astype(int), np.asarray(h['patients'][:])
    with torch.no_grad(): Z = torch.cat([enc(X[i:i+256]) for i in range(0, len(X), 256)]).flatten(1).double()
    return Z, y, p

def moments(Z, y, K):
    "Class counts, class means and the pooled within-class covariance, as `GANTrainer.fit_latent` computes them."
    n = np.bincount(y, minlength=K); M = torch.stack([Z[y == k].mean(0) for k in range(K)]); R = Z - M[torch.as_tensor(y)]
    return n, M, (R.T @ R / (len(R) - K)).numpy()

def refit(G, Z, y, class_cov:bool=True):
    "The second stage of `GANTrainer.fit_latent` (factor model, class covariances unless not `class_cov`, remainder field) on latents Z."
    n, M, S = moments(Z, y, G.n_classes)
    fit_moment_gaussians(G, n, M.numpy(), S)
    if class_cov: fit_class_covariances(G, Z, y)
    if G.remainder_field: fit_remainder_field(G, Z, y)

def scale_(G, m:str):
    "t<x>: a sampling temperature x (`cool_`: every noise of the second stage × x); r<x>: the remainder's noise alone × x (x = 0 allowed)."
    if m[:1] == 't': cool_(G, float(m[1:]))
    else: G.remainder_sd.mul_(float(m[1:]))

def variant(run:Path, v:str)->LoadedGenerator:
    if '+' in v:   # a variant, then temperatures on top of it: e.g. z64+t0.8 (every noise of the refitted second stage × 0.8) or z64+r0.5
        base, *mods = v.split('+'); g = variant(run, base)
        for m in mods: scale_(g.G, m)
        return g
    g = LoadedGenerator(run/'train'/'checkpoint.pt', 'cpu'); G = g.G
    if v == 'full': return g
    if v == 'no_field': G.remainder_chol.zero_(); return g
    if v[:1] == 't' or (v[:1] == 'r' and v[1:2].isdigit()): scale_(G, v); return g
    if v == 'pooled_texture': G.ctex.class_amp.copy_(G.ctex.amp.expand_as(G.ctex.class_amp)); return g
    if v == 'no_texture': G.ctex.amp.zero_(); return g
    ck = load_checkpoint(run/'train'/'checkpoint.pt'); enc = build_models(ck['model'])[1]; enc.load_state_dict(ck['D']); enc.eval()
    Z, y, pt = encode(enc, run/'data', 'holdout' if v == 'holdout_fit' else 'train')
    if v[:1] == 'z' or _npk(v) or v in ('class_remainder', 'pooled_remainder'):
        z, cr = (int(v[1:]), G.class_remainder) if v[:1] == 'z' else (_npk(v)[0], G.class_remainder) if _npk(v) else (G.z_dim, v == 'class_remainder')
        G2 = LatentGenerator(G.decoder, G.n_classes, G.n_channels, G.size, G.latent_shape, z, code_remainder=True, content_texture=True,
                             class_texture=G.ctex.n_classes > 0, texture_bands=G.ctex.bands, remainder_field=cr or (G.remainder_field and v[:1] == 'z'), class_remainder=cr)
        G2.ctex.load_state_dict(G.ctex.state_dict()); g.G = G = G2.eval()
    if _npk(v):   # only the directions from the noisy covariance; means, class covariances and the remainder from the exact latents
        n, M, Sn, sd = noisy_within(Z, y, pt, G.n_classes, _npk(v)[1]); fit_moment_gaussians(G, n, M.numpy(), Sn)
        print(f'{v}: noise SD {sd:.3g} per covariance entry', flush=True); fit_class_covariances(G, Z, y); fit_remainder_field(G, Z, y)
    else: refit(G, Z, y, class_cov=v != 'pooled_cov')
    if v == 'no_offset': G.class_offset.zero_()
    if v in ('holdout_mean', 'holdout_sd'):
        Zh, yh, _ = encode(enc, run/'data', 'holdout'); nh, Mh, Sh = moments(Zh, yh, G.n_classes)
        if v == 'holdout_mean': G.latent_mean.copy_(torch.as_tensor((nh / nh.sum()) @ Mh.numpy(), dtype=torch.float32))
        else:
            Vt = G.basis.double().numpy(); Sp = Vt @ Sh @ Vt.T
            G.remainder_sd.copy_(torch.as_tensor(np.sqrt(np.clip(np.diag(Sh) - np.einsum('ij,ik,kj->j', Vt, Sp, Vt), 0, None)), dtype=torch.float32))
    cool_(G, ck['config'].get('temperature') or 1.)   # the run's own sampling temperature
    return g

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--recipe', default='latent_d2_detail'); ap.add_argument('--seeds', default='0,4'); ap.add_argument('--variants', default='full,no_field,pooled_texture,holdout_fit')
    ap.add_argument('--quality', default='runs/quality', type=Path); ap.add_argument('--scratch', default='runs/quality/second_stage', type=Path)
    ap.add_argument('--jsonl', default='second_stage.jsonl', help='file in --quality the rows are appended to')
    a = ap.parse_args(); torch.set_num_threads(2)
    for v in a.variants.split(','):
        if not (known(v.split('+')[0]) and all(m[:1] in 'tr' and known(m) for m in v.split('+')[1:])): sys.exit(f"unknown variant {v!r}: use any of {', '.join(VARIANTS)}")
    for s in (int(s) for s in a.seeds.split(',')):
        run = a.quality/f'{a.recipe}_s{s}'
        for v in a.variants.split(','):
            t = time.time(); g = variant(run, v); out = a.scratch/f'{a.recipe}_{v}_s{s}'; out.mkdir(parents=True, exist_ok=True)
            generate_h5(g, out/'synthetic.h5', n=2400, seed=0, show_progress=False)
            r = dict(recipe=a.recipe, variant=v, seed=s, z_dim=g.G.z_dim, **evaluate_prototype(run/'data', out/'synthetic.h5', out/'eval'), seconds=round(time.time() - t))
            with open(a.quality/a.jsonl, 'a') as f: f.write(json.dumps(r) + '\n')
            print(json.dumps(r), flush=True)
