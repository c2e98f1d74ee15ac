"""The content texture's fit: epochs and learning-rate schedule against the likelihood of held-out residuals.

Loads a trained latent run (a `make quality` or `make demo` run folder), decodes its training and holdout volumes
through its autoencoder, refits the run's content texture (`fit_content_texture`, `10_models`) to the training
residuals with each setting, and prints the time of the fit and the mean Gaussian negative log-likelihood of the
training and of the holdout residuals (lower is better; the holdout's is the one that judges a setting).
With --release, each setting's texture (the run's seed) also replaces the run's own, the run's 2,400 volumes are
sampled again with the run's seed, and the pixel-space membership attacks of `make quality` are rerun on them (the
other parts of the release unchanged). The numbers of `98_release_quality`'s section "A cheaper texture fit" come from

    python tools/texture_schedule.py runs/quality/latent_pre26_s0 --settings const:8,cos:4,cos:8 --seeds 0,1
    python tools/texture_schedule.py runs/quality/latent_s0 --settings own,const:8 --release
"""
import argparse, copy, tempfile, time
from pathlib import Path
import numpy as np, torch
from pgan.data import H5Volumes
from pgan.train import load_checkpoint, build_models
from pgan.models import fit_content_texture
from pgan.generate import LoadedGenerator, generate_h5
from pgan.evaluate import evaluate

def pairs_of(G, enc, path, bs=256):
    "(decoded, residual) of every volume of an HDF5 set."
    v = H5Volumes(path); X = torch.from_numpy(v[np.arange(v.n)])
    with torch.no_grad(): Xh = torch.cat([G.decoder(enc(x)) for x in X.split(bs)])
    return Xh, X - Xh

def nll(tex, Xh, R, bs=200)->float:
    "Mean −log N(residual band; 0, predicted SD) up to a constant, over every volume, band and pixel."
    with torch.no_grad():
        return float(np.mean([(ls + 0.5 * tex.split(r) ** 2 * torch.exp(-2 * ls)).mean().item()
                              for ls, r in ((tex.log_sd(a), b) for a, b in zip(Xh.split(bs), R.split(bs)))]))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('run', type=Path); ap.add_argument('--settings', default='const:8,cos:4')
    ap.add_argument('--seeds', default='0'); ap.add_argument('--batch', type=int, default=32); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--release', action='store_true', help="sample the run's release again with each setting's texture and rerun the pixel attacks")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ck = load_checkpoint(a.run/'train'/'checkpoint.pt'); G, enc = build_models(dict(ck['model']))
    G.load_state_dict(ck['G']); enc.load_state_dict(ck['D']); G.eval(); enc.eval()
    if not G.content_texture: raise SystemExit(f"{a.run} has no content texture (arch latent with its texture)")
    Xh, R = pairs_of(G, enc, a.run/'data'/'train.h5'); Hh, HR = pairs_of(G, enc, a.run/'data'/'holdout.h5')
    print(f"{a.run}: {len(Xh)} training and {len(Hh)} holdout residuals; the run's own texture: "
          f"train NLL {nll(G.ctex, Xh, R):.4f}, holdout NLL {nll(G.ctex, Hh, HR):.4f}", flush=True)
    run_seed, D = int(ck['config']['seed']), a.run/'data'
    seeds = [run_seed] if a.release else list(map(int, a.seeds.split(',')))
    for setting in a.settings.split(','):
        kind, ep = (setting, 0) if setting == 'own' else setting.split(':')
        if kind not in ('const', 'cos', 'own'): raise SystemExit(f"a setting is const:EPOCHS, cos:EPOCHS or own (the run's texture), not {setting!r}")
        for seed in seeds:
            tex, gen = copy.deepcopy(G.ctex), torch.Generator().manual_seed(seed)
            pairs = lambda: ((Xh[i], R[i]) for i in torch.randperm(len(Xh), generator=gen).split(a.batch))
            t = time.perf_counter()
            if kind != 'own': fit_content_texture(tex, pairs, epochs=int(ep), seed=seed, cosine=kind == 'cos')
            print(f"{setting}, seed {seed}: {time.perf_counter() - t:.0f} s, train NLL {nll(tex, Xh, R):.4f}, holdout NLL {nll(tex, Hh, HR):.4f}", flush=True)
            if a.release:
                g = LoadedGenerator(a.run/'train'/'checkpoint.pt', 'cpu'); g.G.ctex.load_state_dict(tex.state_dict())
                with tempfile.TemporaryDirectory() as tmp:
                    generate_h5(g, Path(tmp)/'synthetic.h5', n=2400, seed=run_seed, show_progress=False)
                    M = evaluate(D/'train.h5', D/'holdout.h5', Path(tmp)/'synthetic.h5', D/'external.h5', out=Path(tmp)/'eval', spaces=['pixel'], n_boot=1000,
                                 max_candidates=800, seed=run_seed, fidelity=False, utility=False, log=lambda s: None)
                print('  pixel attacks: ' + ', '.join(f"{k} {v['auc']:.3f} [{v['auc_ci'][0]:.3f}, {v['auc_ci'][1]:.3f}]" for k, v in M['privacy']['pixel'].items() if k != 'dcr'), flush=True)
