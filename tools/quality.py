"""`make quality`: competing generator recipes side by side on the demo phantom, several seeds each.

Each (recipe, seed) is one `pgan run --profile demo` (its own phantom draw, training, 2,400 synthetic volumes,
evaluation in pixel space with the region classifiers) into runs/quality/<recipe>_s<seed>. Runs that are done
are skipped (pgan run's stage keys). The table is printed and written to runs/quality/quality.json, which
nbs/98_release_quality.ipynb shows. Recipes are compared at about equal training time: see the `train s` column.

    python tools/quality.py [--recipes acgan,latent] [--seeds 0,1,2] [--out runs/quality] [--json runs/quality/other.json]
"""
import argparse, json, subprocess, sys
from pathlib import Path
import numpy as np

RECIPES = {   # name -> extra `pgan run` flags (on top of --profile demo)
    'acgan': ['--arch', 'acgan', '--ema', '0'],     # the paper's AC-GAN at demo width (BatchNorm, 40 epochs), sampled from G itself
    'latent': ['--arch', 'latent'],   # the latent arch now: autoencoder (12 epochs) + a factor model of its latents (one direction per 8 training patients + each class's own remainder, correlated across the latent map, `public_directions`), sampled at temperature 0.85 (`cool_`), + the content texture in three frequency bands, each with its SD map and a level per volume (`ContentTexture`, `10_models`)
    'template': ['--arch', 'latent', '--template'],   # the default behind a deformable template (`TrainConfig.template`: congealing on an 8 x 8 grid, the autoencoder's output warped back, each class's Gaussian of the deformations, the texture's interpolation gain), sampled at temperature 1 (99_release_anatomy)
    'template_d2': ['--arch', 'latent', '--template', '--latent-down', '2', '--latent-channels', '4', '--epochs', '15'],   # the template in front of the finer 4 x 16 x 16 latent map (15 epochs, as latent_d2): a sharper template-space decoder (99_release_anatomy)
    'latent_t1': ['--arch', 'latent', '--temperature', '1'],   # the same sampled as fitted: the default before temperature 0.85 (its runs' stage keys are those of `latent` before, so its folders are the earlier default's runs)
    'latent_b1': ['--arch', 'latent', '--texture-bands', '1'],   # the latent default before texture bands: the content texture with one SD map (its grain pooled over the classes: the cervical volumes got the thoracic and lumbar grain, classifier FID 24.7)
    'latent_detail': ['--arch', 'latent', '--detail'],   # the same + the remainder correlated across the latent map and each class's own texture spectrum (`TrainConfig.detail`): classifier FID 5.9 against the one-map default's 24.7 (three bands: 11.2), TSTR/TRTR 0.88 against 0.93
    'latent_d2': ['--arch', 'latent', '--latent-down', '2', '--latent-channels', '4', '--epochs', '15'],   # the same 1,024 latent values as a 4 x 16 x 16 map (sharper reconstructions; 15 epochs in the time of 12): alone its white remainder decodes to blotches (seed 0: TSTR/TRTR 0.80, cervical recall 0.49)
    'latent_d2_detail': ['--arch', 'latent', '--latent-down', '2', '--latent-channels', '4', '--epochs', '15', '--detail'],   # the finer map with --detail: TSTR/TRTR 0.94, classifier FID 9.1, spectrum 0.22 over 3 seeds, but thoracic recall 0.71 and DOMIAS above chance on seed 0 (98_release_quality)
    'latent_d2_detail_p16': ['--arch', 'latent', '--latent-down', '2', '--latent-channels', '4', '--epochs', '15', '--detail', '--patients-per-direction', '16'],   # the same with one factor direction per 16 training patients instead of 8 (7 directions on the demo phantom's 120 patients instead of 15): the second stage keeps fewer of the training set's particulars (98_release_quality)
    'latent_c4': ['--arch', 'latent', '--latent-channels', '4'],   # the default with a 4 x 8 x 8 latent map (256 values of a 9 x 64 x 64 volume) instead of 16 x 8 x 8: the factor model's independent remainder is a smaller share of each latent (98_release_quality)
    'latent_c8': ['--arch', 'latent', '--latent-channels', '8'],   # the default with an 8 x 8 x 8 latent map, between the default's 16 channels and `latent_c4`: no better than either (five seeds: TSTR/TRTR 0.971, classifier FID 12.9, the highest; 98_release_quality)
    'latent_c4_p12': ['--arch', 'latent', '--latent-channels', '4', '--patients-per-direction', '12'],   # the 4-channel map with one factor direction per 12 training patients (10 on the demo phantom instead of 15): a candidate that keeps fewer of the training set's particulars
    'latent_p16': ['--arch', 'latent', '--patients-per-direction', '16'],   # the default with one factor direction per 16 training patients
    'latent_means': ['--arch', 'latent', '--z-dim', '64', '--no-texture', '--epochs', '15'],   # the latent arch as first measured: autoencoder (15 epochs) + one Gaussian per class in 64 PCA components of its latents, decoded means (its former noise model, `latent_texture` in the stored table, is gone: it buried the anatomy in noise)
    'moments': ['--arch', 'moments', '--z-dim', '64', '--dct-share', '0.25', '--no-texture'],    # class Gaussians of low-frequency DCT codes from their exact moments (the DP method of `12_dp` without noise: its code and 64 directions)
    'moments_field': ['--arch', 'moments', '--z-dim', '2048'],    # the moment model without DP as first measured: half of each axis's frequencies, 2,048 directions (it memorises: the subspace attack finds its members), the texture field above them (`fit_texture_field`, `10_models`)
    'moments_factor': ['--arch', 'moments'],    # the moment model without DP now: a factor model of the same code — one direction per 8 training patients + independent noise per code value (`public_directions`, `10a_config`) — and the texture field
    'acgan_ema': ['--arch', 'acgan', '--ema', '0.999'],
    'acgan_ema_proj': ['--arch', 'acgan', '--ema', '0.999', '--projection'],   # the demo default with a projection discriminator (`Discriminator(projection=True)`, `10_models`)
    'acgan_ema_da': ['--arch', 'acgan', '--ema', '0.999', '--diffaug', 'color,translation,cutout'],   # the demo default + DiffAugment on every D input (`diff_augment`, `10a_config`)      # the demo default: the same AC-GAN sampled from the (bias-corrected) moving average of its generator's weights; 0.999 is bit for bit the decay the default's horizon gives here (`ema_decay`: a third of 40 × 75 steps)
}

