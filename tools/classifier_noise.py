"""How much of a utility number is the release, and how much the region classifier's own seed.

Trains single region classifiers (`train_classifier`, the demo's settings: compact CNN, batch 64, AdamW 1e-3,
10 epochs) of several seeds on one run's synthetic set (TSTR) and on its real training set (TRTR), exactly as
`utility_eval` splits them, under each weight-keeping rule, and tests each on the real holdout and external sets:

  best     a constant rate, the weights of the best validation epoch, early stopping after 5 epochs without a
           better one (the rule before session 28)
  cosine   the rate decays to 0 along a half cosine over the 10 epochs, the last weights kept (the default now)

One JSON file (a list of rows: rule, side, seed, seconds, balanced accuracy and per-class recall on each test set)
is written to runs/quality/classifier_noise.json, which nbs/98_release_quality.ipynb shows.

    python tools/classifier_noise.py [--run runs/quality/latent_s0] [--seeds 0,1,2,3,4] [--out runs/quality/classifier_noise.json]
"""
import argparse, json, time
from pathlib import Path
import numpy as np, torch
from pgan.data import H5Volumes, balanced_accuracy
from pgan.utility import _carve, _cap, _decoded
from pgan.classifiers import Subset, train_classifier, predict_proba

ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
ap.add_argument('--run', default='runs/quality/latent_s0'); ap.add_argument('--seeds', default='0,1,2,3,4')
ap.add_argument('--out', default='runs/quality/classifier_noise.json'); a = ap.parse_args()
torch.set_num_threads(2)
run = Path(a.run)
sets = {k: H5Volumes(run/'data'/f'{k}.h5') for k in ('train', 'holdout', 'external')}; sets['synthetic'] = H5Volumes(run/'synthetic'/'synthetic.h5')
X, K = _decoded(sets, 2 ** 30), len(sets['train'].class_names)
rows = []
for side, src in (('tstr', 'synthetic'), ('trtr', 'train')):
    v = sets[src]; tr, va = _carve(v, _cap(v, None, 0), 0.2, 0)   # utility_eval's split (seed 0)
    for rule in ('best', 'cosine'):
        for s in map(int, a.seeds.split(',')):
            t0 = time.time()
            m, h = train_classifier(Subset(X[src], tr), v.regions[tr], Subset(X[src], va), v.regions[va], n_classes=K, epochs=10, patience=5, schedule=rule, seed=s, show_progress=False)
            r = dict(rule=rule, side=side, seed=s, seconds=round(time.time() - t0, 1), epochs_run=len(h), kept_epoch=m.best_epoch)
            for k in ('holdout', 'external'):
                p, y = predict_proba(m, X[k]).argmax(1), sets[k].regions
                r[k] = dict(balanced_accuracy=balanced_accuracy(y, p, K), recall=[float((p[y == c] == c).mean()) for c in range(K)])
            rows.append(r); print(side, rule, s, r['seconds'], 'external %.3f' % r['external']['balanced_accuracy'], np.round(r['external']['recall'], 2), flush=True)
tmp = Path(a.out).with_suffix('.tmp'); tmp.write_text(json.dumps(rows, indent=1)); tmp.replace(a.out)
print('written', a.out)
