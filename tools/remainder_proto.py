"""Prototype behind the latent model's class spectra and correlated remainder: classifier-space FID per class, spectra and TSTR for variants of one trained checkpoint.

Takes runs/quality/latent_detail_s<seed> (`--arch latent --detail`, trained by `python tools/quality.py --recipes latent_detail`) and samples the same codes five ways,
switching parts of its second stage off: (a) one pooled texture spectrum and white remainder noise (the recipe of
session 11), (b) each class's texture spectrum with white remainder noise, (b') one pooled spectrum with the correlated remainder, (c) `--detail` as trained (each class's spectrum,
remainder correlated across the latent map by `fit_remainder_field`), (d) as (c) but the remainder drawn from its full
Ledoit–Wolf covariance (1024 × 1024 on the demo phantom: an upper bound of a Gaussian remainder). For each: FID in the
features of the seed's cached TRTR classifier (all classes, per class), the radially averaged power spectrum per class
against train (ln ratio in 16 rings), and the external and holdout balanced accuracy (and external recall per region) of three single TSTR classifiers.

    python tools/remainder_proto.py --seed 0 --json runs/quality/remainder.json   (about 20 minutes on 2 cores)
"""
import argparse, json, sys, numpy as np, torch
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from quality import tstr_classifiers
from pgan.train import load_checkpoint, build_models
from pgan.data import H5Volumes
from pgan.classifiers import make_classifier, classifier_features, train_classifier
from pgan.utility import trtr_cache_path
from pgan.fidelity import frechet_distance, radial_power_spectrum

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--seed', type=int, default=0); ap.add_argument('--json', type=Path, default=Path('runs/quality/remainder.json'))
ap.add_argument('--tstr-seeds', default='0,1,2'); ap.add_argument('--run', default='latent_detail', help='runs/quality/<run>_s<seed>: a checkpoint trained with --detail'); ap.add_argument('--threads', type=int, default=2)
a = ap.parse_args(); torch.set_num_threads(a.threads)
run = Path(f'runs/quality/{a.run}_s{a.seed}'); D = run/'data'
tr, ho, ex = (H5Volumes(D/f'{k}.h5') for k in ('train', 'holdout', 'external'))
Xt, Y = tr[np.arange(tr.n)], tr.regions
cache = trtr_cache_path(run.parent/'.cache', tr, 'auto', arch='compact', val_fraction=0.2, seed=0, epochs=10, patience=5, batch_size=64,
                        lr=1e-3, n_models=3, max_train=None, min_per_class=10, kwargs={})   # `make quality`'s TRTR classifiers (member 0 gives the features)
if cache.exists():
    clf = make_classifier('compact', tr.shape[0], 3); clf.load_state_dict(torch.load(cache, weights_only=True)['members'][0]['state']); clf.eval()
else:
    v = np.random.default_rng(0).permutation(tr.n); clf, _ = train_classifier(Xt[v[480:]], Y[v[480:]], Xt[v[:480]], Y[v[:480]], n_classes=3, epochs=10, show_progress=False)
Ft = classifier_features(clf, Xt)
ck = load_checkpoint(run/'train'/'checkpoint.pt'); G, E = build_models(dict(ck['model']))
G.load_state_dict(ck['G']); E.load_state_dict(ck['D']); G.eval(); E.eval()
ys = np.random.default_rng(a.seed + 100).choice(3, 2400, p=np.bincount(Y, minlength=3) / len(Y))
code = G.make_z(torch.as_tensor(ys), generator=torch.Generator().manual_seed(a.seed + 100))
batches = lambda f, *xs: torch.cat([f(*(x[i:i + 256] for x in xs)) for i in range(0, len(xs[0]), 256)])

@torch.no_grad()
def sample(pooled_texture=False, white=False, full=None):
    chol, nk = G.remainder_chol.clone(), G.ctex.n_classes
    if white: G.remainder_chol.zero_()
    if pooled_texture: G.ctex.n_classes = 0
    try:
        if full is None: return batches(G, code).numpy()
        from pgan.models import code_noise
        sd = G.remainder_sd.clone(); G.remainder_sd.zero_()             # the directions and class means only, then the full remainder
        z = batches(G.latents, code).flatten(1) + torch.randn(len(code), full.shape[0], generator=torch.Generator().manual_seed(7)) @ full.T
        G.remainder_sd.copy_(sd)
        x = batches(lambda zz: G.decoder(zz.view(len(zz), *G.latent_shape)), z)
        return batches(lambda xx, cc: (xx + G.ctex(xx, code_noise(cc, xx.shape[1:], stream=4), cc[:, :3])).clamp(-1, 1), x, code).numpy()
    finally: G.remainder_chol.copy_(chol); G.ctex.n_classes = nk

@torch.no_grad()
def full_cov():
    "The remainder's Ledoit–Wolf covariance (outside the directions, around each class mean), as a factor for sampling."
    from sklearn.covariance import ledoit_wolf
    Z = batches(E, torch.as_tensor(Xt)).flatten(1).double(); B = G.basis.double()
    W = Z - (G.latent_mean.double() + G.class_mean.double() @ B + G.class_offset.double())[torch.as_tensor(Y)]
    R = (W - (W @ B.T) @ B).numpy()
    return torch.as_tensor(np.linalg.cholesky(ledoit_wolf(R)[0] + 1e-8 * np.eye(R.shape[1])), dtype=torch.float32)

def measure(S):
    F = classifier_features(clf, S)
    out = dict(cfid=frechet_distance(Ft, F), cfid_class={tr.class_names[c]: frechet_distance(Ft[Y == c], F[ys == c]) for c in range(3)},
               spectrum={tr.class_names[c]: np.log(radial_power_spectrum(S[ys == c]) / radial_power_spectrum(Xt[Y == c])).round(3).tolist() for c in range(3)})
    out['tstr'] = tstr_classifiers(S, ys, ho, ex, map(int, a.tstr_seeds.split(',')))
    return out

rows = {}
for name, kw in [('pooled texture, white remainder', dict(pooled_texture=True, white=True)), ('class spectra, white remainder', dict(white=True)),
                 ('pooled texture, remainder field', dict(pooled_texture=True)), ('class spectra, remainder field (--detail)', {}), ('class spectra, full remainder covariance', dict(full=full_cov()))]:
    rows[name] = measure(sample(**kw)); r = rows[name]
    print(f"{name:42s} cFID {r['cfid']:6.2f} (" + ' '.join(f'{k[:4]} {v:.1f}' for k, v in r['cfid_class'].items()) + ') TSTR/hold/ext ' + ' '.join(f"{t['holdout']:.3f}/{t['external']:.3f} ({'/'.join(f'{v:.2f}' for v in t['recall_external'].values())})" for t in r['tstr']), flush=True)
rows['holdout (floor)'] = dict(cfid=frechet_distance(Ft, classifier_features(clf, ho)), cfid_class={tr.class_names[c]: frechet_distance(Ft[Y == c], classifier_features(clf, ho[np.flatnonzero(ho.regions == c)])) for c in range(3)})
a.json.parent.mkdir(parents=True, exist_ok=True); a.json.write_text(json.dumps(dict(seed=a.seed, run=str(run), variants=rows), indent=1))
