"""Where the latent release's class fidelity is lost: the factor model's independent remainder (prototype, not the library).

Three parts, on the `make quality` runs of a recipe (default `latent`: the demo default, its 16 × 8 × 8 latent map),
the autoencoder and texture never retrained:

  --part decompose  the first TRTR classifier of the run's cached ensemble (trained on real volumes only) classifies
                    300 volumes per class made five ways — the training latents decoded (+ texture), the model's
                    samples, and samples whose part in the factor directions or whose remainder outside them is a
                    training latent's own — and prints the share it recognises per class (GAN-test, `31_utility`)
  --part gan_test   GAN-test of runs evaluated before `utility_eval` reported it: the run's cached TRTR ensemble (mean
                    probability of its 3 classifiers) on the run's synthetic set, as `utility_eval` now computes it
  --part parts      a figure (runs/quality/parts_<recipe>_s<seed>.png): the middle slice of 3 training volumes per class,
                    their latents decoded without and with the content texture, and 3 samples per class decoded without
                    and with it: where the anatomy is lost
  --part variants   the second stage changed (remainder × s: `rem<s>`; k directions instead of `public_directions`:
                    `z<k>`; the moments through `private_moments` of 12_dp at ε per volume, pooled covariance in the
                    directions: `eps<ε>`; the same without noise: `pooled`), 2,400 volumes generated as `pgan run` does, TSTR with the pipeline's protocol (3 classifiers,
                    10 epochs, the cached TRTR ensemble); `--attacks` also runs the pixel attacks (`evaluate_prototype`)

    python tools/remainder_share.py --part decompose --seeds 0,1
    python tools/remainder_share.py --part gan_test --seeds 0,1,2,3,4
    python tools/remainder_share.py --part variants --seeds 1,3 --variants rem0.5,rem0.75,z30 [--attacks]
    python tools/remainder_share.py --part variants --recipe latent_c4 --seeds 0,3 --variants eps10,pooled,eps3 --attacks
    python tools/remainder_share.py --part parts --seeds 0
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, str(Path(__file__).parent))
from quality import load_trained_run, evaluate_prototype, trtr_ensemble
from second_stage import encode, moments
from pgan.classifiers import predict_proba
from pgan.generate import LoadedGenerator, generate_h5
from pgan.models import LatentGenerator, fit_moment_gaussians, fit_class_covariances
from pgan.utility import utility_eval

def decompose(run, seed):
    "Share of each class the real-trained classifier recognises, for five ways of making the latents."
    tr, ho, ex, Xt, Y, clf, Ft, G, E = load_trained_run(run, seed, keep_field=True)
    with torch.no_grad(): Z = torch.cat([E(torch.as_tensor(Xt[i:i+256])) for i in range(0, len(Xt), 256)]).flatten(1)
    rng = np.random.default_rng(0); idx = np.concatenate([rng.choice(np.nonzero(Y == k)[0], 300) for k in range(3)]); y = Y[idx]
    gen = torch.Generator().manual_seed(0); code = G.make_z(torch.as_tensor(y), generator=gen)
    B, mu = G.basis, G.latent_mean
    par = lambda A: ((A - mu) @ B.T) @ B            # the part in the factor directions
    rem = lambda A: (A - mu) - par(A)               # the remainder outside them
    out = {}
    with torch.no_grad():
        Zs, Zt = G.latents(code).flatten(1), Z[idx]
        ways = dict(training_latents=Zt, samples=Zs, true_factor_sampled_remainder=mu + par(Zt) + rem(Zs), sampled_factor_true_remainder=mu + par(Zs) + rem(Zt))
        for k, A in ways.items():
            X = G.decoder(A.view(len(A), *G.latent_shape)); X = (X + G.ctex(X, torch.randn(X.shape, generator=gen))).clamp(-1, 1)
            p = predict_proba(clf, X.numpy()).argmax(1)
            out[k] = [round(float(np.mean(p[y == c] == c)), 3) for c in range(3)]
        p = predict_proba(clf, Xt[idx]).argmax(1); out['real_volumes'] = [round(float(np.mean(p[y == c] == c)), 3) for c in range(3)]
        out['norm_remainder_factor'] = [round(float(rem(Zt).norm(dim=1).mean()), 2), round(float(par(Zt).norm(dim=1).mean()), 2)]
    return out

def parts(run, seed, png:Path, per_class:int=3, slice_:int=4):
    "A figure of where the anatomy is lost: the middle slice of training volumes, their latents decoded (without and with the content texture), and the model's samples (decoded, and with the texture), `per_class` of each class (columns)."
    import matplotlib; matplotlib.use('Agg'); from matplotlib.figure import Figure
    from pgan.models import code_noise
    tr, ho, ex, Xt, Y, clf, Ft, G, E = load_trained_run(run, seed, keep_field=True)
    idx = np.concatenate([np.nonzero(Y == k)[0][:per_class] for k in range(len(tr.class_names))]); y = torch.as_tensor(Y[idx])
    with torch.no_grad():
        X = torch.as_tensor(Xt[idx]); code = G.make_z(y, generator=torch.Generator().manual_seed(0))
        tex = lambda V: (V + G.ctex(V, code_noise(code, tuple(V.shape[1:]), stream=4), code[:, :G.n_classes])).clamp(-1, 1)   # the texture as the release draws it
        dec, sd = G.decoder(E(X)), G.decoder(G.latents(code))
        rows = {'real (training)': X, 'its latent decoded': dec, '+ content texture': tex(dec), 'a sample, decoded': sd, '+ content texture (the release)': tex(sd)}
    fig = Figure(figsize=(1.15 * len(idx), 1.25 * len(rows))); axs = fig.subplots(len(rows), len(idx))
    for r, (name, V) in enumerate(rows.items()):
        for j in range(len(idx)):
            axs[r, j].imshow(V[j, slice_].numpy(), cmap='gray', vmin=-1, vmax=1); axs[r, j].set_xticks([]); axs[r, j].set_yticks([])
            if r == 0: axs[r, j].set_title(tr.class_names[int(y[j])], fontsize=7)
        axs[r, 0].set_ylabel(name, fontsize=7, rotation=0, ha='right', va='center')
    png.parent.mkdir(parents=True, exist_ok=True); fig.savefig(png, dpi=80, bbox_inches='tight')
    return dict(figure=str(png), rms_decoded_real=round(float((dec - X).pow(2).mean().sqrt()), 4))

def gan_test(run, seed):
    "The balanced share and the share per class of the run's synthetic volumes that its cached TRTR ensemble recognises."
    from pgan.data import H5Volumes
    tr, syn = H5Volumes(run/'data'/'train.h5'), H5Volumes(run/'synthetic'/'synthetic.h5')
    p, y = np.mean([predict_proba(c, syn) for c in trtr_ensemble(run, seed, tr)], 0).argmax(1), syn.regions
    rec = [float(np.mean(p[y == k] == k)) for k in range(len(tr.class_names))]
    return dict(gan_test=round(float(np.mean(rec)), 3), per_class=[round(r, 3) for r in rec])

def train_latents(run):
    "The run's training latents (N, d) float64 and their classes, from its trained encoder (eval mode)."
    from pgan.train import load_checkpoint, build_models
    ck = load_checkpoint(run/'train'/'checkpoint.pt'); E = build_models(ck['model'])[1]; E.load_state_dict(ck['D']); E.eval()
    return encode(E, run/'data', 'train')[:2]

def variant(run, v):
    "The run's generator with its second stage changed as `v` says."
    g = LoadedGenerator(run/'train'/'checkpoint.pt', 'cpu'); G = g.G
    if v.startswith('rem'): G.remainder_sd.mul_(float(v[3:])); return g
    if v.startswith('eps') or v == 'pooled': return noisy_fit(run, g, float(v[3:]) if v != 'pooled' else None)
    Z, Y = train_latents(run)
    G2 = LatentGenerator(G.decoder, G.n_classes, G.n_channels, G.size, G.latent_shape, int(v[1:]), code_remainder=True, content_texture=True, texture_bands=G.ctex.bands)
    G2.ctex.load_state_dict(G.ctex.state_dict()); n, M, S = moments(Z, Y, G.n_classes)
    fit_moment_gaussians(G2, n, M.numpy(), S); fit_class_covariances(G2, Z, Y); g.G = G2.eval()
    return g

def noisy_fit(run, g, eps):
    "The run's second stage refitted from its training latents' moments through `private_moments` (12_dp) at ε per volume (None: exact moments), pooled covariance in the directions (no per-class fit on the raw latents), the remainder's SD from the noisy diagonal (unbiased)."
    from pgan.dp import private_moments, noise_for_epsilon
    (Z, Y), G, K = train_latents(run), g.G, g.G.n_classes
    M = torch.stack([Z[torch.as_tensor(Y == k)].mean(0) for k in range(K)])
    B, R = float(Z.norm(dim=1).quantile(0.95)), float((Z - M[torch.as_tensor(Y)]).norm(dim=1).quantile(0.95))   # clip bounds: data quantiles (a prototype; a release would need public bounds)
    sigma = noise_for_epsilon(eps, 1 / (10 * len(Z)), 1.0, 2) if eps else 0.
    m = private_moments(Z, Y, K, sigma, B, R, torch.Generator().manual_seed(12345))
    fit_moment_gaussians(G, m['counts'], m['means'], m['within'], m['within_noise_sd'])
    Vt = G.basis.double().numpy(); S = np.asarray(m['within']); Sp = (G.class_chol[0].double() @ G.class_chol[0].double().T).numpy()
    G.remainder_sd.copy_(torch.as_tensor(np.sqrt(np.clip(np.diag(S) - np.einsum('ij,ik,kj->j', Vt, Sp, Vt), 0, None)), dtype=torch.float32))
    print(f'  {run.name}: eps {eps}, sigma {sigma:.3f}, B {B:.2f}, R {R:.2f}, within noise sd {m["within_noise_sd"]:.2e}', flush=True)
    return g

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--part', choices=('decompose', 'gan_test', 'variants', 'parts'), required=True); ap.add_argument('--recipe', default='latent')
    ap.add_argument('--seeds', default='0,1'); ap.add_argument('--variants', default='rem0.5,rem0.75,z30'); ap.add_argument('--attacks', action='store_true')
    ap.add_argument('--quality', default='runs/quality', type=Path); ap.add_argument('--scratch', default='runs/quality/remainder_share', type=Path)
    a = ap.parse_args(); torch.set_num_threads(2)
    for v in a.variants.split(','):
        if not ((v[:3] in ('rem', 'eps') and v[3:].replace('.', '', 1).isdigit()) or (v[:1] == 'z' and v[1:].isdigit()) or v == 'pooled'): sys.exit(f"unknown variant {v!r}: use rem<scale>, z<directions>, eps<epsilon> or pooled")
    for s in (int(s) for s in a.seeds.split(',')):
        run = a.quality/f'{a.recipe}_s{s}'
        if a.part == 'parts': print(json.dumps(dict(recipe=a.recipe, seed=s, **parts(run, s, a.quality/f'parts_{a.recipe}_s{s}.png'))), flush=True); continue
        if a.part != 'variants': r = dict(recipe=a.recipe, seed=s, **(decompose if a.part == 'decompose' else gan_test)(run, s)); print(json.dumps(r), flush=True); continue
        for v in a.variants.split(','):
            t = time.time(); out = a.scratch/f'{a.recipe}_{v}_s{s}'; out.mkdir(parents=True, exist_ok=True)
            generate_h5(variant(run, v), out/'synthetic.h5', n=2400, seed=s, show_progress=False)
            D = run/'data'
            U = utility_eval(D/'train.h5', D/'holdout.h5', out/'synthetic.h5', D/'external.h5', seed=s, n_boot=200, epochs=10, n_models=3, cache_dir=a.quality/'.cache', show_progress=False)
            r = dict(recipe=a.recipe, variant=v, seed=s, ratio_external=round(U['tstr']['external']['balanced_accuracy'] / U['trtr']['external']['balanced_accuracy'], 3),
                     recall_external={k: round(x, 3) for k, x in U['tstr']['external']['per_class_recall'].items()}, gan_test=round(U['gan_test']['balanced_accuracy'], 3))
            if a.attacks: r['attacks'] = evaluate_prototype(D, out/'synthetic.h5', out/'eval')['att']
            r['seconds'] = round(time.time() - t); print(json.dumps(r), flush=True)