DEFAULT = 'latent'     # the recipe of `--profile demo` without --arch (pgan.core.PROFILES['demo']['arch'])

def run_one(recipe, seed, out):
    cmd = [str(Path(sys.executable).parent/'pgan'), 'run', '--profile', 'demo', '--seed', str(seed), '--spaces', 'pixel',
           '--out', str(out), '--cache-dir', str(out.parent/'.cache'), *RECIPES[recipe]]   # the TRTR classifiers of a seed's phantom are trained once for all recipes
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True)

def summarise(folder):
    M = json.loads((folder/'eval'/'metrics.json').read_text())
    hist = [json.loads(l) for l in (folder/'train'/'metrics.jsonl').read_text().splitlines() if l.strip()]
    U, Fd, P = M['utility'], M['fidelity'], M['privacy']['pixel']
    ext = lambda p: U[p].get('external', U[p])
    return dict(ratio_external=ext('tstr')['balanced_accuracy'] / ext('trtr')['balanced_accuracy'],
                ratio_holdout=U['tstr']['balanced_accuracy'] / U['trtr']['balanced_accuracy'],
                tstr_external=ext('tstr')['balanced_accuracy'], trtr_external=ext('trtr')['balanced_accuracy'],
                recall_external=ext('tstr')['per_class_recall'],
                classifier_fid=Fd['classifier']['fid'], classifier_fid_floor=Fd['classifier']['floor']['holdout']['fid'],
                classifier_recall=Fd['classifier']['recall'], classifier_precision=Fd['classifier']['precision'],
                spectral=Fd['spectral']['max_abs_log_ratio'], spectral_floor=Fd['spectral']['floor']['holdout']['max_abs_log_ratio'],
                spectral_external=Fd['spectral']['floor'].get('external', {}).get('max_abs_log_ratio'),
                attacks={a: dict(auc=r['auc'], ci=r['auc_ci']) for a, r in P.items() if a != 'dcr'},
                exact_copies=M['privacy']['exact_copies'], train_seconds=sum(h['seconds'] + h.get('align_seconds', 0) for h in hist), epochs=len(hist),
                **({'gan_test': U['gan_test']['balanced_accuracy'], 'gan_test_recall': U['gan_test']['per_class_recall'],
                    'gan_test_floor': U['gan_test']['floor']['balanced_accuracy']} if 'gan_test' in U else {}))   # the real-trained classifiers on the synthetic set (`31_utility`)

