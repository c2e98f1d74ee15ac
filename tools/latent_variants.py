"""Prototype variants of the latent generator's second stage on the `make quality` checkpoints (not part of pgan yet).

For each seed, the trained autoencoder of runs/quality/latent_s<seed> is kept; the PCA space and class Gaussians are
refitted (on `--fit_on` latents, `--zdim` components), optionally a Gaussian residual with each class's real residual
spectrum is added to the decoded means (`--resid`, the decoder's observation model), 2,400 volumes are generated and
evaluated in pixel space with the region classifiers. One JSON line per seed (stdout and runs/quality/variants.jsonl).
The numbers quoted in nbs/98_release_quality.ipynb:

    python tools/latent_variants.py --resid 1 --tag resid
    python tools/latent_variants.py --resid 1 --fit_on holdout --seeds 1 --tag diag_holdout
    python tools/latent_variants.py --resid 1 --zdim 16 --seeds 1 --tag z16
"""
import sys, json, argparse, numpy as np, torch
from pathlib import Path
from pgan.train import load_checkpoint, build_models
from pgan.models import fit_latent_gaussians, LatentGenerator
from pgan.data import H5Volumes, write_h5
from pgan.evaluate import evaluate
ap = argparse.ArgumentParser(); ap.add_argument('--seeds', default='0,1,2'); ap.add_argument('--zdim', type=int, default=0)
ap.add_argument('--resid', type=float, default=0.0); ap.add_argument('--shrink', default='ledoit-wolf'); ap.add_argument('--tag', required=True)
ap.add_argument('--threads', type=int, default=1); ap.add_argument('--fit_on', default='train')
a = ap.parse_args(); torch.set_num_threads(a.threads)
res = []
for seed in map(int, a.seeds.split(',')):
    run = Path(f'runs/quality/latent_s{seed}'); D = run/'data'
    ck = load_checkpoint(run/'train'/'checkpoint.pt'); spec = dict(ck['model'])
    if a.zdim: spec['z_dim'] = a.zdim
    G, E = build_models(spec)
    G.decoder.load_state_dict({k[len('decoder.'):]: v for k, v in ck['G'].items() if k.startswith('decoder.')}); E.load_state_dict(ck['D'])
    G.eval(); E.eval()
    tr = H5Volumes(D/f'{a.fit_on}.h5'); X = torch.tensor(tr[np.arange(tr.n)]); Y = tr.regions
    with torch.no_grad(): Z = torch.cat([E(X[i:i+256]) for i in range(0, len(X), 256)])
    fit_latent_gaussians(G, Z, Y, a.shrink)
    n, K = 2400, G.n_classes; rng = np.random.default_rng(seed + 100)
    pri = np.bincount(Y, minlength=K) / len(Y); yy = rng.choice(K, n, p=pri)
    with torch.no_grad():
        xs = torch.cat([G(G.make_z(torch.tensor(yy[i:i+256]), torch.tensor(rng.standard_normal((len(yy[i:i+256]), G.z_dim)), dtype=torch.float32))) for i in range(0, n, 256)]).numpy()
    if a.resid:
        with torch.no_grad(): R = torch.cat([X[i:i+256] - G.decoder(E(X[i:i+256])) for i in range(0, len(X), 256)]).numpy()
        for k in range(K):
            Rk = R[Y == k]; amp = np.sqrt((np.abs(np.fft.fft2(Rk - Rk.mean(0))) ** 2).mean(0))
            m = yy == k; wn = rng.standard_normal((m.sum(), *X.shape[1:]))
            xs[m] += a.resid * np.real(np.fft.ifft2(np.fft.fft2(wn) * amp / np.sqrt(X.shape[-1] * X.shape[-2]))).astype(np.float32)
        xs = np.clip(xs, -1, 1)
    out = Path(f'runs/quality/variants/{a.tag}_s{seed}'); out.mkdir(parents=True, exist_ok=True)
    write_h5(out/'syn.h5', xs, yy, class_names=tr.class_names)
    M = evaluate(D/'train.h5', D/'holdout.h5', out/'syn.h5', D/'external.h5', out=out/'ev', spaces=['pixel'], n_boot=300, max_candidates=800,
                 utility_kwargs=dict(epochs=10, threads=a.threads), log=lambda s: None)
    U, P = M['utility'], M['privacy']['pixel']
    r = dict(tag=a.tag, seed=seed, ratio_ext=U['tstr']['external']['balanced_accuracy'] / U['trtr']['external']['balanced_accuracy'],
             ratio_hold=U['tstr']['balanced_accuracy'] / U['trtr']['balanced_accuracy'], recall=U['tstr']['external']['per_class_recall'],
             cfid=M['fidelity']['classifier']['fid'], spec=M['fidelity']['spectral']['max_abs_log_ratio'],
             att={k: [round(v['auc'], 3), [round(c, 3) for c in v['auc_ci']]] for k, v in P.items() if k != 'dcr'})
    print(json.dumps(r), flush=True); open('runs/quality/variants.jsonl', 'a').write(json.dumps(r) + '\n')
