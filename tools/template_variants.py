"""Variants of a `make quality` run of the template (`runs/quality/template_s<seed>`, `TrainConfig.template`), none retrained.

Each variant reloads the run's checkpoint (its autoencoder, second stage, texture and Gaussian of the deformations),
changes one part, samples 2,400 volumes as `pgan run` does (seed 0) and evaluates them as `make quality` does
(`evaluate_prototype`); `default` evaluates the same seed's `latent_s<seed>` release the same way. One JSON line per
(seed, variant) is appended to runs/quality/<recipe>_variants.jsonl (template_variants.jsonl: nbs/99_release_anatomy.ipynb shows it).

    python tools/template_variants.py --seed 0 --variants default,asis,pooled,nogain,asis+t0.85
    python tools/template_variants.py --recipe template_d2 --seed 0 --variants nogain   # another template run: runs/quality/template_d2_s0

Variants:
  default    the demo default's release of the same seed (runs/quality/latent_s<seed>)
  asis       the template's own release (each class's own covariance of the deformations)
  pooled     the deformations' pooled within-class covariance for every class, and the pooled SD outside its directions (the prototype's)
  nogain     the texture's spectrum without the interpolation gain (`GANTrainer.interpolation_gain`)
  <v>+t<x>   a variant sampled at temperature x (`cool_`: the latents' spread about the class means x x)
"""
import argparse, json, sys
from pathlib import Path
import h5py, numpy as np, torch
sys.path.insert(0, str(Path(__file__).parent))
from quality import evaluate_prototype
from pgan.generate import LoadedGenerator, generate_h5
from pgan.train import load_checkpoint
from pgan.models import warp, dense_field, slice_power, cool_

def variant_generator(run:Path, v:str)->LoadedGenerator:
    "The run's generator with variant `v`'s change."
    g = LoadedGenerator(run/'train'/'checkpoint.pt', 'cpu'); G = g.G; c = load_checkpoint(run/'train'/'checkpoint.pt')['template_c']
    with h5py.File(run/'data'/'train.h5', 'r') as h: X, y = torch.tensor(h['images'][:]).float(), torch.as_tensor(h['regions'][:].astype(int))
    K = G.n_classes
    if v.startswith('pooled'):
        Z = c.flatten(1).double(); M = torch.stack([Z[y == j].mean(0) for j in range(K)]); R = Z - M[y]
        V = G.shape_basis.double(); P = R @ V.T; rem = R - P @ V
        G.shape_chol.copy_(torch.linalg.cholesky(P.T @ P / (len(R) - K)).float().expand(K, -1, -1)); G.shape_sd.copy_(rem.std(0).float().expand(K, -1))
    if v.startswith('nogain'):
        with torch.no_grad(): Xa = torch.cat([warp(X[i:i+200], dense_field(c[i:i+200], X.shape[-2:]), 'bicubic').clamp(-1, 1) for i in range(0, len(X), 200)])
        G.ctex.amp.div_((slice_power(X) / slice_power(Xa)).sqrt().clamp(1, 3))
    if '+t' in v: cool_(G, float(v.split('+t')[1]))
    return g

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--variants', default='default,asis,pooled,nogain,asis+t0.85'); ap.add_argument('--quality', type=Path, default=Path('runs/quality'))
    ap.add_argument('--recipe', default='template', help='the template runs: QUALITY/<recipe>_s<seed> (default template)')
    a = ap.parse_args(); torch.set_num_threads(2)
    run, out = a.quality/f'{a.recipe}_s{a.seed}', a.quality/f'{a.recipe}_variants_s{a.seed}'; out.mkdir(parents=True, exist_ok=True)
    for v in a.variants.split(','):
        if v == 'default': syn = a.quality/f'latent_s{a.seed}'/'synthetic'/'synthetic.h5'
        else:
            syn = out/f'synthetic_{v}.h5'
            if not syn.exists(): generate_h5(variant_generator(run, v), syn, n=2400, seed=0, show_progress=False)
        r = dict(variant=v, seed=a.seed, **evaluate_prototype(run/'data', syn, out/f'eval_{v}'))
        print(json.dumps(r), flush=True)
        with open(a.quality/f'{a.recipe}_variants.jsonl', 'a') as f: f.write(json.dumps(r) + '\n')