def evaluate_prototype(data, syn, out, threads=2)->dict:
    "Evaluate a prototype's synthetic file `syn` against the run folder's data/ as `make quality` does (pixel space, region classifiers); the numbers the prototype tools print."
    from pgan.evaluate import evaluate
    M = evaluate(data/'train.h5', data/'holdout.h5', syn, data/'external.h5', out=out, spaces=['pixel'], n_boot=300, max_candidates=800,
                 utility_kwargs=dict(epochs=10, threads=threads), log=lambda s: None)
    U, P = M['utility'], M['privacy']['pixel']
    return dict(ratio_ext=U['tstr']['external']['balanced_accuracy'] / U['trtr']['external']['balanced_accuracy'],
                ratio_hold=U['tstr']['balanced_accuracy'] / U['trtr']['balanced_accuracy'], recall=U['tstr']['external']['per_class_recall'],
                cfid=M['fidelity']['classifier']['fid'], spec=M['fidelity']['spectral']['max_abs_log_ratio'],
                att={k: [round(v['auc'], 3), [round(c, 3) for c in v['auc_ci']]] for k, v in P.items() if k != 'dcr'},
                crecall=M['fidelity']['classifier']['recall'], **({'gan_test': U['gan_test']['balanced_accuracy'], 'gan_test_recall': U['gan_test']['per_class_recall']} if 'gan_test' in U else {}))

