"""The deformable template (`TrainConfig.template`) against the demo default on data unlike the phantom.

Two generated sets, each trained with `make_config('demo', arch='latent', seed=S)` with and without `template=True`:
- bars: the 8-class 16 x 16 single-channel bars of `11a_train_options` (`write_bars`, 1,000 images);
- gratings: 10 classes of 32 x 32 single-channel textures without a common layout (a grating at the class's
  orientation, k x 18 degrees, with a random period of 5-7 px and a random phase, times a smooth random contrast
  field, plus noise; 1,500 images): nothing to align, the template must do no harm.
Each generator samples 100 images per class (noise seed 1); printed: the balanced accuracy of a classifier trained on
real images (2,000 independent draws as validation) on them, their within-class spread over the real one, and the
training seconds (congealing included). One JSON line per (set, recipe, seed) is appended to --jsonl.

    python tools/template_unlike.py [--sets bars,gratings] [--seeds 0] [--jsonl runs/quality/template_unlike.jsonl]
"""
import argparse, json, tempfile, time
from pathlib import Path
import numpy as np, torch

def gratings(n:int, seed:int, n_classes:int=10, size:int=32):
    "Oriented gratings with a random period and phase under a smooth random contrast field, plus noise: (n, 1, size, size) in [-1, 1], classes in turn."
    g = np.random.default_rng(seed); y = np.arange(n) % n_classes
    yy, xx = np.mgrid[:size, :size].astype(float)
    th = np.pi * y / n_classes; per = g.uniform(5, 7, n); ph = g.uniform(0, 2 * np.pi, n)
    u = np.cos(th)[:, None, None] * xx + np.sin(th)[:, None, None] * yy
    wave = np.sin(2 * np.pi * u / per[:, None, None] + ph[:, None, None])
    from scipy.ndimage import gaussian_filter
    contrast = 0.5 + 0.5 * np.tanh(2 * gaussian_filter(g.normal(size=(n, size, size)), (0, 6, 6)) * 6)
    x = 0.7 * wave * contrast + 0.1 * g.normal(size=(n, size, size))
    return np.clip(x, -1, 1)[:, None].astype(np.float32), y

def dataset(name:str, path:Path, seed:int=0):
    "(train images, classes, validation images, classes, K) of a set, the training set written to `path`."
    from pgan.test_utils import write_bars, bar_orientations
    from pgan.data import write_h5
    if name == 'bars':
        x, y = write_bars(path, n=1000, seed=seed); xv, yv = bar_orientations(2000, seed + 1); return x, y, xv, yv, 8
    x, y = gratings(1500, seed); xv, yv = gratings(2000, seed + 1)
    write_h5(path, x, y, class_names=[f'{18 * k} deg' for k in range(10)]); return x, y, xv, yv, 10

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('--sets', default='bars,gratings'); ap.add_argument('--seeds', default='0')
    ap.add_argument('--jsonl', type=Path, default=Path('runs/quality/template_unlike.jsonl')); a = ap.parse_args()
    from pgan.config import make_config
    from pgan.train import GANTrainer
    from pgan.classifiers import train_classifier, predict_proba
    from pgan.data import balanced_accuracy
    torch.set_num_threads(2); tmp = Path(tempfile.mkdtemp()); a.jsonl.parent.mkdir(parents=True, exist_ok=True)
    for name in a.sets.split(','):
        x, y, xv, yv, K = dataset(name, tmp/f'{name}.h5')
        clf, _ = train_classifier(x, y, xv, yv, n_classes=K, epochs=10, seed=0, threads=2)
        spread = lambda v, c: np.mean([v[c == k].std(0).mean() for k in range(K)])
        print(f'{name}: real-trained classifier on held-out real images {balanced_accuracy(yv, predict_proba(clf, xv).argmax(1), K):.3f}', flush=True)
        for seed in (int(s) for s in a.seeds.split(',')):
            for recipe, kw in [('default', {}), ('template', dict(template=True))]:
                t = time.time(); tr = GANTrainer(make_config('demo', arch='latent', seed=seed, **kw), tmp/f'{name}.h5'); tr.fit(); tr.G.eval(); secs = time.time() - t
                yf = np.arange(100 * K) % K
                with torch.no_grad(): xf = tr.G(tr.G.make_z(torch.tensor(yf), generator=torch.Generator().manual_seed(1))).numpy()
                r = dict(set=name, recipe=recipe, seed=seed, recognised=round(float(balanced_accuracy(yf, predict_proba(clf, xf).argmax(1), K)), 3),
                         spread=round(float(spread(xf, yf) / spread(x, y)), 3), train_s=round(secs), grid=getattr(tr.G, 'template', 0))
                print(json.dumps(r), flush=True)
                with open(a.jsonl, 'a') as f: f.write(json.dumps(r) + '\n')
