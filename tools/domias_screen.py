"""A quick screen of a latent run's membership signal: variants of its second stage, the pixel attacks only.

Each variant reloads a `make quality` run's checkpoint (its autoencoder and texture are never retrained), changes
its second stage, samples the run's 2,400 volumes again with the run's seed (`full`: the run's own release, bit for
bit) and scores the pixel-space DOMIAS, pairwise and density attacks as `make quality` does, but with a chosen
evaluation seed (`--eval-seed`, default 0: the same candidates and DOMIAS halves for every run) and 300 bootstrap
resamples; no fidelity metrics, no classifiers (about 50 s a variant on 2 cores). One JSON line per (seed, variant)
is appended to runs/quality/domias_screen.jsonl, which nbs/98_release_quality.ipynb shows.

    python tools/domias_screen.py --recipe latent --seeds 0,1,2 --variants full,z7,z10,pooled_cov

Variants: those of tools/second_stage.py (full, z<k>, pooled_cov, no_texture, holdout_fit, ...).
"""
import argparse, json, sys, tempfile, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from second_stage import variant, known
from pgan.generate import generate_h5
from pgan.evaluate import evaluate

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--recipe', default='latent'); ap.add_argument('--seeds', default='0,1,2'); ap.add_argument('--variants', default='full,z7,z10,pooled_cov')
    ap.add_argument('--eval-seed', type=int, default=0); ap.add_argument('--quality', default='runs/quality', type=Path)
    a = ap.parse_args(); torch.set_num_threads(2)
    for v in a.variants.split(','):
        if not known(v): sys.exit(f"unknown variant {v!r}")
    tmp = Path(tempfile.mkdtemp(dir=a.quality))
    for s in (int(s) for s in a.seeds.split(',')):
        run = a.quality/f'{a.recipe}_s{s}'
        for v in a.variants.split(','):
            t = time.time(); g = variant(run, v); f = tmp/f'{v}_s{s}.h5'
            generate_h5(g, f, n=2400, seed=s, show_progress=False)   # the run's own seed: `full` is the run's release
            M = evaluate(run/'data'/'train.h5', run/'data'/'holdout.h5', f, run/'data'/'external.h5', out=None, spaces=['pixel'], attacks=['domias', 'pairwise', 'density'],
                         max_candidates=800, fidelity=False, utility=False, fingerprints=False, n_boot=300, seed=a.eval_seed, log=lambda x: None)
            P = M['privacy']['pixel']; f.unlink()
            r = dict(recipe=a.recipe, seed=s, variant=v, z_dim=g.G.z_dim, eval_seed=a.eval_seed, seconds=round(time.time() - t),
                     **{k: [round(P[k]['auc'], 3), [round(c, 3) for c in P[k]['auc_ci']]] for k in ('domias', 'pairwise', 'density')}, domias_by_patient=round(P['domias']['auc_by_patient'], 3))
            with open(a.quality/'domias_screen.jsonl', 'a') as fh: fh.write(json.dumps(r) + '\n')
            print(json.dumps(r), flush=True)
    tmp.rmdir()