def tstr_classifiers(S, ys, holdout, external, seeds, n_classes:int=3)->list:
    "Single TSTR classifiers (one per seed, a fixed 80/20 split of the synthetic volumes S with classes ys), each tested on the holdout and external `H5Volumes`: balanced accuracies and the external recall per class, as the prototype tools report them."
    from pgan.data import balanced_accuracy
    from pgan.classifiers import train_classifier, predict_proba
    v = np.random.default_rng(0).permutation(len(S)); t, w = v[len(S) // 5:], v[:len(S) // 5]
    out, names = [], list(holdout.class_names)
    for s in seeds:
        m, _ = train_classifier(S[t], ys[t], S[w], ys[w], n_classes=n_classes, epochs=10, seed=s, show_progress=False)
        ph, pe = predict_proba(m, holdout).argmax(1), predict_proba(m, external).argmax(1)
        out.append(dict(seed=s, holdout=balanced_accuracy(holdout.regions, ph, n_classes), external=balanced_accuracy(external.regions, pe, n_classes),
                        recall_external={names[c]: float((pe[external.regions == c] == c).mean()) for c in range(n_classes)}))
    return out

def trtr_ensemble(run, seed, tr)->list:
    "The cached TRTR classifiers (eval mode) that `make quality`'s evaluation of a run folder trained on its training set `tr` (`H5Volumes`)."
    import torch
    from pgan.classifiers import make_classifier
    from pgan.utility import trtr_cache_path
    cache = trtr_cache_path(run.parent/'.cache', tr, 'auto', arch='compact', val_fraction=0.2, seed=seed, epochs=10, schedule='cosine', patience=5, batch_size=64,
                            lr=1e-3, n_models=3, max_train=None, min_per_class=10, kwargs={})
    out = []
    for m in torch.load(cache, weights_only=True)['members']:
        c = make_classifier('compact', tr.shape[0], len(tr.class_names)); c.load_state_dict(m['state']); c.eval(); out.append(c)
    return out

def load_trained_run(run, seed, keep_field=False):
    "A `make quality` run folder's data, its cached real-trained region classifier (the first member) with the training set's features, and its trained latent model (G, encoder) in eval mode: what the second-stage prototypes start from. Unless `keep_field`, the remainder is drawn white."
    from pgan.data import H5Volumes
    from pgan.train import load_checkpoint, build_models
    from pgan.classifiers import classifier_features
    D = run/'data'
    tr, ho, ex = (H5Volumes(D/f'{k}.h5') for k in ('train', 'holdout', 'external'))
    Xt, Y = tr[np.arange(tr.n)], tr.regions
    clf = trtr_ensemble(run, seed, tr)[0]
    ck = load_checkpoint(run/'train'/'checkpoint.pt'); G, E = build_models(dict(ck['model']))
    G.load_state_dict(ck['G']); E.load_state_dict(ck['D']); G.eval(); E.eval()
    if not keep_field: G.remainder_chol.zero_()
    return tr, ho, ex, Xt, Y, clf, classifier_features(clf, Xt), G, E

def cpu_name()->str:
    "The CPU's model name (the releases of a seed differ between CPUs: their kernels round differently, 98_release_quality)."
    import platform
    try: return next(l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or platform.machine()

def table(rows:dict)->str:
    "One line per recipe: mean ± sd (min) over seeds."
    ms = lambda v: f"{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.3f}"
    lines = ['| recipe | seeds | TSTR/TRTR external: mean ± sd (worst) | holdout | TSTR recall per class (external, mean) | classifier FID (holdout floor) | spectral max abs ln ratio (floor; external) | pixel attacks whose AUC CI lies above 0.5 (seeds) | exact copies | train s | GAN-test: real-trained classifiers on the synthetic set (holdout floor) |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for r, S in rows.items():
        g = lambda k: [s[k] for s in S]
        rec = {c: np.mean([s['recall_external'][c] for s in S]) for c in S[0]['recall_external']}
        above = {a: sum(s['attacks'][a]['ci'][0] > 0.5 for s in S) for a in S[0]['attacks']}
        leaks = ', '.join(f'{a} {n}/{len(S)}' for a, n in above.items() if n) or 'none'
        lines.append(f"| {r} | {len(S)} | {ms(g('ratio_external'))} ({min(g('ratio_external')):.3f}) | {ms(g('ratio_holdout'))} | "
                     + ', '.join(f'{c} {v:.2f}' for c, v in rec.items())
                     + f" | {ms(g('classifier_fid'))} ({np.mean(g('classifier_fid_floor')):.2f}) | {ms(g('spectral'))} ({np.mean(g('spectral_floor')):.2f}; {np.mean(g('spectral_external')):.2f})"
                     + f" | {leaks} | {sum(g('exact_copies'))} | {np.mean(g('train_seconds')):.0f} | "
                     + (f"{ms(g('gan_test'))} ({np.mean(g('gan_test_floor')):.2f}) |" if all('gan_test' in s for s in S) else '– |'))
    return '\n'.join(lines)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--recipes', default=','.join(RECIPES)); ap.add_argument('--seeds', default='0,1,2')
    ap.add_argument('--out', default='runs/quality', type=Path)
    ap.add_argument('--json', type=Path, help='where the table goes (default: OUT/quality.json, which 98_release_quality shows; name another file for a prototype run)')
    a = ap.parse_args()
    rec, seeds = a.recipes.split(','), [int(s) for s in a.seeds.split(',')]
    for r in rec:
        if r not in RECIPES: sys.exit(f"unknown recipe {r!r}: use any of {', '.join(RECIPES)}")
    rows = {}
    for r in rec:
        for s in seeds:
            f = a.out/f'{r}_s{s}'
            run_one(r, s, f)
            rows.setdefault(r, []).append(dict(seed=s, **summarise(f)))
    a.out.mkdir(parents=True, exist_ok=True)
    (a.json or a.out/'quality.json').write_text(json.dumps(dict(seeds=seeds, recipes=rows), indent=1))
    if DEFAULT in rows and len(rows[DEFAULT]) > 1:       # the numbers `make demo` prints its headline beside (tools/headline.py)
        S = rows[DEFAULT]
        doc = {k: dict(mean=float(np.mean([s[k] for s in S])), sd=float(np.std([s[k] for s in S], ddof=1)),
                       min=float(min(s[k] for s in S)), max=float(max(s[k] for s in S))) for k in ('ratio_external', 'ratio_holdout', 'classifier_fid', 'spectral')}
        (Path(__file__).parent/'documented_demo.json').write_text(json.dumps(dict(recipe=DEFAULT, seeds=[s['seed'] for s in S], cpu=cpu_name(), metrics=doc), indent=1) + '\n')
    print(table(rows))
