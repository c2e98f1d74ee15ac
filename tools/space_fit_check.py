"""Where a learnt feature space is fitted, and what it does to the attacks (45_evaluate, "Where a learnt space is fitted").

UMAP space fitted on the holdout set (what pgan did before) and on the synthetic set (what `evaluate` does now); the
pairwise and DOMIAS attacks, 800 training against 800 holdout candidates with patient CIs, on two releases: the demo's
(`make demo` first) and an independent draw — the training set of the demo phantom with another seed, 2,400 other
patients' volumes, which cannot leak. About 4 minutes on 2 cores.

    python tools/space_fit_check.py [--run runs/demo] [--draw runs/space_fit/draw]
"""
import argparse
from pathlib import Path
import numpy as np
from pgan.data import H5Volumes
from pgan.features import make_space
from pgan.evaluate import privacy_in_space

def check(run:Path, draw:Path, n:int=800, n_boot:int=200):
    d = run/'data'; tr, ho, ex = (H5Volumes(d/f'{k}.h5') for k in ('train', 'holdout', 'external'))
    ti = np.sort(np.random.default_rng(0).choice(tr.n, n, replace=False))
    X, pats = dict(train=tr[ti], holdout=ho[:n], external=ex[:n]), dict(train=tr.patients[ti], holdout=ho.patients[:n])
    if not (draw/'train.h5').exists():
        from pgan.cli import main; main(['phantom', '--out', str(draw), '--profile', 'demo', '--seed', '1', '--no-preview'])
    releases = {'demo release': H5Volumes(run/'synthetic'/'synthetic.h5')[:], 'independent draw': H5Volumes(draw/'train.h5')[:]}
    for name, syn in releases.items():
        for fit_name, fit_on in (('holdout', X['holdout']), ('synthetic', syn)):
            sp = make_space('umap', seed=0).fit(fit_on)
            F = {k: sp.transform(v) for k, v in X.items()} | {'synthetic': sp.transform(syn)}
            M, _ = privacy_in_space(F, 'umap', ('pairwise', 'domias'), pats, n_boot, 0)
            print(f"{name:17s} fitted on {fit_name:9s} " + '  '.join(f"{a} {M[a]['auc']:.3f} [{M[a]['auc_ci'][0]:.3f}, {M[a]['auc_ci'][1]:.3f}]" for a in ('pairwise', 'domias')), flush=True)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run', type=Path, default=Path('runs/demo')); p.add_argument('--draw', type=Path, default=Path('runs/space_fit/draw'))
    a = p.parse_args(); check(a.run, a.draw)
