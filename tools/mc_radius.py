"""Why the mc attack stays at 0.5 on page 93's memorising control: its radius (the median heuristic: the median, over
every candidate, of the distance to the nearest synthetic volume) against other radii, on three releases of
`tools/memorise.py` (copies + noise, the memorising control at 200 epochs, the default recipe at 200 epochs).
Pixel space, every candidate of runs/memorise/data (200 train, 800 holdout, 800 external); AUC train vs holdout.
About 4 minutes on 2 cores.

    python tools/mc_radius.py [--dir runs/memorise]
"""
import argparse
from pathlib import Path
import numpy as np
from pgan.data import H5Volumes
from pgan.neighbors import neighbor_stats
from pgan.privacy import attack_auc

def main(root:Path):
    d = root/'data'; C = {k: H5Volumes(d/f'{k}.h5') for k in ('train', 'holdout', 'external')}
    C = {k: v[:].reshape(len(v), -1) for k, v in C.items()}; n = {k: len(v) for k, v in C.items()}
    allc = np.concatenate(list(C.values()))
    for name in ('control/synthetic.h5', 'memory_e0200/synthetic_e0200.h5', 'latent_e0200/synthetic_e0200.h5'):
        if not (root/name).exists(): print(f"{name}: missing (run tools/memorise.py first)"); continue
        S = H5Volumes(root/name)[:]; S = S.reshape(len(S), -1)
        dmin = neighbor_stats(allc, S)['min']
        print(name, 'median nearest-synthetic distance', {k: round(float(np.median(v)), 2) for k, v in zip(C, np.split(dmin, np.cumsum(list(n.values()))[:-1]))})
        for label, r in (('median, all candidates (mc)', np.median(dmin)), ('median, train + holdout', np.median(dmin[:n['train'] + n['holdout']])),
                         ('10th percentile, all', np.quantile(dmin, 0.1)), ('25th percentile, all', np.quantile(dmin, 0.25))):
            cnt = neighbor_stats(allc, S, radii=[float(r)])['counts'][:, 0]
            t, h = cnt[:n['train']], cnt[n['train']:n['train'] + n['holdout']]
            print(f"  {label:28s} radius {r:6.2f}: mean count train {t.mean():7.1f}, holdout {h.mean():7.1f}; AUC {attack_auc(t, h, n_boot=0)['auc']:.3f}", flush=True)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dir', type=Path, default=Path('runs/memorise')); main(p.parse_args().dir)
