"""The deformable template of `tools/deform_proto.py` on data unlike the phantom (prototype check, not the library).

The generalisation check of `11a_train_options`: 1,000 single-channel 16 × 16 bars of 8 orientations (`write_bars`,
shifted ±3 px and thickened at random, with noise), the demo default's latent model (`GANTrainer`, `make_config('demo',
arch='latent')`) against the same model behind a template (congealing on a 4 × 4 grid, the autoencoder with its output
warped back, a Gaussian of the deformations — each image its own patient —, the texture fitted in template space with
the interpolation's gain, added after the warp). Each samples 800 bars (classes in turn, seed 1); printed: the balanced
accuracy of a real-trained classifier on them and their within-class spread over the real one, as 11a prints them, and
a figure of the first bars of four classes.

    python tools/deform_bars.py [--grid 4] [--smooth 1] [--class-cov] [--figure runs/quality/deform_bars.png]
"""
import argparse, dataclasses, sys, tempfile, time
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, str(Path(__file__).parent))
from deform_proto import congeal, field, warp, train_warped, refit_texture, interp_gain, fit_shape, deformed

def measure(xf, yf, clf, xb, yb):
    from pgan.data import balanced_accuracy
    from pgan.classifiers import predict_proba
    spread = lambda x, y: np.mean([x[y == k].std(0).mean() for k in range(8)])
    return balanced_accuracy(yf, predict_proba(clf, xf).argmax(1), 8), spread(xf, yf) / spread(xb, yb)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('--grid', type=int, default=4); ap.add_argument('--smooth', type=float, default=1.); ap.add_argument('--class-cov', action='store_true')
    ap.add_argument('--figure', type=Path, default=Path('runs/quality/deform_bars.png')); a = ap.parse_args()
    from pgan.test_utils import write_bars, bar_orientations
    from pgan.config import make_config
    from pgan.train import GANTrainer
    from pgan.classifiers import train_classifier
    torch.set_num_threads(2); tmp = Path(tempfile.mkdtemp())
    xb, yb = write_bars(tmp/'bars.h5', n=1000, seed=0); xv, yv = bar_orientations(400, 1)
    clf, _ = train_classifier(xb, yb, xv, yv, n_classes=8, epochs=10, seed=0, threads=2)
    t = time.time(); tb = GANTrainer(make_config('demo', arch='latent', seed=0), tmp/'bars.h5'); tb.fit(); tb.G.eval(); t_def = time.time() - t
    yf = np.arange(800) % 8
    with torch.no_grad(): xd = tb.G(tb.G.make_z(torch.tensor(yf), generator=torch.Generator().manual_seed(1))).numpy()
    X, y = torch.tensor(xb), torch.as_tensor(yb); t = time.time()
    c = congeal(X, y, 8, a.grid, a.smooth, log=lambda s: None); d = field(c, X.shape[-1])
    with torch.no_grad(): Xa = warp(X, d, 'bicubic').clamp(-1, 1)
    wv = lambda V: float(np.mean([V[y == k].var(0).mean().item() for k in range(8)]))
    cfg = dataclasses.asdict(tb.cfg)
    G, E = train_warped(X, Xa, y, d, tb.spec, cfg, temperature=1., log=lambda s: None)
    refit_texture(G, E, Xa, Xa, y, torch.zeros_like(d), cfg['seed']); G.ctex.amp.mul_(interp_gain(X, Xa))
    deformed(G, fit_shape(c, y, torch.arange(len(y)), 8, class_cov=a.class_cov), seed=0); t_tpl = time.time() - t
    with torch.no_grad(): xt = G(G.make_z(torch.tensor(yf), generator=torch.Generator().manual_seed(1))).numpy()
    for name, xf, s in [('the default', xd, t_def), ('with a template', xt, t_tpl)]:
        acc, sp = measure(xf, yf, clf, xb, yb)
        print(f'{name}: real-trained classifier on the synthetic bars {acc:.3f} (chance 0.125), within-class spread synthetic/real {sp:.2f}, {s:.0f} s')
    print(f'congealing: within-class variance {wv(X):.4f} -> {wv(Xa):.4f}')
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, ax = plt.subplots(3, 16, figsize=(16, 3.3))
    for r, (lab, x, yy) in enumerate([('training', xb, yb), ('the default', xd, yf), ('with a template', xt, yf)]):
        for j, k in enumerate([0, 2, 4, 6]):
            for i, v in enumerate(np.flatnonzero(yy == k)[:4]): ax[r, 4 * j + i].imshow(x[v, 0], cmap='gray', vmin=-1, vmax=1)
        ax[r, 0].set_ylabel(lab, fontsize=7)
    for q in ax.flat: q.set_xticks([]); q.set_yticks([])
    a.figure.parent.mkdir(parents=True, exist_ok=True); fig.savefig(a.figure, dpi=70, bbox_inches='tight')
